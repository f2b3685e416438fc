/**
 * Tensor cores from WGSL: an f16-in / f32-accumulate GEMM on Dawn's subgroup matrices, with K split across
 * dispatches (each dispatch loads the f32 accumulators from C and adds its K range), to find what runs at full
 * size. NOTES.md: one dispatch with K ≥ 512 killed the process on the H100; K ≤ 256 ran.
 *
 *   node dist-bench/bench/tc-probe.js            runs every case in a child process (a crash kills only the case)
 *   node dist-bench/bench/tc-probe.js case JSON  runs one case, prints one JSON line
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getGpu, type Gpu } from '../src/gpu/index.js';
import { timeGpu } from './timeit.js';
import { sgmLoad, sgmStore } from '../src/gpu/subgroup-matrix.js';

export interface TcCase {
  m: number;
  n: number;
  k: number;
  /** K elements per dispatch (accumulating into C); k for a single dispatch. */
  kChunk: number;
  /** Workgroup tile and subgroup grid. */
  bm: number;
  bn: number;
  bk: number;
  sgx: number;
  sgy: number;
  /** Take the K-loop bounds from the uniform (true) or bake them in as constants (false). */
  uniformLoop: boolean;
}

export function tcGemmWgsl(c: TcCase): string {
  const { bm, bn, bk, sgx, sgy } = c;
  const sg = sgx * sgy;
  const tm = bm / sgy / 16;
  const tn = bn / sgx / 16;
  const threads = sg * 32;
  let decl = '';
  let loadC = '';
  let store = '';
  let inner = '';
  for (let i = 0; i < tm; i++) {
    for (let j = 0; j < tn; j++) {
      const off = `(row0 + ${i * 16}u) * p.n + col0 + ${j * 16}u`;
      decl += `  var c${i}_${j}: subgroup_matrix_result<f32, 16, 16>;\n`;
      loadC += `    c${i}_${j} = ${sgmLoad('subgroup_matrix_result<f32, 16, 16>', '&C', off, false, 'p.n')};\n`;
      store += `  ${sgmStore('&C', off, `c${i}_${j}`, false, 'p.n')};\n`;
    }
  }
  for (let i = 0; i < tm; i++) {
    inner += `      let a${i} = ${sgmLoad('subgroup_matrix_left<f16, 16, 16>', '&sa', `(sy * ${bm / sgy}u + ${i * 16}u) * ${bk}u + kk`, false, `${bk}u`)};\n`;
  }
  for (let j = 0; j < tn; j++) {
    inner += `      let b${j} = ${sgmLoad('subgroup_matrix_right<f16, 16, 16>', '&sb', `kk * ${bn}u + sx * ${bn / sgx}u + ${j * 16}u`, false, `${bn}u`)};\n`;
  }
  for (let i = 0; i < tm; i++) {
    for (let j = 0; j < tn; j++)
      inner += `      c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, c${i}_${j});\n`;
  }
  const loop = c.uniformLoop
    ? `for (var k0 = p.k0; k0 < p.k1; k0 += ${bk}u)`
    : `for (var k0 = p.k0; k0 < p.k0 + ${c.kChunk}u; k0 += ${bk}u)`;
  return /* wgsl */ `enable f16;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read> A: array<vec4<f16>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f16>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
struct P { m: u32, n: u32, k: u32, k0: u32, k1: u32, accumulate: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> sa: array<f16, ${bm * bk}>;
var<workgroup> sb: array<f16, ${bk * bn}>;
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let sgi = li / 32u; let sy = sgi / ${sgx}u; let sx = sgi % ${sgx}u;
  let row0 = wg.y * ${bm}u + sy * ${bm / sgy}u; let col0 = wg.x * ${bn}u + sx * ${bn / sgx}u;
${decl}  if (p.accumulate != 0u) {
${loadC}  }
  ${loop} {
    for (var t = li; t < ${(bm * bk) / 4}u; t += ${threads}u) {
      let r = t / ${bk / 4}u; let q = t % ${bk / 4}u;
      let v = A[((wg.y * ${bm}u + r) * p.k + k0) / 4u + q];
      let o = r * ${bk}u + q * 4u;
      sa[o] = v.x; sa[o + 1u] = v.y; sa[o + 2u] = v.z; sa[o + 3u] = v.w;
    }
    for (var t = li; t < ${(bk * bn) / 4}u; t += ${threads}u) {
      let r = t / ${bn / 4}u; let q = t % ${bn / 4}u;
      let v = B[((k0 + r) * p.n + wg.x * ${bn}u) / 4u + q];
      let o = r * ${bn}u + q * 4u;
      sb[o] = v.x; sb[o + 1u] = v.y; sb[o + 2u] = v.z; sb[o + 3u] = v.w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk += 16u) {
${inner}    }
    workgroupBarrier();
  }
${store}}`;
}

