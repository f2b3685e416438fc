/**
 * Direct convolution kernels: one output element per invocation, plain loops. They are the GPU oracle that the
 * tiled implicit-GEMM kernels are tested against, and the fallback for odd cases. One compiled kernel serves all
 * shapes (the geometry comes in per-dispatch parameters).
 */
import { workgroupReduceWgsl } from '../../gpu/reduce-wgsl.js';
import { GRID_INDEX, grid1d, type Gpu } from '../../gpu/index.js';
import type { Conv2dGeom } from './geometry.js';

const WG = 64;

const GEOM_STRUCT = /* wgsl */ `
struct G { n: i32, cin: i32, h: i32, w: i32, cout: i32, kh: i32, kw: i32, sy: i32, sx: i32, pt: i32, pl: i32, ho: i32, wo: i32, total: i32 }
@group(1) @binding(0) var<uniform> P: G;
${GRID_INDEX}`;

export function geomParams(g: Conv2dGeom, total: number): Int32Array {
  return Int32Array.from([
    g.n,
    g.cin,
    g.h,
    g.w,
    g.cout,
    g.kh,
    g.kw,
    g.strideY,
    g.strideX,
    g.padTop,
    g.padLeft,
    g.ho,
    g.wo,
    total,
  ]);
}

const HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = i32(gridIndex(wg, nwg, li, ${WG}u));
  if (idx >= P.total) { return; }`;

function forwardWgsl(bias: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${bias ? '@group(0) @binding(2) var<storage, read> Bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> Y: array<f32>;
${GEOM_STRUCT}
${HEAD}
  let xo = idx % P.wo; let t = idx / P.wo; let y = t % P.ho; let t2 = t / P.ho; let o = t2 % P.cout; let b = t2 / P.cout;
  var s = ${bias ? 'Bias[o]' : '0.0'};
  for (var i = 0; i < P.cin; i++) {
    for (var ky = 0; ky < P.kh; ky++) {
      let iy = y * P.sy - P.pt + ky;
      if (iy < 0 || iy >= P.h) { continue; }
      for (var kx = 0; kx < P.kw; kx++) {
        let ix = xo * P.sx - P.pl + kx;
        if (ix < 0 || ix >= P.w) { continue; }
        s = fma(X[((b * P.cin + i) * P.h + iy) * P.w + ix], Wt[((o * P.cin + i) * P.kh + ky) * P.kw + kx], s);
      }
    }
  }
  Y[idx] = s;
}`;
}

/** Input gradient (= conv_transpose2d forward; `bias` then is the transposed conv's bias, indexed by cin). */
function backwardInputWgsl(bias: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> GY: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${bias ? '@group(0) @binding(2) var<storage, read> Bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> GX: array<f32>;
${GEOM_STRUCT}
${HEAD}
  let xi = idx % P.w; let t = idx / P.w; let yi = t % P.h; let t2 = t / P.h; let i = t2 % P.cin; let b = t2 / P.cin;
  var s = ${bias ? 'Bias[i]' : '0.0'};
  for (var o = 0; o < P.cout; o++) {
    for (var ky = 0; ky < P.kh; ky++) {
      let ty = yi + P.pt - ky;
      if (ty < 0 || ty % P.sy != 0 || ty / P.sy >= P.ho) { continue; }
      let y = ty / P.sy;
      for (var kx = 0; kx < P.kw; kx++) {
        let tx = xi + P.pl - kx;
        if (tx < 0 || tx % P.sx != 0 || tx / P.sx >= P.wo) { continue; }
        let x = tx / P.sx;
        s = fma(GY[((b * P.cout + o) * P.ho + y) * P.wo + x], Wt[((o * P.cin + i) * P.kh + ky) * P.kw + kx], s);
      }
    }
  }
  GX[idx] = s;
}`;
}

function backwardWeightWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> GW: array<f32>;
${GEOM_STRUCT}
${HEAD}
  let kx = idx % P.kw; let t = idx / P.kw; let ky = t % P.kh; let t2 = t / P.kh; let i = t2 % P.cin; let o = t2 / P.cin;
  var s = 0.0;
  for (var b = 0; b < P.n; b++) {
    for (var y = 0; y < P.ho; y++) {
      let iy = y * P.sy - P.pt + ky;
      if (iy < 0 || iy >= P.h) { continue; }
      for (var x = 0; x < P.wo; x++) {
        let ix = x * P.sx - P.pl + kx;
        if (ix < 0 || ix >= P.w) { continue; }
        s = fma(GY[((b * P.cout + o) * P.ho + y) * P.wo + x], X[((b * P.cin + i) * P.h + iy) * P.w + ix], s);
      }
    }
  }
  GW[idx] = s;
}`;
}

const SOURCES = {
  fwd: forwardWgsl(false),
  fwdBias: forwardWgsl(true),
  dgrad: backwardInputWgsl(false),
  dgradBias: backwardInputWgsl(true),
  wgrad: backwardWeightWgsl(),
};

export function conv2dForwardDirect(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
): void {
  const total = g.n * g.cout * g.ho * g.wo;
  const k = gpu.kernel('conv2d_fwd_direct', bias ? SOURCES.fwdBias : SOURCES.fwd);
  gpu.dispatch(k, bias ? [x, w, bias, y] : [x, w, y], grid1d(total, WG), geomParams(g, total));
}

export function conv2dBackwardInputDirect(
  gpu: Gpu,
  g: Conv2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  bias: GPUBuffer | null = null,
): void {
  const total = g.n * g.cin * g.h * g.w;
  const k = gpu.kernel('conv2d_dgrad_direct', bias ? SOURCES.dgradBias : SOURCES.dgrad);
  gpu.dispatch(k, bias ? [gy, w, bias, gx] : [gy, w, gx], grid1d(total, WG), geomParams(g, total));
}

export function conv2dBackwardWeightDirect(gpu: Gpu, g: Conv2dGeom, x: GPUBuffer, gy: GPUBuffer, gw: GPUBuffer): void {
  const total = g.cout * g.cin * g.kh * g.kw;
  const k = gpu.kernel('conv2d_wgrad_direct', SOURCES.wgrad);
  gpu.dispatch(k, [x, gy, gw], grid1d(total, WG), geomParams(g, total));
}

const CHANNEL_SUM = /* wgsl */ `
@group(0) @binding(0) var<storage, read> GY: array<f32>;
@group(0) @binding(1) var<storage, read_write> GB: array<f32>;
struct S { n: u32, c: u32, hw: u32, accumulate: u32 }
@group(1) @binding(0) var<uniform> P: S;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = wg.x;
  var s = 0.0;
  for (var b = 0u; b < P.n; b++) {
    let base = (b * P.c + o) * P.hw;
    for (var p = li; p < P.hw; p += 256u) { s += GY[base + p]; }
  }
  part[li] = s;
  ${workgroupReduceWgsl([['part', '+']], 256)}
  if (li == 0u) { GB[o] = select(0.0, GB[o], P.accumulate != 0u) + part[0]; }
}`;

/** gb[o] (+)= Σ_{n, pixels} gy[n, o, ·] for gy of shape [n, c, hw]: the bias gradient. */
export function channelSum(
  gpu: Gpu,
  n: number,
  c: number,
  hw: number,
  gy: GPUBuffer,
  gb: GPUBuffer,
  accumulate = false,
): void {
  const k = gpu.kernel('channel_sum', CHANNEL_SUM);
  gpu.dispatch(k, [gy, gb], [c, 1, 1], Uint32Array.from([n, c, hw, accumulate ? 1 : 0]));
}
