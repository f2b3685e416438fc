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
import { cached } from '../../gpu/source-cache.js';
import { f32Literal } from './wgsl.js';

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

/**
 * out[n, fo·C + c, 2y + py, 2x + px] (+)= Σ K · s: one invocation per input pixel (n, c, y, x) computes the 16 outputs
 * (4 subbands × 2 × 2) that read its 4 × 3 × 3 neighbourhood, which it loads once; the stencil's nonzero weights
 * are literals in the code. (One invocation per output re-read 36 values and the stencil from memory for each:
 * 39 µs per call, 0.39 ms per forward on the H200.)
 */
const FORWARD = (add: boolean) => {
  stencil ??= compositeStencil();
  const k = stencil;
  let load = '';
  for (let fi = 0; fi < 4; fi++)
    for (let dy = 0; dy < D; dy++)
      for (let dx = 0; dx < D; dx++)
        load += `  var v${fi}_${dy}_${dx} = 0.0;
  { let yy = i32(y) + ${dy - R}; let xx = i32(x) + ${dx - R};
    if (yy >= 0 && yy < i32(p.h) && xx >= 0 && xx < i32(p.w)) { v${fi}_${dy}_${dx} = S[base + ${fi}u * plane4 + u32(yy) * p.w + u32(xx)]; } }\n`;
  let store = '';
  for (let fo = 0; fo < 4; fo++)
    for (let py = 0; py < 2; py++)
      for (let px = 0; px < 2; px++) {
        const terms: string[] = [];
        for (let fi = 0; fi < 4; fi++)
          for (let dy = 0; dy < D; dy++)
            for (let dx = 0; dx < D; dx++) {
              const v = k[((((py * 2 + px) * 4 + fo) * 4 + fi) * D + dy) * D + dx]!;
              if (Math.abs(v) > 1e-12) terms.push(`${f32Literal(v)} * v${fi}_${dy}_${dx}`);
            }
        const o = `obase + ${fo}u * oplane4 + (2u * y + ${py}u) * W2 + 2u * x + ${px}u`;
        const sum = terms.length ? terms.join(' + ') : '0.0';
        store += `  { let o = ${o}; Y[o] = ${add ? 'A[o] + ' : ''}(${sum}); }\n`;
      }
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> S: array<f32>;
${add ? '@group(0) @binding(1) var<storage, read> A: array<f32>;' : ''}
@group(0) @binding(${add ? 2 : 1}) var<storage, read_write> Y: array<f32>;
${COMMON}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i >= p.total) { return; }
  let x = i % p.w; let y = (i / p.w) % p.h; let nc = i / (p.w * p.h); // nc = n·C + c
  let c = nc % p.c; let n = nc / p.c;
  let W2 = 2u * p.w;
  let plane4 = p.c * p.h * p.w; // subband stride of the input
  let oplane4 = 4u * plane4; // subband stride of the output
  let base = n * 4u * plane4 + c * p.h * p.w;
  let obase = n * 4u * oplane4 + c * 4u * p.h * p.w;
${load}${store}}`;
};

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
  const total = n * c * h * w; // input pixels per subband: one invocation each
  // the source is generated once per variant (it spells out the stencil), not per call
  const src = cached(`haar_skip|${add !== null}`, () => FORWARD(add !== null));
  const k = gpu.kernel(add ? 'haar_skip_add' : 'haar_skip', src);
  gpu.dispatch(k, add ? [s, add, y] : [s, y], grid1d(total, 256), params(n, c, h, w, total));
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
