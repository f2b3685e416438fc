/**
 * Bias gradients Σ_{n, pixels} g[n, c, ·] over [N, C, HW], optionally fused with FusedLeakyReLU's backward
 * (g = gy · (y > 0 ? 1 : slope) · gain, written out as the gradient the convolution needs next).
 * Two passes: every workgroup sums a chunk of 4096 pixels of one (n, c) plane into a partial (so a 64-channel layer
 * at 512² runs 4,096 workgroups, not 64 each walking a megabyte), then one workgroup per channel sums the partials.
 * Fused, the activation gradient is summed as it is written: one read of gy and y, none of the result; where the
 * layer had injected noise (StyleGAN2's t + strength·noise before the activation), the same pass also sums g·noise,
 * the strength's gradient, which otherwise takes three more passes (a channel sum, a product, a total).
 */
import { workgroupReduceWgsl } from '../../gpu/reduce-wgsl.js';
import { grid1d, type Gpu } from '../../gpu/index.js';
import { channelSum } from './direct.js';
import { f16RangeScale, RANGE_SCALE_WGSL } from './f16-range.js';
import { cached } from '../../gpu/source-cache.js';

const CHUNK = 4096;

/**
 * With `range` (lrelu only), each workgroup also writes the largest |g| bit pattern of its chunk (f16-range.ts); with
 * `noise` (lrelu only), its Σ g·noise[p] (noise [1 or N, 1, HW], `perSample` in the uniform's last word).
 */
const PARTIALS = (lrelu: boolean, range: boolean, noise: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> GY: array<f32>;
${
  lrelu
    ? `@group(0) @binding(1) var<storage, read> Yv: array<f32>;
@group(0) @binding(2) var<storage, read_write> GT: array<f32>;
@group(0) @binding(3) var<storage, read_write> PART: array<f32>;${range ? '\n@group(0) @binding(4) var<storage, read_write> MAXP: array<u32>;\nvar<workgroup> pm: array<u32, 256>;' : ''}${
        noise
          ? `\n@group(0) @binding(${range ? 5 : 4}) var<storage, read> NOISE: array<f32>;\n@group(0) @binding(${range ? 6 : 5}) var<storage, read_write> NPART: array<f32>;\nvar<workgroup> pn: array<f32, 256>;`
          : ''
      }`
    : '@group(0) @binding(1) var<storage, read_write> PART: array<f32>;'
}
struct S { n: u32, c: u32, hw: u32, chunks: u32, slope: f32, gain: f32, perSample: u32 }
@group(1) @binding(0) var<uniform> P: S;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let w = wg.y * nwg.x + wg.x;
  if (w >= P.n * P.c * P.chunks) { return; } // whole workgroups only: the barriers below stay uniform
  let k = w % P.chunks; let plane = w / P.chunks; // plane = b·C + o
  let base = plane * P.hw;
  let end = min(P.hw, (k + 1u) * ${CHUNK}u);
  var s = 0.0;${range ? '\n  var m = 0u;' : ''}${noise ? '\n  var sn = 0.0;\n  let nb = select(0u, (plane / P.c) * P.hw, P.perSample != 0u);' : ''}
  for (var p = k * ${CHUNK}u + li; p < end; p += 256u) {
    ${
      lrelu
        ? `let g = GY[base + p] * select(P.slope, 1.0, Yv[base + p] > 0.0) * P.gain;
    GT[base + p] = g;
    s += g;${range ? '\n    m = max(m, bitcast<u32>(g) & 0x7fffffffu);' : ''}${noise ? '\n    sn += g * NOISE[nb + p];' : ''}`
        : 's += GY[base + p];'
    }
  }
  part[li] = s;${range ? '\n  pm[li] = m;' : ''}${noise ? '\n  pn[li] = sn;' : ''}
  ${workgroupReduceWgsl(
    [['part', '+'], ...(range ? ([['pm', 'max']] as const) : []), ...(noise ? ([['pn', '+']] as const) : [])],
    256,
  )}
  // channel-major [C][N·chunks], the layout the channel sum reads as N = 1, HW = N·chunks
  if (li == 0u) { PART[((plane % P.c) * P.n + plane / P.c) * P.chunks + k] = part[0];${range ? ' MAXP[w] = pm[0];' : ''}${noise ? ' NPART[w] = pn[0];' : ''} }
}`;

/**
 * gb [c] = Σ g over n and the hw pixels of g [n, c, hw]; with `lrelu`, g = gy·lrelu'(y)·gain is also written to
 * `lrelu.gt` (same shape as gy), with `lrelu.range` the f16 range scale of gt is returned (f16RangeScale's
 * [s, 1/s], from maxima taken in the same pass; the caller releases it), else null; with `lrelu.noise`,
 * Σ g·noise (the noise strength's gradient) is written to `lrelu.noise.out[0]`.
 */
export function biasGradRaw(
  gpu: Gpu,
  n: number,
  c: number,
  hw: number,
  gy: GPUBuffer,
  gb: GPUBuffer,
  lrelu: LreluGrad | null = null,
): GPUBuffer | null {
  const chunks = Math.max(1, Math.ceil(hw / CHUNK));
  const nz = lrelu?.noise ?? null;
  if (n * c === 0) {
    if (nz) gpu.clear(nz.out, 0, 4);
    return lrelu?.range ? f16RangeScale(gpu, lrelu.gt, 0) : null;
  }
  if (!lrelu && n * chunks <= 4) {
    channelSum(gpu, n, c, hw, gy, gb); // small planes: one pass is enough
    return null;
  }
  const groups = n * c * chunks;
  const range = !!lrelu?.range;
  const part = gpu.pool.acquire(4 * groups, 'bias grad partials');
  const maxp = range ? gpu.pool.acquire(4 * groups, 'f16 range partials') : null;
  const npart = nz ? gpu.pool.acquire(4 * groups, 'noise strength partials') : null;
  const p = new Uint32Array(8);
  p.set([n, c, hw, chunks]);
  new Float32Array(p.buffer).set([lrelu?.slope ?? 0, lrelu?.gain ?? 1], 4);
  p[6] = nz?.perSample ? 1 : 0;
  const name =
    (lrelu ? (range ? 'bias_grad_lrelu_range_partials' : 'bias_grad_lrelu_partials') : 'bias_grad_partials') +
    (nz ? '_noise' : '');
  const k = gpu.kernel(
    name,
    cached(name, () => PARTIALS(lrelu !== null, range, nz !== null)),
  );
  const bufs = lrelu
    ? [gy, lrelu.y, lrelu.gt, part, ...(maxp ? [maxp] : []), ...(nz && npart ? [nz.noise, npart] : [])]
    : [gy, part];
  gpu.dispatch(k, bufs, grid1d(groups, 1), p);
  if (!maxp) {
    channelSum(gpu, 1, c, n * chunks, part, gb);
    if (nz && npart) channelSum(gpu, 1, 1, groups, npart, nz.out); // the partials' total, in index order
    gpu.pool.release(part);
    if (npart) gpu.pool.release(npart);
    return null;
  }
  // the channel sums and the range scale (and the noise strength's total) in one dispatch: C workgroups sum, one
  // more reduces the maxima (and one more the noise partials)
  const scale = gpu.pool.acquire(8, 'f16 range scale');
  if (nz && npart)
    gpu.dispatch(
      gpu.kernel('bias_grad_sum_and_range_noise', SUM_AND_RANGE_NOISE),
      [part, maxp, gb, scale, npart, nz.out],
      [c + 2, 1, 1],
      Uint32Array.from([c, n * chunks, groups, 0]),
    );
  else
    gpu.dispatch(
      gpu.kernel('bias_grad_sum_and_range', SUM_AND_RANGE),
      [part, maxp, gb, scale],
      [c + 1, 1, 1],
      Uint32Array.from([c, n * chunks, groups, 0]),
    );
  gpu.pool.release(part);
  gpu.pool.release(maxp);
  if (npart) gpu.pool.release(npart);
  return scale;
}

/**
 * Second pass with the range: workgroup o < C sums channel o's partials; workgroup C turns the maxima into [s, 1/s];
 * with `noise`, workgroup C + 1 sums the noise partials (in index order) into the strength's gradient.
 */
const sumAndRange = (noise: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> PART: array<f32>; // [C][per]
@group(0) @binding(1) var<storage, read> MAXP: array<u32>;
@group(0) @binding(2) var<storage, read_write> GB: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;${
  noise
    ? `
