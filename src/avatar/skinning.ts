/**
 * Linear blend skinning of the Gaussians, on the GPU and on the autograd tape:
 *   M = Σ_j w_j T_j  (T_j: canonical → live joint matrices, with the root),
 *   x_live = M[:3,:3] x + M[:3,3],   q_live = quat(M[:3,:3] · R(q)),   scales unchanged.
 * The float64 oracle is src/body/lbs.ts (blendMatrix, lbsPoints, lbsQuaternions); the kernels follow it exactly:
 * the rotation is normalised before R(q), and the matrix → quaternion conversion takes the best-conditioned of its
 * four candidates, real part first and ≥ 0, without renormalising (pytorch3d's matrix_to_quaternion; its releases
 * before the fix of its issue #1703, late 2023, leave the sign as the candidate gives it, which nothing downstream
 * sees: R(−q) = R(q), and the gradient reaching the canonical rotation is the same). M is a blend of rotations, so
 * |q_live| is only near 1. The rasterizer (src/splat) builds R from a quaternion as given, without normalising (as
 * the original CUDA rasterizer does): for q = λ·u with |u| = 1 that is R(q) = (1 − λ²)·I + λ²·R(u), a blend of the
 * rotation with the identity rather than a rotation, close to R(u) for λ ≈ 1. Normalise the skinned rotations before
 * splatting if that is not wanted.
 *
 * Two steps, so that the 55 weights per Gaussian (the largest input) are read once per training step:
 * `blendJointMatrices` makes the per-Gaussian 3×4 M, which both `skinGaussians` and `viewCosines`
 * (src/avatar/skinning-view.ts) read, and which the backward keeps instead of recomputing it. Counted per Gaussian:
 * the weights are 220 bytes, M is 48; re-blending in the backward would read 220 bytes (plus the joint table) where
 * the saved M costs 48 (N ≈ 320k: 70 MB against 15 MB per pass; M is made for the forward anyway).
 * Per-step values (the joint matrices) are read from the `jointMats` tensor, which the training loop uploads before
 * each replay of a captured step; only N and J are baked into the dispatches.
 */
import { cachedKernel, dispatch1d, params, record, Tensor } from '../tensor/index.js';
import {
  BLEND_WGSL,
  SKIN_BACKWARD_POSITIONS_WGSL,
  SKIN_BACKWARD_ROTATIONS_WGSL,
  SKIN_FORWARD_WGSL,
} from './skinning-wgsl.js';

/** Throws naming `where` and `name` unless t is f32 of exactly `shape`. */
export function expectShape(where: string, name: string, t: Tensor, shape: readonly number[]): void {
  if (t.dtype !== 'f32' || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${where}: ${name} must be f32 [${shape}], got ${t.dtype} [${t.shape}]`);
  }
}

/**
 * The blended matrices of N Gaussians: weights [N, J] (dense, as prep writes them), jointMats [J, 4, 4] row-major
 * → [N, 3, 4] (the top three rows of M). No gradient: neither input is trained.
 */
export function blendJointMatrices(weights: Tensor, jointMats: Tensor): Tensor {
  const [n, J] = weights.shape as [number, number];
  expectShape('blendJointMatrices', 'weights', weights, [n, J]);
  expectShape('blendJointMatrices', 'jointMats', jointMats, [J, 4, 4]);
  if (weights.requiresGrad || jointMats.requiresGrad) {
    throw new Error('blendJointMatrices: weights and jointMats must not require grad (skinning trains neither)');
  }
  const blend = Tensor.empty([n, 3, 4]);
  dispatch1d(
    cachedKernel('skin_blend', () => BLEND_WGSL),
    [weights.buffer, jointMats.buffer, blend.buffer],
    n,
    params(n, J),
  );
  return blend;
}

export interface SkinnedGaussians {
  /** [N, 3] posed positions. */
  positions: Tensor;
  /** [N, 4] posed rotations (w, x, y, z), near-unit (see the file comment). */
  rotations: Tensor;
}

/**
 * Skin canonical positions [N, 3] and rotations [N, 4] (wxyz) by the blended matrices [N, 3, 4] of
 * `blendJointMatrices`. Gradients flow to positions and rotations (two tape nodes), not to `blend`.
 */
export function skinGaussians(positions: Tensor, rotations: Tensor, blend: Tensor): SkinnedGaussians {
  const n = positions.shape[0]!;
  expectShape('skinGaussians', 'positions', positions, [n, 3]);
  expectShape('skinGaussians', 'rotations', rotations, [n, 4]);
  expectShape('skinGaussians', 'blend', blend, [n, 3, 4]);
  if (blend.requiresGrad)
    throw new Error('skinGaussians: blend must not require grad (make it with blendJointMatrices)');
  const y = Tensor.empty([n, 3]);
  const qo = Tensor.empty([n, 4]);
  dispatch1d(
    cachedKernel('skin_forward', () => SKIN_FORWARD_WGSL),
    [blend.buffer, positions.buffer, rotations.buffer, y.buffer, qo.buffer],
    n,
    params(n),
  );
  const posed = record({
    name: 'skinPositions',
    inputs: [positions],
    output: y,
    save: [blend],
    backward: (gy, [b]) => {
      const gx = Tensor.empty([n, 3]);
      dispatch1d(
        cachedKernel('skin_backward_positions', () => SKIN_BACKWARD_POSITIONS_WGSL),
        [b!.buffer, gy.buffer, gx.buffer],
        n,
        params(n),
      );
      return [gx];
    },
  });
  const rotated = record({
    name: 'skinRotations',
    inputs: [rotations],
    output: qo,
    save: [blend, rotations],
    backward: (gq, [b, q]) => {
      const gr = Tensor.empty([n, 4]);
      dispatch1d(
        cachedKernel('skin_backward_rotations', () => SKIN_BACKWARD_ROTATIONS_WGSL),
        [b!.buffer, q!.buffer, gq.buffer, gr.buffer],
        n,
        params(n),
      );
      return [gr];
    },
  });
  return { positions: posed, rotations: rotated };
}
