/**
 * A tiled fp32 matrix product in WGSL, to measure what plain f32 kernels reach through our runtime
 * (the ceiling our convolutions are judged against). 128×128 workgroup tile, 8×8 outputs per thread
 * (16×16 threads), 8-deep k tile staged in workgroup memory, A stored transposed in shared memory so the
 * inner loop reads 8 + 8 contiguous values and does 64 FMAs.
 */
import type { Gpu } from '../src/gpu/index.js';
import type { BenchRow } from './table.js';
import { timeGpu } from './timeit.js';

const TILE = 128;
const BK = 8;

export function matmulWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4f>;
struct Dims { m: u32, n: u32, k: u32 }
@group(1) @binding(0) var<uniform> P: Dims;
var<workgroup> As: array<vec4f, ${(BK * TILE) / 4}>; // [k][m/4]
var<workgroup> Bs: array<vec4f, ${(BK * TILE) / 4}>; // [k][n/4]
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * ${TILE}u; let col0 = wg.x * ${TILE}u;
  var acc: array<array<vec4f, 2>, 8>;
  let kv = P.k / 4u; let nv = P.n / 4u;
  for (var k0 = 0u; k0 < P.k; k0 += ${BK}u) {
    // A tile: 128 rows × 8 k = 256 vec4 (along k); each thread loads one and scatters it transposed.
    { let r = li / 2u; let c = li % 2u;
      let v = A[(row0 + r) * kv + k0 / 4u + c];
      let kk = c * 4u;
      As[(kk + 0u) * 32u + r / 4u][r % 4u] = v.x;
      As[(kk + 1u) * 32u + r / 4u][r % 4u] = v.y;
      As[(kk + 2u) * 32u + r / 4u][r % 4u] = v.z;
      As[(kk + 3u) * 32u + r / 4u][r % 4u] = v.w; }
    // B tile: 8 k × 128 cols = 256 vec4.
    { let r = li / 32u; let c = li % 32u;
      Bs[r * 32u + c] = B[(k0 + r) * nv + col0 / 4u + c]; }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      let a0 = As[kk * 32u + l.y * 2u]; let a1 = As[kk * 32u + l.y * 2u + 1u];
      let b0 = Bs[kk * 32u + l.x * 2u]; let b1 = Bs[kk * 32u + l.x * 2u + 1u];
      var a = array<f32, 8>(a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
      for (var i = 0u; i < 8u; i++) {
        acc[i][0] = fma(vec4f(a[i]), b0, acc[i][0]);
        acc[i][1] = fma(vec4f(a[i]), b1, acc[i][1]);
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 8u; i++) {
    let r = row0 + l.y * 8u + i;
    C[r * nv + col0 / 4u + l.x * 2u] = acc[i][0];
    C[r * nv + col0 / 4u + l.x * 2u + 1u] = acc[i][1];
  }
}`;
}

/** C = A·B for square n×n (n a multiple of 128), checked on sampled entries against a float64 product. */
export async function benchMatmul(gpu: Gpu, sizes: readonly number[]): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const kernel = await gpu.compile('bench_matmul_f32', matmulWgsl());
  for (const n of sizes) {
    const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
    const b = Float32Array.from({ length: n * n }, (_, i) => ((i * 40503) % 997) / 997 - 0.5);
    const ba = gpu.bufferFrom(a);
    const bb = gpu.bufferFrom(b);
    const bc = gpu.pool.acquire(n * n * 4);
    const params = new Uint32Array([n, n, n]);
    const run = () => gpu.dispatch(kernel, [ba, bb, bc], [n / TILE, n / TILE], params);
    const ms = await timeGpu(gpu, run, { reps: n >= 4096 ? 5 : 20, samples: 5 });
    const c = await gpu.readF32(bc, n * n);
    let maxRel = 0;
    for (let s = 0; s < 16; s++) {
      const i = (s * 7919) % n;
      const j = (s * 104729) % n;
      let ref = 0;
      let mag = 0;
      for (let k = 0; k < n; k++) {
        ref += a[i * n + k]! * b[k * n + j]!;
        mag += Math.abs(a[i * n + k]! * b[k * n + j]!);
      }
      maxRel = Math.max(maxRel, Math.abs(ref - c[i * n + j]!) / mag);
    }
    rows.push({
      bench: 'matmul f32',
      case: `${n}×${n}×${n}`,
      ms,
      rate: (2 * n ** 3) / (ms * 1e9),
      unit: 'TFLOP/s',
      note: `max rel err ${maxRel.toExponential(1)}${maxRel < 1e-5 ? '' : ' WRONG'}`,
    });
    for (const x of [ba, bb, bc]) gpu.pool.release(x);
    gpu.pool.trim();
  }
  return rows;
}
