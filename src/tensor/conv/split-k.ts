/**
 * Split-K: a GEMM whose output has few tiles splits its K sum across workgroups (grid z); each split writes a
 * partial output and one of these kernels adds them (with the fused forward epilogue where the GEMM had one).
 */
import { cached } from '../../gpu/source-cache.js';
import type { Gpu } from '../../gpu/index.js';
import { epilogueBuffers, epilogueWgsl, type ConvEpilogue } from './epilogue.js';
import { ceilDiv, geomKey, type Conv2dGeom } from './geometry.js';
import { convConstsWgsl } from './wgsl.js';

/** The conv GEMMs split K until about this many workgroups run (when their output has fewer tiles). */
export const TARGET_WORKGROUPS = 512;

/**
 * The split-K target of a tensor-core GEMM whose workgroups have `invocations` threads: TARGET_WORKGROUPS of up to
 * 256 invocations, i.e. about 512·256 invocations in flight, so half as many workgroups of the 512-invocation tiles
 * (TC2_TILE_16SG, the 128×128 patch tile). Those tiles hold at most one or two workgroups per SM (132 on the H200),
 * so 256 of them already fill the GPU as well as 512: splitting further adds waves of shorter workgroups (the same
 * slices per SM) and only costs the partials, split·4 bytes per output element written and read back plus one sum
 * dispatch. In the frozen DualStyleUNet (3 networks) this takes 24 of the 117 split-K GEMMs to fewer splits or none,
 * the partials written from 2.0 to 0.8 GB and the sum kernels' traffic from 2.6 to 1.0 GB per frame.
 */
export function targetWorkgroups(invocations: number): number {
  return invocations > 256 ? Math.max(1, Math.floor((TARGET_WORKGROUPS * 256) / invocations)) : TARGET_WORKGROUPS;
}

/**
 * Σ over split-K partials, bandwidth-bound: each invocation owns one vec4 (or one f32 when e is not a multiple of
 * 4) and sums the splits with four independent accumulators, so four loads are in flight per invocation.
 */
function sumSplitsWgsl(t: 'vec4f' | 'f32'): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<${t}>;
@group(0) @binding(1) var<storage, read_write> Out: array<${t}>;
struct S { e: u32, splits: u32 }
@group(1) @binding(0) var<uniform> P: S;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= P.e) { return; }
  var s0 = ${t}(0.0); var s1 = ${t}(0.0); var s2 = ${t}(0.0); var s3 = ${t}(0.0);
  var z = 0u;
  for (; z + 4u <= P.splits; z += 4u) {
    s0 += Part[z * P.e + i];
    s1 += Part[(z + 1u) * P.e + i];
    s2 += Part[(z + 2u) * P.e + i];
    s3 += Part[(z + 3u) * P.e + i];
  }
  for (; z < P.splits; z++) { s0 += Part[z * P.e + i]; }
  Out[i] = (s0 + s1) + (s2 + s3);
}`;
}

/** out[i] = Σ_z part[z·e + i]. */
export function sumSplits(gpu: Gpu, part: GPUBuffer, out: GPUBuffer, e: number, splits: number): void {
  const vec = e % 4 === 0;
  const n = vec ? e / 4 : e;
  const groups = ceilDiv(n, 256);
  const gx = Math.min(groups, 65535);
  gpu.dispatch(
    gpu.kernel(
      'sum_splits',
      cached(`sum_splits|${vec}`, () => sumSplitsWgsl(vec ? 'vec4f' : 'f32')),
    ),
    [part, out],
    [gx, ceilDiv(groups, gx), 1],
    Uint32Array.from([n, splits]),
  );
}

/**
 * y = epilogue(Σ_z part[z]) for a forward output [n, cout, ho, wo]. Where ho·wo is a multiple of 4 each invocation
 * owns a vec4 of one plane (vec4 loads and store, the same (b, c) for its four values; 16-byte transactions instead
 * of 4-byte ones on this bandwidth-bound pass); the splits are summed in order z = 0, 1, … either way, so both forms
 * give the same bits.
 */
export function sumSplitsEpilogue(
  gpu: Gpu,
  g: Conv2dGeom,
  part: GPUBuffer,
  y: GPUBuffer,
  splits: number,
  bias: GPUBuffer | null,
  epi: ConvEpilogue,
): void {
  const ny = g.n * g.cout * g.ho * g.wo;
  const extra = epilogueBuffers(bias, epi);
  const e = epilogueWgsl(bias !== null, epi, 1);
  const vec = (g.ho * g.wo) % 4 === 0;
  const n = vec ? ny / 4 : ny;
  const t = vec ? 'vec4f' : 'f32';
  const src = cached(
    `sumepi|${geomKey(g)}|${e.key}|${splits}|${vec}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<${t}>;
${e.decl}
@group(0) @binding(${1 + extra.length}) var<storage, read_write> Y: array<${t}>;
${convConstsWgsl(g, false)}
${e.fn}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= ${n}u) { return; }
  var s = ${t}(0.0);
  for (var z = 0u; z < ${splits}u; z++) { s += Part[z * ${n}u + i]; }
${
  vec
    ? `  let p = (4u * i) % HOWO; let bc = (4u * i) / HOWO; let b = bc / COUT; let c = bc % COUT;
  Y[i] = vec4f(epi(b, c, p, s.x), epi(b, c, p + 1u, s.y), epi(b, c, p + 2u, s.z), epi(b, c, p + 3u, s.w));`
    : `  let p = i % HOWO; let t = i / HOWO;
  Y[i] = epi(t / COUT, t % COUT, p, s);`
}
}`,
  );
  const groups = ceilDiv(n, 256);
  const gx = Math.min(groups, 65535);
  gpu.dispatch(gpu.kernel('conv2d_fwd_sum_epilogue', src), [part, ...extra, y], [gx, ceilDiv(groups, gx), 1]);
}
