/**
 * A quick end-to-end check that an adapter computes: a small matrix product on the GPU against the CPU.
 * Used by `animgs doctor` and the demo before any real work starts.
 */
import type { Gpu } from './gpu.js';

const MATMUL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
struct Dims { m: u32, n: u32, k: u32 }
@group(1) @binding(0) var<uniform> P: Dims;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= P.n || g.y >= P.m) { return; }
  var s = 0.0;
  for (var i = 0u; i < P.k; i++) { s += a[g.y * P.k + i] * b[i * P.n + g.x]; }
  c[g.y * P.n + g.x] = s;
}`;

export interface SelfTestResult {
  ok: boolean;
  maxError: number;
  ms: number;
}

export async function selfTest(gpu: Gpu, m = 67, n = 45, k = 33): Promise<SelfTestResult> {
  const t0 = performance.now();
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7919) % 13) - 6);
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 104729) % 11) - 5);
  const ba = gpu.bufferFrom(a, 'selftest a');
  const bb = gpu.bufferFrom(b, 'selftest b');
  const bc = gpu.pool.acquire(m * n * 4, 'selftest c');
  try {
    const kern = await gpu.compile('selftest_matmul', MATMUL);
    gpu.dispatch(kern, [ba, bb, bc], [Math.ceil(n / 8), Math.ceil(m / 8)], new Uint32Array([m, n, k]));
    const c = await gpu.readF32(bc, m * n);
    let maxError = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
        maxError = Math.max(maxError, Math.abs(s - c[i * n + j]!));
      }
    }
    // Small integers: the product is exact in f32, so any difference is a broken adapter.
    return { ok: maxError === 0, maxError, ms: performance.now() - t0 };
  } finally {
    for (const x of [ba, bb, bc]) gpu.pool.release(x);
  }
}
