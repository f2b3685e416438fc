/**
 * The ToRGB skip of the DualStyleUNet as one linear operator on Haar subbands: haarDwt(upfirdn2d(haarIwt(s), 2×
 * upsample with the [1,3,3,1] FIR)), [N, 4C, h, w] → [N, 4C, 2h, 2w], optionally added to a tensor of that shape.
 * Three kernels and an add become one: output pixel (Y, X) of subband fo is
 *   Σ_{fi, dy, dx} K[Y mod 2][X mod 2][fo][fi][dy][dx] · s[fi][⌊Y/2⌋ + dy − R][⌊X/2⌋ + dx − R]
 * (zero outside), where K is the composite's impulse response, computed once in float64 from the reference ops (so
 * the stencil is by construction the operator the three kernels compute; only the f32 rounding order differs).
 * Its adjoint (the backward) gathers the same stencil the other way.
 */
import { GRID_INDEX, grid1d, type Gpu } from '../../gpu/index.js';
import { haarSkipRef } from '../reference/upfirdn.js';
import { constantBuffer } from './upfirdn.js';

/** Stencil radius in input subband pixels (the composite reaches one pixel around ⌊Y/2⌋, checked below). */
const R = 1;
const D = 2 * R + 1;

/** The 2×2 parities × 4 × 4 subbands × D × D stencil, from impulse responses of the float64 reference chain. */
function compositeStencil(): Float64Array {
  const h = 8;
  const c0 = 4; // impulse position, far from the borders
  const k = new Float64Array(4 * 16 * D * D);
  const H = 2 * h; // output subband size
  for (let fi = 0; fi < 4; fi++) {
    const s = new Float64Array(4 * h * h);
    s[(fi * h + c0) * h + c0] = 1;
    const out = haarSkipRef(1, 1, h, h, s);
    for (let fo = 0; fo < 4; fo++)
      for (let Y = 0; Y < H; Y++)
        for (let X = 0; X < H; X++) {
          const v = out[(fo * H + Y) * H + X]!;
          const dy = c0 - (Y >> 1) + R;
          const dx = c0 - (X >> 1) + R;
          if (dy < 0 || dy >= D || dx < 0 || dx >= D) {
            if (Math.abs(v) > 1e-12) throw new Error('haar skip: the composite reaches beyond its stencil radius');
            continue;
          }
          k[((((Y & 1) * 2 + (X & 1)) * 4 + fo) * 4 + fi) * D * D + dy * D + dx] = v;
        }
  }
  return k;
}

let stencil: Float64Array | null = null;

/** The stencil as f32 on the GPU (one constant buffer per device). */
function stencilBuffer(gpu: Gpu): GPUBuffer {
  stencil ??= compositeStencil();
  return constantBuffer(gpu, stencil);
}

const COMMON = /* wgsl */ `
struct P { n: u32, c: u32, h: u32, w: u32, total: u32 }
@group(1) @binding(0) var<uniform> p: P;
const R: i32 = ${R}; const D: u32 = ${D}u;
fn kIndex(py: u32, px: u32, fo: u32, fi: u32, dy: u32, dx: u32) -> u32 {
  return ((((py * 2u + px) * 4u + fo) * 4u + fi) * D + dy) * D + dx;
}
${GRID_INDEX}`;

