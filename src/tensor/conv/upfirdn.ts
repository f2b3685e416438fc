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
import { adjointForm, forwardForm, upfirdnTiledDispatch, type ViewParams } from './upfirdn-tiled.js';

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
  /**
   * 'tiled': the polyphase register-blocked kernel generated per geometry (upfirdn-tiled.ts), the default on GPUs;
   * 'direct': one output per invocation, geometry in parameters (one kernel for every shape): the oracle, and the
   * default on CPU adapters (lavapipe), where each generated shape costs ~0.5–7 s of LLVM compile.
   */
  path?: UpfirdnPath;
  /** Tiled path: outputs per invocation (x, y), default 4×4 (tests use smaller blocks: faster to compile on the CPU). */
  block?: readonly [number, number];
}

export type UpfirdnPath = 'direct' | 'tiled';

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

function views(g: UpfirdnGeom, o: UpfirdnRawOptions): [PlaneView, PlaneView] {
  const c = (o.inView ?? o.outView)?.channels ?? g.planes;
  const iv = o.inView ?? { channels: c, batchStride: c, chanOffset: 0 };
  const ov = o.outView ?? { channels: c, batchStride: c, chanOffset: 0 };
  if (iv.channels !== ov.channels)
    throw new Error('upfirdn2d: input and output views must have the same channel count');
  if (g.planes % iv.channels !== 0)
    throw new Error(`upfirdn2d: ${g.planes} planes are not a multiple of ${iv.channels}`);
  return [iv, ov];
}

/** View parameters of the tiled kernel: `from` is the view read, `to` the view written. */
function tiledViews(from: PlaneView, to: PlaneView, acc: boolean | undefined): ViewParams {
  return {
    c: from.channels,
    inBatch: from.batchStride,
    inOff: from.chanOffset,
    outBatch: to.batchStride,
    outOff: to.chanOffset,
    acc: !!acc,
  };
}

export function pathOf(gpu: Gpu, o: UpfirdnRawOptions): UpfirdnPath {
  return o.path ?? (gpu.info.kind === 'cpu' ? 'direct' : 'tiled');
}

function params(g: UpfirdnGeom, o: UpfirdnRawOptions, total: number): Int32Array {
  const [iv, ov] = views(g, o);
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
  if (pathOf(gpu, opts) === 'tiled') {
    const [iv, ov] = views(g, opts);
    upfirdnTiledDispatch(
      gpu,
      'upfirdn2d_tiled',
      forwardForm(g),
      g.planes,
      tiledViews(iv, ov, opts.accumulate),
      x,
      k,
      y,
      opts.block,
    );
    return;
  }
  const total = g.planes * g.ho * g.wo;
  gpu.dispatch(gpu.kernel('upfirdn2d', FORWARD), [x, k, y], grid1d(total, WG), params(g, opts, total));
}

/**
 * y = leaky ReLU(upfirdn2d(x) + strength·noise + bias[c])·√2 in one tiled kernel (the upsampling StyledConv's blur
 * and tail), for x of `channels` channels per sample; noise [1 or N, 1, Ho, Wo]. Tiled path only.
 */
export function upfirdn2dTailRaw(
  gpu: Gpu,
  g: UpfirdnGeom,
  channels: number,
  x: GPUBuffer,
  k: GPUBuffer,
  y: GPUBuffer,
  tail: { noise: GPUBuffer; strength: GPUBuffer; bias: GPUBuffer; perSample: boolean },
  block?: readonly [number, number],
): void {
  const v: PlaneView = { channels, batchStride: channels, chanOffset: 0 };
  const f = forwardForm(g);
  upfirdnTiledDispatch(gpu, 'upfirdn2d_tiled', f, g.planes, tiledViews(v, v, false), x, k, y, block, tail);
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
  if (pathOf(gpu, opts) === 'tiled') {
    const [iv, ov] = views(g, opts);
    const f = adjointForm(g);
    upfirdnTiledDispatch(
      gpu,
      'upfirdn2d_adjoint_tiled',
      f,
      g.planes,
      tiledViews(ov, iv, opts.accumulate),
      gy,
      k,
      gx,
      opts.block,
    );
    return;
  }
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

// Fused Haar kernels: one dispatch per transform (the upfirdn2d formulation took 4, each re-reading the whole input
// or read-modify-writing the whole output). With f the band and q = 2a + b the position in a 2×2 block:
//   DWT  y_f[i,j] = Σ_q HAAR_f[3−q] · x[2i+a, 2j+b]             (down 2 with the flipped 2×2 filter)
//   IWT  y[2m+a, 2n+b] = Σ_f sign_f · HAAR_f[q] · x_f[m,n]       (up 2, pad (1,0,1,0))
// and each backward is the transposed matrix. 'haar_s2b' maps 2×2 spatial blocks to 4 bands, 'haar_b2s' 4 bands to
// 2×2 blocks (zero outside the bands' extent: odd sizes of the DWT's input).

const HAAR_STRUCT = /* wgsl */ `
struct H { m: array<vec4f, 4>, c: u32, h: u32, w: u32, hb: u32, wb: u32, total: u32 }
@group(1) @binding(0) var<uniform> P: H;
${GRID_INDEX}`;

const HAAR_S2B = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${HAAR_STRUCT}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = gridIndex(wg, nwg, li, ${WG}u);
  if (idx >= P.total) { return; }
  let j = idx % P.wb; let t = idx / P.wb; let i = t % P.hb; let p = t / P.hb;
  let xb = (p * P.h + 2u * i) * P.w + 2u * j;
  let v = vec4f(X[xb], X[xb + 1u], X[xb + P.w], X[xb + P.w + 1u]);
  let bc = p % P.c; let b = p / P.c;
  let hw = P.hb * P.wb;
  let o = ((b * 4u * P.c + bc) * P.hb + i) * P.wb + j;
  for (var f = 0u; f < 4u; f++) { Y[o + f * P.c * hw] = dot(P.m[f], v); }
}`;

const HAAR_B2S = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${HAAR_STRUCT}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = gridIndex(wg, nwg, li, ${WG}u);
  if (idx >= P.total) { return; }
  let hh = (P.h + 1u) / 2u; let wh = (P.w + 1u) / 2u;
  let j = idx % wh; let t = idx / wh; let i = t % hh; let p = t / hh;
  var v = vec4f(0.0);
  if (i < P.hb && j < P.wb) {
    let bc = p % P.c; let b = p / P.c;
    let hw = P.hb * P.wb;
    let o = ((b * 4u * P.c + bc) * P.hb + i) * P.wb + j;
    let x = vec4f(X[o], X[o + P.c * hw], X[o + 2u * P.c * hw], X[o + 3u * P.c * hw]);
    v = vec4f(dot(P.m[0], x), dot(P.m[1], x), dot(P.m[2], x), dot(P.m[3], x));
  }
  let yb = (p * P.h + 2u * i) * P.w + 2u * j;
  Y[yb] = v.x;
  if (2u * j + 1u < P.w) { Y[yb + 1u] = v.y; }
  if (2u * i + 1u < P.h) {
    Y[yb + P.w] = v.z;
    if (2u * j + 1u < P.w) { Y[yb + P.w + 1u] = v.w; }
  }
}`;

