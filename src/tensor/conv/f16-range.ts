/**
 * Keeping gradients inside f16's range on the tensor-core paths. The tc2 kernels round their GEMM operands to f16,
 * whose normal range starts at 6.1e-5 (subnormals stop at 6e-8). Activations and weights live well inside it, but
 * gradients do not: a mean loss over one 1024² × 3 image gives every pixel 3e-7, which f16 stores with one or two
 * significant bits, and anything below 3e-8 becomes zero. So before a convolution's backward rounds a gradient to
 * f16, this finds its largest magnitude m and a power of two s with m·s in [2¹⁴, 2¹⁵); the kernel stages v·s
 * (exact: a power of two) and multiplies its f32 result by 1/s. Every gradient keeps f16's 11 significant bits
 * from m down to m·2⁻²⁸, whatever the loss's scale, with no loss-scaling schedule and no skipped steps.
 * A non-finite gradient gets s = 1, so infinities and NaNs reach the result as they would in fp32.
 *
 * Two dispatches, both reading u32 bit patterns: the magnitude order of finite floats is the integer order of their
 * bits without the sign, and integer compares cannot be optimised away the way NaN tests on floats can.
 */
import { workgroupReduceWgsl } from '../../gpu/reduce-wgsl.js';
import type { Gpu } from '../../gpu/index.js';

const WG = 256;
/** Enough workgroups to keep the memory system busy (a first version with ≤ 256 ran at ~1/10 of the bandwidth). */
const MAX_PARTIALS = 2048;

/** Per-workgroup maxima; `vec4` reads 16 bytes per load (buffers whose size is a multiple of 16), masking past n. */
const PARTIALS = (vec4: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<${vec4 ? 'vec4<u32>' : 'u32'}>;
@group(0) @binding(1) var<storage, read_write> PART: array<u32>;
struct S { n: u32, stride: u32 }
@group(1) @binding(0) var<uniform> P: S;
var<workgroup> red: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  var m = 0u;
${
  vec4
    ? `  for (var i = wg.x * ${WG}u + li; 4u * i < P.n; i += P.stride) {
    let live = vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(P.n);
    let v = select(vec4<u32>(0u), X[i] & vec4<u32>(0x7fffffffu), live);
    m = max(m, max(max(v.x, v.y), max(v.z, v.w)));
  }`
    : `  for (var i = wg.x * ${WG}u + li; i < P.n; i += P.stride) { m = max(m, X[i] & 0x7fffffffu); }`
}
  red[li] = m;
  ${workgroupReduceWgsl([['red', 'max']], WG)}
  if (li == 0u) { PART[wg.x] = red[0]; }
}`;

/**
 * WGSL `fn rangeScale(top: u32) -> vec2<f32>`: [s, 1/s] from the largest |x| bit pattern. top < 2^(e + 1) with e
 * its unbiased exponent; s = 2^(14 − e) puts it in [2^14, 2^15). Zero, subnormal-only and non-finite gradients get
 * s = 1; the clamp keeps s and 1/s normal f32.
 */
const PARTIALS_VEC4 = PARTIALS(true);
const PARTIALS_SCALAR = PARTIALS(false);

export const RANGE_SCALE_WGSL = /* wgsl */ `
fn rangeScale(top: u32) -> vec2<f32> {
  var k = 0;
  if (top >= 0x00800000u && top < 0x7f800000u) { k = clamp(14 - (i32(top >> 23u) - 127), -120, 120); }
  return vec2<f32>(bitcast<f32>(u32(k + 127) << 23u), bitcast<f32>(u32(127 - k) << 23u));
}`;

const FINAL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> PART: array<u32>;
@group(0) @binding(1) var<storage, read_write> OUT: array<f32>;
struct S { parts: u32 }
@group(1) @binding(0) var<uniform> P: S;
var<workgroup> red: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) li: u32) {
  var m = 0u;
  for (var i = li; i < P.parts; i += ${WG}u) { m = max(m, PART[i]); }
  red[li] = m;
  ${workgroupReduceWgsl([['red', 'max']], WG)}
  if (li == 0u) { let s = rangeScale(red[0]); OUT[0] = s.x; OUT[1] = s.y; }
}
${RANGE_SCALE_WGSL}`;

/**
 * A pooled buffer holding [s, 1/s] for the `count` f32 values of `x` (see above); the caller releases it to
 * `gpu.pool` once the dispatches that read it are recorded.
 */
export function f16RangeScale(gpu: Gpu, x: GPUBuffer, count: number): GPUBuffer {
  const vec4 = x.size % 16 === 0;
  const perGroup = WG * (vec4 ? 4 : 1) * 4; // values per workgroup and sweep, four sweeps at least
  const parts = Math.max(1, Math.min(MAX_PARTIALS, Math.ceil(count / perGroup)));
  const part = gpu.pool.acquire(4 * parts, 'f16 range partials');
  gpu.dispatch(
    gpu.kernel(vec4 ? 'f16_range_max' : 'f16_range_max_scalar', vec4 ? PARTIALS_VEC4 : PARTIALS_SCALAR),
    [x, part],
    parts,
    new Uint32Array([count, parts * WG]),
  );
  const out = gpu.pool.acquire(8, 'f16 range scale');
  gpu.dispatch(gpu.kernel('f16_range_scale', FINAL), [part, out], 1, new Uint32Array([parts]));
  gpu.pool.release(part);
  return out;
}

/** The same scale in float64 (tests): s with max|x|·s in [2¹⁴, 2¹⁵), 1 for zero or non-finite inputs. */
export function f16RangeScaleRef(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (!Number.isFinite(a)) return 1;
    m = Math.max(m, a);
  }
  if (m < 2 ** -126) return 1;
  const e = Math.floor(Math.log2(m));
  // log2 can round across a power of two; fix e so that 2^e ≤ m < 2^(e+1).
  const ee = 2 ** e > m ? e - 1 : 2 ** (e + 1) <= m ? e + 1 : e;
  return 2 ** Math.max(-120, Math.min(120, 14 - ee));
}
