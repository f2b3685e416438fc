/**
 * Which workgroup-array types can a 16×16 f16 subgroup matrix be loaded from, and in which syntax? The tc2
 * convolutions are bound by their staging stores into `array<f16>` (one 2-byte store per half, bench/RESULTS.md
 * 2026-11-28c). Dawn's newer templated form `subgroupMatrixLoad<T, row_major>(&arr, offset, stride)` checks only
 * that the array's element is at least as wide as the matrix element, which suggests f16 matrices may be read from
 * packed `array<u32>` / `array<vec4<u32>>` staging (4- or 16-byte stores). Each variant computes one 16×16×16
 * product in one subgroup and is compared with the float64 product; a compile error or crash fails only its row.
 *
 *   node dist-bench/bench/sgm-layout-probe.js          every variant, each in a child process, one JSON line each
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getGpu } from '../src/gpu/index.js';

interface Variant {
  /** WGSL element type of the two workgroup arrays and how many halves one element holds. */
  elem: 'f16' | 'u32' | 'vec2<u32>' | 'vec4<u32>' | 'vec2<f16>' | 'vec4<f16>';
  /** 'old': subgroupMatrixLoad<T>(p, off, colMajor, stride); 'new': subgroupMatrixLoad<T, row_major>(p, off, stride). */
  syntax: 'old' | 'new';
  /** Offset and stride units: 'array' = elements of the array, 'matrix' = matrix elements (halves). */
  units: 'array' | 'matrix';
}

const HALVES: Record<Variant['elem'], number> = {
  f16: 1,
  u32: 2,
  'vec2<u32>': 4,
  'vec4<u32>': 8,
  'vec2<f16>': 2,
  'vec4<f16>': 4,
};

/** Element `e` of the staged array from the halves h[8e…]: a value of the array's element type. */
function pack(elem: Variant['elem'], at: string): string {
  const h = (i: number) => `f16(SRC[${at} + ${i}u])`;
  const pair = (i: number) => `bitcast<u32>(vec2<f16>(${h(i)}, ${h(i + 1)}))`;
  switch (elem) {
    case 'f16':
      return h(0);
    case 'u32':
      return pair(0);
    case 'vec2<u32>':
      return `vec2<u32>(${pair(0)}, ${pair(2)})`;
    case 'vec4<u32>':
      return `vec4<u32>(${pair(0)}, ${pair(2)}, ${pair(4)}, ${pair(6)})`;
    case 'vec2<f16>':
      return `vec2<f16>(${h(0)}, ${h(1)})`;
    case 'vec4<f16>':
      return `vec4<f16>(${h(0)}, ${h(1)}, ${h(2)}, ${h(3)})`;
  }
}

export function probeWgsl(v: Variant): string {
  const per = HALVES[v.elem];
  const n = 256 / per;
  const stride = v.units === 'array' ? 16 / per : 16;
  const load = (kind: 'left' | 'right', arr: string) =>
    v.syntax === 'old'
      ? `subgroupMatrixLoad<subgroup_matrix_${kind}<f16, 16, 16>>(&${arr}, 0u, false, ${stride}u)`
      : `subgroupMatrixLoad<subgroup_matrix_${kind}<f16, 16, 16>, row_major>(&${arr}, 0u, ${stride}u)`;
  const store =
    v.syntax === 'old'
      ? `subgroupMatrixStore(&C, 0u, c, false, 16u)`
      : `subgroupMatrixStore<row_major>(&C, 0u, c, 16u)`;
  return /* wgsl */ `enable f16;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read> SRC: array<f32>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
var<workgroup> SA: array<${v.elem}, ${n}>;
var<workgroup> SB: array<${v.elem}, ${n}>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) li: u32) {
  for (var e = li; e < ${n}u; e += 32u) {
    SA[e] = ${pack(v.elem, `e * ${per}u`)};
    SB[e] = ${pack(v.elem, `256u + e * ${per}u`)};
  }
  workgroupBarrier();
  let a = ${load('left', 'SA')};
  let b = ${load('right', 'SB')};
  var c = subgroup_matrix_result<f32, 16, 16>();
  c = subgroupMatrixMultiplyAccumulate(a, b, c);
  ${store};
}`;
}

export const VARIANTS: Array<[string, Variant]> = [
  ['f16, old syntax', { elem: 'f16', syntax: 'old', units: 'array' }],
  ['f16, new syntax', { elem: 'f16', syntax: 'new', units: 'array' }],
  ['u32, new, stride in u32', { elem: 'u32', syntax: 'new', units: 'array' }],
  ['u32, new, stride in halves', { elem: 'u32', syntax: 'new', units: 'matrix' }],
  ['vec4<u32>, new, stride in vec4', { elem: 'vec4<u32>', syntax: 'new', units: 'array' }],
  ['vec4<u32>, new, stride in halves', { elem: 'vec4<u32>', syntax: 'new', units: 'matrix' }],
  ['vec2<u32>, new, stride in vec2', { elem: 'vec2<u32>', syntax: 'new', units: 'array' }],
  ['vec2<f16>, new, stride in vec2', { elem: 'vec2<f16>', syntax: 'new', units: 'array' }],
  ['vec4<f16>, new, stride in vec4', { elem: 'vec4<f16>', syntax: 'new', units: 'array' }],
  ['u32, old, stride in u32', { elem: 'u32', syntax: 'old', units: 'array' }],
];

async function runCase(v: Variant): Promise<Record<string, unknown>> {
  const gpu = await getGpu();
  if (!gpu.features.subgroupMatrix) return { error: 'no subgroup matrices on this adapter' };
  // small integers times 1/8: exact in f16 and in the f32 accumulation
  const src = new Float32Array(512).map((_, i) => (((i * 37) % 17) - 8) / 8);
  const a = gpu.bufferFrom(src);
  const c = gpu.pool.acquire(256 * 4);
  const k = gpu.kernel('sgm_layout_probe', probeWgsl(v));
  try {
    await k.ready;
  } catch (e) {
    return { error: `compile: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}` };
  }
  gpu.dispatch(k, [a, c], [1, 1, 1]);
  await gpu.sync();
  const out = await gpu.readF32(c, 256);
  let maxErr = 0;
  for (let i = 0; i < 16; i++)
    for (let j = 0; j < 16; j++) {
      let ref = 0;
      for (let q = 0; q < 16; q++) ref += src[i * 16 + q]! * src[256 + q * 16 + j]!;
      maxErr = Math.max(maxErr, Math.abs(ref - out[i * 16 + j]!));
    }
  return { maxErr, correct: maxErr === 0 };
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  if (mode === 'case') {
    console.log(JSON.stringify(await runCase(JSON.parse(json!) as Variant)));
    process.exit(0);
  }
  const self = fileURLToPath(import.meta.url);
  for (const [name, v] of VARIANTS) {
    const r = spawnSync(process.execPath, [self, 'case', JSON.stringify(v)], { encoding: 'utf8', timeout: 60_000 });
    const line = (r.stdout ?? '')
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop();
    const warn = (r.stderr ?? '').match(/deprecated[^\n]*/)?.[0];
    console.log(JSON.stringify({ name, ...v, ...(line ? JSON.parse(line) : { error: `exit ${r.status}` }), warn }));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void main();