/** out[n, fo·C + c, Y, X] (+)= Σ K · s: one invocation per output element. */
const FORWARD = (add: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> S: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
${add ? '@group(0) @binding(2) var<storage, read> A: array<f32>;' : ''}
@group(0) @binding(${add ? 3 : 2}) var<storage, read_write> Y: array<f32>;
${COMMON}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i >= p.total) { return; }
  let W2 = 2u * p.w; let H2 = 2u * p.h;
  let X = i % W2; let Yr = (i / W2) % H2; let plane = i / (W2 * H2); // plane = (n·4 + fo)·C + c
  let c = plane % p.c; let fo = (plane / p.c) % 4u; let n = plane / (4u * p.c);
  var acc = 0.0;
  for (var fi = 0u; fi < 4u; fi++) {
    let base = ((n * 4u + fi) * p.c + c) * p.h * p.w;
    for (var dy = 0u; dy < D; dy++) {
      let y = i32(Yr >> 1u) + i32(dy) - R;
      if (y < 0 || y >= i32(p.h)) { continue; }
      for (var dx = 0u; dx < D; dx++) {
        let x = i32(X >> 1u) + i32(dx) - R;
        if (x < 0 || x >= i32(p.w)) { continue; }
        acc = fma(K[kIndex(Yr & 1u, X & 1u, fo, fi, dy, dx)], S[base + u32(y) * p.w + u32(x)], acc);
      }
    }
  }
  Y[i] = ${add ? 'A[i] + acc' : 'acc'};
}`;

/** The adjoint: gs[n, fi·C + c, y, x] = Σ K · g over the outputs that read (y, x). */
const ADJOINT = /* wgsl */ `
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read_write> GS: array<f32>;
${COMMON}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i >= p.total) { return; }
  let x = i % p.w; let y = (i / p.w) % p.h; let plane = i / (p.w * p.h); // plane = (n·4 + fi)·C + c
  let c = plane % p.c; let fi = (plane / p.c) % 4u; let n = plane / (4u * p.c);
  let W2 = 2u * p.w; let H2 = 2u * p.h;
  var acc = 0.0;
  for (var fo = 0u; fo < 4u; fo++) {
    let base = ((n * 4u + fo) * p.c + c) * H2 * W2;
    for (var dy = 0u; dy < D; dy++) {
      // outputs with ⌊Y/2⌋ = y − (dy − R) read (y, x) through tap dy
      let yb = i32(y) - i32(dy) + R;
      if (yb < 0 || yb >= i32(p.h)) { continue; }
      for (var dx = 0u; dx < D; dx++) {
        let xb = i32(x) - i32(dx) + R;
        if (xb < 0 || xb >= i32(p.w)) { continue; }
        for (var q = 0u; q < 4u; q++) {
          let Yr = 2u * u32(yb) + (q >> 1u); let X = 2u * u32(xb) + (q & 1u);
          acc = fma(K[kIndex(q >> 1u, q & 1u, fo, fi, dy, dx)], G[base + Yr * W2 + X], acc);
        }
      }
    }
  }
  GS[i] = acc;
}`;

function params(n: number, c: number, h: number, w: number, total: number): Uint32Array {
  return new Uint32Array([n, c, h, w, total, 0, 0, 0]);
}

/** y [n, 4c, 2h, 2w] = (add +) skip operator of s [n, 4c, h, w] (c = channels per subband). */
export function haarSkipRaw(
  gpu: Gpu,
  n: number,
  c: number,
  h: number,
  w: number,
  s: GPUBuffer,
  y: GPUBuffer,
  add: GPUBuffer | null = null,
): void {
  const total = n * 4 * c * 4 * h * w;
  const k = gpu.kernel(add ? 'haar_skip_add' : 'haar_skip', FORWARD(add !== null));
  const bufs = add ? [s, stencilBuffer(gpu), add, y] : [s, stencilBuffer(gpu), y];
  gpu.dispatch(k, bufs, grid1d(total, 256), params(n, c, h, w, total));
}

/** gs [n, 4c, h, w] from gy [n, 4c, 2h, 2w]: the adjoint of haarSkipRaw in s. */
export function haarSkipAdjointRaw(
  gpu: Gpu,
  n: number,
  c: number,
  h: number,
  w: number,
  gy: GPUBuffer,
  gs: GPUBuffer,
): void {
  const total = n * 4 * c * h * w;
  gpu.dispatch(
    gpu.kernel('haar_skip_adjoint', ADJOINT),
    [gy, stencilBuffer(gpu), gs],
    grid1d(total, 256),
    params(n, c, h, w, total),
  );
}
