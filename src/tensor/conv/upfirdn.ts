/**
 * upfirdn2d on raw GPU buffers (see reference/upfirdn.ts for the formula), its adjoint (the backward; written
 * directly: one input element per invocation gathers the outputs it fed), and the helpers built on them: StyleGAN2's
 * blur / up / down FIRs, the Haar DWT / IWT, and a separable depthwise filter (SSIM's Gaussian window).
 *
 * Channel views let an op read or write a slice of a bigger NCHW tensor without copies: plane p (of N·C planes,
 * b = p / C, c = p % C) lives at plane b·batchStride + chanOffset + c of its buffer. `accumulate` adds to the output.
 */
import { GRID_INDEX, grid1d, type Gpu } from '../../gpu/index.js';
import { upfirdnGeometry, type UpfirdnGeom } from './upfirdn-geometry.js';

const WG = 64;

export interface PlaneView {
  /** Channels per batch item C (the view covers planes b·batchStride + chanOffset + [0, C)). */
  channels: number;
  batchStride: number;
  chanOffset: number;
}

export interface UpfirdnRawOptions {
  inView?: PlaneView;
  outView?: PlaneView;
  /** Add into the output instead of overwriting it. */
  accumulate?: boolean;
}

const STRUCT = /* wgsl */ `
struct U { planes: i32, h: i32, w: i32, kh: i32, kw: i32, upx: i32, upy: i32, downx: i32, downy: i32, padx0: i32, pady0: i32,
  ho: i32, wo: i32, c: i32, inBatch: i32, inOff: i32, outBatch: i32, outOff: i32, acc: i32, total: i32 }
@group(1) @binding(0) var<uniform> P: U;
${GRID_INDEX}
fn inPlane(p: i32) -> i32 { return (p / P.c) * P.inBatch + P.inOff + p % P.c; }
fn outPlane(p: i32) -> i32 { return (p / P.c) * P.outBatch + P.outOff + p % P.c; }`;

const FORWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${STRUCT}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = i32(gridIndex(wg, nwg, li, ${WG}u));
  if (idx >= P.total) { return; }
  let ox = idx % P.wo; let t = idx / P.wo; let oy = t % P.ho; let p = t / P.ho;
  let xb = inPlane(p) * P.h * P.w;
  var s = 0.0;
  for (var ky = 0; ky < P.kh; ky++) {
    let u = oy * P.downy + ky - P.pady0;
    if (u < 0 || u % P.upy != 0 || u / P.upy >= P.h) { continue; }
    let iy = u / P.upy;
    for (var kx = 0; kx < P.kw; kx++) {
      let v = ox * P.downx + kx - P.padx0;
      if (v < 0 || v % P.upx != 0 || v / P.upx >= P.w) { continue; }
      s = fma(K[(P.kh - 1 - ky) * P.kw + (P.kw - 1 - kx)], X[xb + iy * P.w + v / P.upx], s);
    }
  }
  let o = (outPlane(p) * P.ho + oy) * P.wo + ox;
  if (P.acc != 0) { s += Y[o]; }
  Y[o] = s;
}`;

const ADJOINT = /* wgsl */ `
@group(0) @binding(0) var<storage, read> GY: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
${STRUCT}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = i32(gridIndex(wg, nwg, li, ${WG}u));
  if (idx >= P.total) { return; }
  let ix = idx % P.w; let t = idx / P.w; let iy = t % P.h; let p = t / P.h;
  let yb = outPlane(p) * P.ho * P.wo;
  var s = 0.0;
  for (var ky = 0; ky < P.kh; ky++) {
    let ty = iy * P.upy + P.pady0 - ky;
    if (ty < 0 || ty % P.downy != 0 || ty / P.downy >= P.ho) { continue; }
    let oy = ty / P.downy;
    for (var kx = 0; kx < P.kw; kx++) {
      let tx = ix * P.upx + P.padx0 - kx;
      if (tx < 0 || tx % P.downx != 0 || tx / P.downx >= P.wo) { continue; }
      s = fma(K[(P.kh - 1 - ky) * P.kw + (P.kw - 1 - kx)], GY[yb + oy * P.wo + tx / P.downx], s);
    }
  }
  let o = (inPlane(p) * P.h + iy) * P.w + ix;
  if (P.acc != 0) { s += GX[o]; }
  GX[o] = s;
}`;

function params(g: UpfirdnGeom, o: UpfirdnRawOptions, total: number): Int32Array {
  const c = (o.inView ?? o.outView)?.channels ?? g.planes;
  const iv = o.inView ?? { channels: c, batchStride: c, chanOffset: 0 };
  const ov = o.outView ?? { channels: c, batchStride: c, chanOffset: 0 };
  if (iv.channels !== ov.channels)
    throw new Error('upfirdn2d: input and output views must have the same channel count');
  if (g.planes % iv.channels !== 0)
    throw new Error(`upfirdn2d: ${g.planes} planes are not a multiple of ${iv.channels}`);
  return Int32Array.from([
    g.planes,
    g.h,
    g.w,
    g.kh,
    g.kw,
    g.upX,
    g.upY,
    g.downX,
    g.downY,
    g.padX0,
    g.padY0,
    g.ho,
    g.wo,
    iv.channels,
    iv.batchStride,
    iv.chanOffset,
    ov.batchStride,
    ov.chanOffset,
    o.accumulate ? 1 : 0,
    total,
  ]);
}

/** y = upfirdn2d(x, k) for `g.planes` planes; `k` holds g.kh·g.kw f32 taps (row-major, not yet flipped). */
export function upfirdn2dRaw(
  gpu: Gpu,
  g: UpfirdnGeom,
  x: GPUBuffer,
  k: GPUBuffer,
  y: GPUBuffer,
  opts: UpfirdnRawOptions = {},
): void {
  const total = g.planes * g.ho * g.wo;
  gpu.dispatch(gpu.kernel('upfirdn2d', FORWARD), [x, k, y], grid1d(total, WG), params(g, opts, total));
}

/** gx = upfirdn2dᵀ(gy): the gradient of upfirdn2d with respect to its input (views as in the forward). */
export function upfirdn2dAdjointRaw(
  gpu: Gpu,
  g: UpfirdnGeom,
  gy: GPUBuffer,
  k: GPUBuffer,
  gx: GPUBuffer,
  opts: UpfirdnRawOptions = {},
): void {
  const total = g.planes * g.h * g.w;
  gpu.dispatch(gpu.kernel('upfirdn2d_adjoint', ADJOINT), [gy, k, gx], grid1d(total, WG), params(g, opts, total));
}

const constants = new WeakMap<Gpu, Map<string, GPUBuffer>>();

/** A GPU buffer holding these f32 values, uploaded once per device and kept (for FIR taps and other constants). */
export function constantBuffer(gpu: Gpu, values: ArrayLike<number>): GPUBuffer {
  let m = constants.get(gpu);
  if (!m) constants.set(gpu, (m = new Map()));
  const f = Float32Array.from(values);
  const key = Array.from(new Uint32Array(f.buffer)).join(',');
  let b = m.get(key);
  if (!b) m.set(key, (b = gpu.bufferFrom(f, 'constant')));
  return b;
}

// ---- Haar wavelets -------------------------------------------------------------------------------------------

const S = Math.SQRT1_2;
/** [ll, lh, hl, hh], row-major 2×2 (see reference/upfirdn.ts haarFilters); products computed as the reference does. */
const HAAR: number[][] = (() => {
  const l = [S, S];
  const h = [-S, S];
  const outer = (a: number[], b: number[]) => [a[0]! * b[0]!, a[0]! * b[1]!, a[1]! * b[0]!, a[1]! * b[1]!];
  return [outer(l, l), outer(h, l), outer(l, h), outer(h, h)];
})();
const IWT_SIGN = [1, -1, -1, 1];

function dwtGeom(n: number, c: number, h: number, w: number): UpfirdnGeom {
  return upfirdnGeometry(n * c, h, w, 2, 2, { down: 2 });
}
function iwtGeom(n: number, c: number, h: number, w: number): UpfirdnGeom {
  return upfirdnGeometry(n * c, h, w, 2, 2, { up: 2, pad: [1, 0, 1, 0] });
}
const group = (c: number, f: number): PlaneView => ({ channels: c, batchStride: 4 * c, chanOffset: f * c });

/** Haar DWT: x [n,c,h,w] → y [n,4c,⌊h/2⌋,⌊w/2⌋] = cat([ll, lh, hl, hh](x), dim 1). */
export function haarDwtRaw(gpu: Gpu, n: number, c: number, h: number, w: number, x: GPUBuffer, y: GPUBuffer): void {
  const g = dwtGeom(n, c, h, w);
  for (let f = 0; f < 4; f++) upfirdn2dRaw(gpu, g, x, constantBuffer(gpu, HAAR[f]!), y, { outView: group(c, f) });
}

/** Gradient of haarDwtRaw: gx [n,c,h,w] from gy [n,4c,⌊h/2⌋,⌊w/2⌋]. */
export function haarDwtBackwardRaw(
  gpu: Gpu,
  n: number,
  c: number,
  h: number,
  w: number,
  gy: GPUBuffer,
  gx: GPUBuffer,
): void {
  const g = dwtGeom(n, c, h, w);
  for (let f = 0; f < 4; f++) {
    upfirdn2dAdjointRaw(gpu, g, gy, constantBuffer(gpu, HAAR[f]!), gx, { outView: group(c, f), accumulate: f > 0 });
  }
}

/** Haar IWT: x [n,4c,h,w] → y [n,c,2h,2w] = Σ_f upfirdn2d(x_f, ±filter_f, up 2, pad (1,0,1,0)), lh and hl negated. */
export function haarIwtRaw(gpu: Gpu, n: number, c: number, h: number, w: number, x: GPUBuffer, y: GPUBuffer): void {
  const g = iwtGeom(n, c, h, w);
  for (let f = 0; f < 4; f++) {
    const k = constantBuffer(
      gpu,
      HAAR[f]!.map((v) => v * IWT_SIGN[f]!),
    );
    upfirdn2dRaw(gpu, g, x, k, y, { inView: group(c, f), accumulate: f > 0 });
  }
}

/** Gradient of haarIwtRaw: gx [n,4c,h,w] from gy [n,c,2h,2w]. */
export function haarIwtBackwardRaw(
  gpu: Gpu,
  n: number,
  c: number,
  h: number,
  w: number,
  gy: GPUBuffer,
  gx: GPUBuffer,
): void {
  const g = iwtGeom(n, c, h, w);
  for (let f = 0; f < 4; f++) {
    const k = constantBuffer(
      gpu,
      HAAR[f]!.map((v) => v * IWT_SIGN[f]!),
    );
    upfirdn2dAdjointRaw(gpu, g, gy, k, gx, { inView: group(c, f) });
  }
}

// ---- separable depthwise filtering (SSIM's Gaussian window) --------------------------------------------------

export type SeparablePadding = 'valid' | 'same';

/** Geometries of the two passes (rows then columns) of a separable depthwise correlation with a 1-D window. */
export function separableGeoms(
  planes: number,
  h: number,
  w: number,
  size: number,
  padding: SeparablePadding,
): [UpfirdnGeom, UpfirdnGeom] {
  const p0 = padding === 'same' ? (size - 1) >> 1 : 0;
  const p1 = padding === 'same' ? size - 1 - p0 : 0;
  const gx = upfirdnGeometry(planes, h, w, 1, size, { pad: [p0, p1, 0, 0] });
  const gy = upfirdnGeometry(planes, h, gx.wo, size, 1, { pad: [0, 0, p0, p1] });
  return [gx, gy];
}

/**
 * y = x correlated per plane with window ⊗ window (depthwise, zero padding for 'same'; 'same' pads (size−1)/2 before
 * and the rest after). Two passes through a pooled temporary.
 */
export function separableFilterRaw(
  gpu: Gpu,
  planes: number,
  h: number,
  w: number,
  window: ArrayLike<number>,
  padding: SeparablePadding,
  x: GPUBuffer,
  y: GPUBuffer,
): void {
  const [g1, g2] = separableGeoms(planes, h, w, window.length, padding);
  const k = constantBuffer(gpu, Array.from(window).reverse()); // upfirdn2d flips: reverse for a correlation
  const tmp = gpu.pool.acquire(g1.planes * g1.ho * g1.wo * 4, 'separable tmp');
  upfirdn2dRaw(gpu, g1, x, k, tmp);
  upfirdn2dRaw(gpu, g2, tmp, k, y);
  gpu.pool.release(tmp);
}

export function separableFilterBackwardRaw(
  gpu: Gpu,
  planes: number,
  h: number,
  w: number,
  window: ArrayLike<number>,
  padding: SeparablePadding,
  gy: GPUBuffer,
  gx: GPUBuffer,
): void {
  const [g1, g2] = separableGeoms(planes, h, w, window.length, padding);
  const k = constantBuffer(gpu, Array.from(window).reverse());
  const tmp = gpu.pool.acquire(g1.planes * g1.ho * g1.wo * 4, 'separable tmp');
  upfirdn2dAdjointRaw(gpu, g2, gy, k, tmp);
  upfirdn2dAdjointRaw(gpu, g1, tmp, k, gx);
  gpu.pool.release(tmp);
}
