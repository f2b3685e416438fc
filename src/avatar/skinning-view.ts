/**
 * View-direction cosines for the colour network's view conditioning (no gradient). Per Gaussian, with M its blended
 * matrix (cano → live with the root, from `blendJointMatrices`):
 *   p = M·[x0; 1] (the template point, not the offset position),  n = M[:3,:3]·n0 (not renormalised),
 *   v = normalize(camPos − p);  in training v = normalize(v + σ·ξ), ξ ~ N(0, I), σ = 0.1;  cos θ = ⟨n, v⟩.
 * camPos, σ and the noise seed are read from a small persistent tensor (`createViewParams`) that the loop uploads
 * before each replay of a captured step; the noise is a pure function of (seed, Gaussian index) computed on the GPU
 * (src/avatar/view-noise.ts), so a replay with a new seed draws new noise and the float64 reference sees the same.
 */
import { cachedKernel, dispatch1d, gpu, main1d, params, Tensor } from '../tensor/index.js';
import { expectShape } from './skinning.js';
import { VIEW_NOISE_WGSL } from './view-noise.js';

/** σ of the training noise on the view direction. */
export const VIEW_NOISE_STD = 0.1;

/** Words of the view-parameter tensor: camPos xyz, σ (0: no noise), seed (u32 bits), 3 unused. */
export const VIEW_PARAMS_SIZE = 8;

export interface ViewParams {
  /** Camera centre in world space (−Rᵀ T of an OpenCV camera; `cameraCenter` in src/data/camera.ts). */
  camPos: ArrayLike<number>;
  /** Noise seed (u32); a new one each training step. */
  seed?: number;
  /** σ of the noise: VIEW_NOISE_STD in training, 0 (the default) at test time. */
  noiseStd?: number;
}

/** The bytes of a view-parameter tensor, for `gpu.upload(params.buffer, viewParamsData(...))`. */
export function viewParamsData(p: ViewParams): Float32Array {
  if (p.camPos.length !== 3) throw new Error(`viewParamsData: camPos must have 3 values, got ${p.camPos.length}`);
  const data = new Float32Array(VIEW_PARAMS_SIZE);
  data.set([p.camPos[0]!, p.camPos[1]!, p.camPos[2]!, p.noiseStd ?? 0]);
  new Uint32Array(data.buffer)[4] = (p.seed ?? 0) >>> 0;
  return data;
}

/** A persistent view-parameter tensor holding `p` (upload new values with `uploadViewParams`). */
export function createViewParams(p: ViewParams): Tensor {
  return Tensor.from(viewParamsData(p), [VIEW_PARAMS_SIZE], { persistent: true, label: 'view params' });
}

/**
 * Write `p` into a view-parameter tensor. Outside a capture (before `replay.run()`), or inside `gpu.perRun`:
 * an upload recorded in a capture replays its captured bytes.
 */
export function uploadViewParams(t: Tensor, p: ViewParams): void {
  gpu().upload(t.buffer, viewParamsData(p));
}

const VIEW_COSINES_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> B: array<vec4f>;
@group(0) @binding(1) var<storage, read> X0: array<f32>;
@group(0) @binding(2) var<storage, read> N0: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
struct PP { n: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${VIEW_NOISE_WGSL}
${main1d('P.n')}
  let m0 = B[3u * i]; let m1 = B[3u * i + 1u]; let m2 = B[3u * i + 2u];
  let x = vec3f(X0[3u * i], X0[3u * i + 1u], X0[3u * i + 2u]);
  let n0 = vec3f(N0[3u * i], N0[3u * i + 1u], N0[3u * i + 2u]);
  let p = vec3f(dot(m0.xyz, x) + m0.w, dot(m1.xyz, x) + m1.w, dot(m2.xyz, x) + m2.w);
  let n = vec3f(dot(m0.xyz, n0), dot(m1.xyz, n0), dot(m2.xyz, n0));
  var v = normalize(vec3f(V[0], V[1], V[2]) - p);
  let sigma = V[3];
  if (sigma > 0.0) { v = normalize(v + sigma * noiseNormals(bitcast<u32>(V[4]), i)); }
  C[i] = dot(n, v);
}`;

/**
 * cos θ per Gaussian [N]: blend [N, 3, 4] (`blendJointMatrices`), template points and canonical normals [N, 3],
 * view parameters [8] (`createViewParams`). Not on the tape.
 */
export function viewCosines(blend: Tensor, templatePoints: Tensor, normals: Tensor, viewParams: Tensor): Tensor {
  const n = blend.shape[0]!;
  const check = (name: string, t: Tensor, shape: readonly number[]) => expectShape('viewCosines', name, t, shape);
  check('blend', blend, [n, 3, 4]);
  check('templatePoints', templatePoints, [n, 3]);
  check('normals', normals, [n, 3]);
  check('viewParams', viewParams, [VIEW_PARAMS_SIZE]);
  const c = Tensor.empty([n]);
  dispatch1d(
    cachedKernel('skin_view_cosines', () => VIEW_COSINES_WGSL),
    [blend.buffer, templatePoints.buffer, normals.buffer, viewParams.buffer, c.buffer],
    n,
    params(n),
  );
  return c;
}