/** Random f16 bit patterns with magnitudes in [0.125, 1): fast to make at 8192² and exact to multiply. */
function randomHalves(count: number, seed: number): Uint16Array {
  const out = new Uint16Array(count);
  let s = seed * 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    out[i] = (s & 0x8000) | ((12 + ((s >>> 10) % 3)) << 10) | (s & 0x3ff);
  }
  return out;
}
function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

export async function runTcCase(gpu: Gpu, c: TcCase): Promise<{ ms: number; tflops: number; maxRel: number }> {
  const { m, n, k } = c;
  const ah = randomHalves(m * k, 1);
  const bh = randomHalves(k * n, 2);
  const ba = gpu.bufferFrom(ah);
  const bb = gpu.bufferFrom(bh);
  const bc = gpu.pool.acquire(m * n * 4);
  const kernel = gpu.kernel(`tc_gemm_${c.bm}x${c.bn}x${c.bk}`, tcGemmWgsl(c));
  await kernel.ready;
  const run = () => {
    for (let k0 = 0; k0 < k; k0 += c.kChunk) {
      const params = new Uint32Array([m, n, k, k0, Math.min(k, k0 + c.kChunk), k0 > 0 ? 1 : 0]);
      gpu.dispatch(kernel, [ba, bb, bc], [n / c.bn, m / c.bm], params);
    }
  };
  run();
  await gpu.sync();
  const out = await gpu.readF32(bc, m * n);
  let maxRel = 0;
  for (let s = 0; s < 24; s++) {
    const i = (s * 7919) % m;
    const j = (s * 104729) % n;
    let ref = 0;
    let mag = 0;
    for (let q = 0; q < k; q++) {
      const prod = fromHalf(ah[i * k + q]!) * fromHalf(bh[q * n + j]!);
      ref += prod;
      mag += Math.abs(prod);
    }
    maxRel = Math.max(maxRel, Math.abs(ref - out[i * n + j]!) / mag);
  }
  const ms = await timeGpu(gpu, run, { reps: 5, samples: 5 });
  for (const b of [ba, bb, bc]) gpu.pool.release(b);
  return { ms, tflops: (2 * m * n * k) / (ms * 1e9), maxRel };
}

const BASE: TcCase = {
  m: 4096,
  n: 4096,
  k: 256,
  kChunk: 256,
  bm: 128,
  bn: 128,
  bk: 32,
  sgx: 2,
  sgy: 2,
  uniformLoop: true,
};

export const TC_CASES: Array<[string, TcCase]> = [
  ['4096², K=256, one dispatch', { ...BASE }],
  ['4096², K=512, one dispatch', { ...BASE, k: 512, kChunk: 512 }],
  ['8192², K=256, one dispatch (4× longer dispatch, same K)', { ...BASE, m: 8192, n: 8192 }],
  ['2048², K=512, one dispatch', { ...BASE, m: 2048, n: 2048, k: 512, kChunk: 512 }],
  ['2048², K=1024, one dispatch', { ...BASE, m: 2048, n: 2048, k: 1024, kChunk: 1024 }],
  ['1024², K=4096, one dispatch', { ...BASE, m: 1024, n: 1024, k: 4096, kChunk: 4096 }],
  ['4096², K=1024, one dispatch', { ...BASE, k: 1024, kChunk: 1024 }],
  ['4096², K=4096, one dispatch', { ...BASE, k: 4096, kChunk: 4096 }],
  ['4096², K=4096 in 64-chunks', { ...BASE, k: 4096, kChunk: 64 }],
  ['4096², K=4096 in 128-chunks', { ...BASE, k: 4096, kChunk: 128 }],
  ['4096², K=4096 in 128-chunks, 8 subgroups', { ...BASE, k: 4096, kChunk: 128, sgx: 2, sgy: 4 }],
];

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  if (mode === 'case') {
    const gpu = await getGpu();
    if (!gpu.features.subgroupMatrix) {
      console.log(JSON.stringify({ error: 'no subgroup matrices on this adapter' }));
      process.exit(0);
    }
    const r = await runTcCase(gpu, JSON.parse(json!) as TcCase);
    console.log(JSON.stringify(r));
    process.exit(0);
  }
  const self = fileURLToPath(import.meta.url);
  for (const [name, c] of TC_CASES) {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [self, 'case', JSON.stringify(c)], { encoding: 'utf8', timeout: 45_000 });
    const line = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop();
    const tail = (r.stderr + r.stdout)
      .trim()
      .split('\n')
      .filter((l) => !/artificially/.test(l))
      .slice(-2)
      .join(' / ');
    const what = line ?? `FAILED (status ${r.status}, signal ${r.signal}): ${tail.slice(0, 300)}`;
    console.log(`| ${name} | ${what} | ${((Date.now() - t0) / 1000).toFixed(1)} s |`);
  }
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void main();
