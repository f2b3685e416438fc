/**
 * The fit's volume rendering and eikonal term on the GPU, in float32: the same formulas as volume-render.ts (the
 * float64 reference they are tested against), so that a step's SDF and colours never leave the GPU: the gradients
 * seed the backward pass directly, and the step reads back only its per-ray losses and β-gradient parts (a few KB)
 * after all its work is queued. On the CPU, rendering sat on the step's critical path between a readback of every
 * sample and the backward pass.
 *
 * Rendering: one invocation per ray walks its S samples (S baked into the kernel: the per-sample weights, the
 * transmittances and the density's derivatives live in private arrays for the backward walk).
 * Outputs: ∂L/∂d per sample into `gradSdf` (its first rays·S entries), ∂L/∂c per sample, and per ray
 * [Σ_c |C_c − C*_c|, |A − M*|, ∂L/∂β part, 0]. Eikonal: one invocation per point m writes ∂L/∂f of its four values
 * into `gradSdf` after the rays' (offset rays·S) and its (‖∇f‖ − 1)² per point.
 */
import { cachedKernel, dispatch1d, f, main1d, params } from '../../tensor/kernels/util.js';
import type { Tensor } from '../../tensor/index.js';

function renderWgsl(S: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> SDF: array<f32>;
@group(0) @binding(1) var<storage, read> COL: array<f32>;
@group(0) @binding(2) var<storage, read> DELTA: array<f32>;
@group(0) @binding(3) var<storage, read> TGT: array<f32>;
@group(0) @binding(4) var<storage, read> MASK: array<f32>;
@group(0) @binding(5) var<storage, read_write> GS: array<f32>;
@group(0) @binding(6) var<storage, read_write> GC: array<f32>;
@group(0) @binding(7) var<storage, read_write> RAY: array<vec4f>;
struct PP { rays: u32, beta: f32, wColor: f32, wMask: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.rays', 64)}
  let r = i;
  let ib = 1.0 / P.beta;
  let ib2 = ib * ib;
  var w: array<f32, ${S}>;
  var tn: array<f32, ${S + 1}>;
  var ddx: array<f32, ${S}>;
  var dbx: array<f32, ${S}>;
  var acc = 0.0;
  tn[0] = 1.0;
  for (var s = 0u; s < ${S}u; s++) {
    let k = r * ${S}u + s;
    let d = SDF[k];
    let e = exp(-abs(d) * ib);
    let psi = select(1.0 - 0.5 * e, 0.5 * e, d >= 0.0);
    let dl = DELTA[k];
    ddx[s] = -0.5 * e * ib2 * dl;
    dbx[s] = (0.5 * d * e * ib2 * ib - psi * ib2) * dl;
    acc += psi * ib * dl;
    tn[s + 1u] = exp(-acc);
    w[s] = tn[s] - tn[s + 1u];
  }
  var a = 0.0;
  var c = vec3f(0.0);
  for (var s = 0u; s < ${S}u; s++) {
    let k = (r * ${S}u + s) * 3u;
    a += w[s];
    c += w[s] * vec3f(COL[k], COL[k + 1u], COL[k + 2u]);
  }
  let e = c - vec3f(TGT[3u * r], TGT[3u * r + 1u], TGT[3u * r + 2u]);
  let gC = P.wColor * sign(e) / f32(3u * P.rays);
  let em = a - MASK[r];
  let gA = P.wMask * sign(em) / f32(P.rays);
  var g: array<f32, ${S}>;
  for (var s = 0u; s < ${S}u; s++) {
    let k = (r * ${S}u + s) * 3u;
    let col = vec3f(COL[k], COL[k + 1u], COL[k + 2u]);
    g[s] = gA + dot(gC, col);
    GC[k] = w[s] * gC.x;
    GC[k + 1u] = w[s] * gC.y;
    GC[k + 2u] = w[s] * gC.z;
  }
  var suffix = 0.0;
  var gBeta = 0.0;
  for (var t = 0u; t < ${S}u; t++) {
    let s = ${S - 1}u - t;
    let gx = tn[s + 1u] * g[s] - suffix;
    suffix += w[s] * g[s];
    GS[r * ${S}u + s] = gx * ddx[s];
    gBeta += gx * dbx[s];
  }
  RAY[r] = vec4f(abs(e.x) + abs(e.y) + abs(e.z), abs(em), gBeta, 0.0);
}`;
}

const EIKONAL_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> SDF: array<f32>;
@group(0) @binding(1) var<storage, read_write> GS: array<f32>;
@group(0) @binding(2) var<storage, read_write> LOSS: array<f32>;
struct PP { m: u32, offset: u32, h: f32, weight: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.m')}
  let M = P.m;
  let o = P.offset;
  let f0 = SDF[o + i];
  let grad = vec3f(SDF[o + M + i] - f0, SDF[o + 2u * M + i] - f0, SDF[o + 3u * M + i] - f0) / P.h;
  let n = length(grad);
  let e = n - 1.0;
  LOSS[i] = e * e;
  var s = 0.0;
  if (n > 0.0) { s = P.weight * 2.0 * e / (f32(M) * n * P.h); }
  GS[o + M + i] = s * grad.x;
  GS[o + 2u * M + i] = s * grad.y;
  GS[o + 3u * M + i] = s * grad.z;
  GS[o + i] = -s * (grad.x + grad.y + grad.z);
}`;

export interface GpuRays {
  rays: number;
  samples: number;
  /** SDF values: the rays' rays·samples first (any entries after them are left alone). */
  sdf: Tensor;
  /** (rays·samples, 3) colours. */
  color: Tensor;
  /** (rays·samples) sample spacings, (rays·3) target colours, (rays) target masks. */
  delta: Tensor;
  targetColor: Tensor;
  targetMask: Tensor;
}

/**
 * Renders the rays and writes ∂L/∂d into gradSdf[0, rays·samples), ∂L/∂c into gradColor and per ray
 * [Σ|C − C*|, |A − M*|, ∂L/∂β part, 0] into `perRay` (rays vec4); L = wColor·mean|C − C*| + wMask·mean|A − M*|.
 */
export function renderRaysGpu(
  b: GpuRays,
  beta: number,
  wColor: number,
  wMask: number,
  out: { gradSdf: Tensor; gradColor: Tensor; perRay: Tensor },
): void {
  const S = b.samples;
  const k = cachedKernel(`template_render:${S}`, () => renderWgsl(S));
  dispatch1d(
    k,
    [
      b.sdf.buffer,
      b.color.buffer,
      b.delta.buffer,
      b.targetColor.buffer,
      b.targetMask.buffer,
      out.gradSdf.buffer,
      out.gradColor.buffer,
      out.perRay.buffer,
    ],
    b.rays,
    params(b.rays, f(beta), f(wColor), f(wMask)),
    64,
  );
}

/**
 * The mean losses and β's gradient from renderRaysGpu's `perRay` read back (its first 4·rays values):
 * color = mean over rays and channels of |C − C*|, mask = mean |A − M*|, gradBeta = Σ of the rays' parts.
 */
export function rayLosses(perRay: Float32Array, rays: number): { color: number; mask: number; gradBeta: number } {
  let color = 0,
    mask = 0,
    gradBeta = 0;
  for (let r = 0; r < rays; r++) {
    color += perRay[4 * r]!;
    mask += perRay[4 * r + 1]!;
    gradBeta += perRay[4 * r + 2]!;
  }
  return { color: color / (3 * rays), mask: mask / rays, gradBeta };
}

/**
 * The eikonal term of M points whose four SDF blocks start at `offset` in `sdf` (volume-render.ts's eikonal): writes
 * ∂L/∂f into gradSdf at the same places and (‖∇f‖ − 1)² per point into `perPoint`; L = weight·mean of those.
 */
export function eikonalGpu(
  sdf: Tensor,
  offset: number,
  M: number,
  h: number,
  weight: number,
  out: { gradSdf: Tensor; perPoint: Tensor },
): void {
  const k = cachedKernel('template_eikonal', () => EIKONAL_WGSL);
  dispatch1d(k, [sdf.buffer, out.gradSdf.buffer, out.perPoint.buffer], M, params(M, offset, f(h), f(weight)));
}