/** 4×4 coefficient matrices (row r = one output of the 2×2 transform), see above. */
const HAAR_MATS = (() => {
  const dwt = [0, 1, 2, 3].map((f) => [0, 1, 2, 3].map((q) => HAAR[f]![3 - q]!)); // [f][q]
  const iwt = [0, 1, 2, 3].map((q) => [0, 1, 2, 3].map((f) => IWT_SIGN[f]! * HAAR[f]![q]!)); // [q][f]
  const t = (m: number[][]) => m[0]!.map((_, i) => m.map((r) => r[i]!));
  return { dwt, dwtT: t(dwt), iwt, iwtT: t(iwt) };
})();

function haarDispatch(
  gpu: Gpu,
  kind: 's2b' | 'b2s',
  m: number[][],
  planes: number,
  c: number,
  h: number,
  w: number,
  src: GPUBuffer,
  dst: GPUBuffer,
): void {
  const hb = h >> 1;
  const wb = w >> 1;
  const total = kind === 's2b' ? planes * hb * wb : planes * ((h + 1) >> 1) * ((w + 1) >> 1);
  if (total === 0) return;
  const p = new ArrayBuffer(16 * 4 + 8 * 4);
  new Float32Array(p, 0, 16).set(m.flat());
  new Uint32Array(p, 64, 6).set([c, h, w, hb, wb, total]);
  const k = kind === 's2b' ? gpu.kernel('haar_s2b', HAAR_S2B) : gpu.kernel('haar_b2s', HAAR_B2S);
  gpu.dispatch(k, [src, dst], grid1d(total, WG), new Uint8Array(p));
}

export interface HaarOptions {
  /** 'fused' (default): one dispatch; 'upfirdn': four upfirdn2d dispatches (the oracle). */
  path?: 'fused' | 'upfirdn';
}

/** Haar DWT: x [n,c,h,w] → y [n,4c,⌊h/2⌋,⌊w/2⌋] = cat([ll, lh, hl, hh](x), dim 1). */
export function haarDwtRaw(
  gpu: Gpu,
  n: number,
  c: number,
  h: number,
  w: number,
  x: GPUBuffer,
  y: GPUBuffer,
  opts: HaarOptions = {},
): void {
  if (opts.path !== 'upfirdn') return haarDispatch(gpu, 's2b', HAAR_MATS.dwt, n * c, c, h, w, x, y);
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
  opts: HaarOptions = {},
): void {
  if (opts.path !== 'upfirdn') return haarDispatch(gpu, 'b2s', HAAR_MATS.dwtT, n * c, c, h, w, gy, gx);
  const g = dwtGeom(n, c, h, w);
  for (let f = 0; f < 4; f++) {
    upfirdn2dAdjointRaw(gpu, g, gy, constantBuffer(gpu, HAAR[f]!), gx, { outView: group(c, f), accumulate: f > 0 });
  }
}

/** Haar IWT: x [n,4c,h,w] → y [n,c,2h,2w] = Σ_f upfirdn2d(x_f, ±filter_f, up 2, pad (1,0,1,0)), lh and hl negated. */
export function haarIwtRaw(
  gpu: Gpu,
  n: number,
  c: number,
  h: number,
  w: number,
  x: GPUBuffer,
  y: GPUBuffer,
  opts: HaarOptions = {},
): void {
  if (opts.path !== 'upfirdn') return haarDispatch(gpu, 'b2s', HAAR_MATS.iwt, n * c, c, 2 * h, 2 * w, x, y);
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
  opts: HaarOptions = {},
): void {
  if (opts.path !== 'upfirdn') return haarDispatch(gpu, 's2b', HAAR_MATS.iwtT, n * c, c, 2 * h, 2 * w, gy, gx);
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