@group(0) @binding(4) var<storage, read> NPART: array<f32>;
@group(0) @binding(5) var<storage, read_write> NOUT: array<f32>;`
    : ''
}
struct S { c: u32, per: u32, parts: u32, pad: u32 }
@group(1) @binding(0) var<uniform> P: S;
var<workgroup> red: array<f32, 256>;
var<workgroup> redm: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = wg.x; // workgroup-uniform: the barriers below are too
  if (o < P.c) {
    var s = 0.0;
    for (var i = li; i < P.per; i += 256u) { s += PART[o * P.per + i]; }
    red[li] = s;
    ${workgroupReduceWgsl([['red', '+']], 256)}
    if (li == 0u) { GB[o] = red[0]; }
  } else if (o == P.c) {
    var m = 0u;
    for (var i = li; i < P.parts; i += 256u) { m = max(m, MAXP[i]); }
    redm[li] = m;
    ${workgroupReduceWgsl([['redm', 'max']], 256)}
    if (li == 0u) { let s = rangeScale(redm[0]); OUT[0] = s.x; OUT[1] = s.y; }
  }${
    noise
      ? ` else {
    var s = 0.0;
    for (var i = li; i < P.parts; i += 256u) { s += NPART[i]; }
    red[li] = s;
    ${workgroupReduceWgsl([['red', '+']], 256)}
    if (li == 0u) { NOUT[0] = red[0]; }
  }`
      : ''
  }
}
${RANGE_SCALE_WGSL}`;
const SUM_AND_RANGE = sumAndRange(false);
const SUM_AND_RANGE_NOISE = sumAndRange(true);

/** FusedLeakyReLU's backward folded into biasGradRaw (and, with `range`, the f16 range of its result). */
export interface LreluGrad {
  y: GPUBuffer;
  gt: GPUBuffer;
  slope: number;
  gain: number;
  range?: boolean;
  /** The layer's injected noise [1 or N, 1, HW] (`perSample`): Σ g·noise goes to out[0] (the strength's gradient). */
  noise?: { noise: GPUBuffer; perSample: boolean; out: GPUBuffer };
}
