/**
 * Linear blend skinning of arbitrary points and rotations:
 *   M = sum_j w_j T_j;  x' = M[:3,:3] x + M[:3,3];  R' = M[:3,:3] R  -> quaternion (w, x, y, z)
 * weights are (N x J) row-major (dense; zeros are skipped), T are J stacked row-major 4x4 (e.g. cano -> live).
 */
import { matrixToQuaternion, quaternionToMatrix } from './rotation.js';

export type Weights = ArrayLike<number>;

/** The blended 3x4 (row-major, 12 values) of point i. */
export function blendMatrix(
  weights: Weights,
  i: number,
  mats: ArrayLike<number>,
  J: number,
  out: Float64Array,
): Float64Array {
  out.fill(0, 0, 12);
  for (let j = 0; j < J; j++) {
    const w = weights[i * J + j]!;
    if (w === 0) continue;
    for (let e = 0; e < 12; e++) out[e] += w * mats[j * 16 + e]!;
  }
  return out;
}

/** Skin N points (N*3). */
export function lbsPoints(
  points: ArrayLike<number>,
  weights: Weights,
  mats: ArrayLike<number>,
  out?: Float64Array,
): Float64Array {
  const N = points.length / 3;
  const J = mats.length / 16;
  if (weights.length !== N * J) throw new Error(`lbsPoints: ${N} points need ${N}x${J} weights, got ${weights.length}`);
  const res = out ?? new Float64Array(N * 3);
  const M = new Float64Array(12);
  for (let i = 0; i < N; i++) {
    blendMatrix(weights, i, mats, J, M);
    const x = points[i * 3]!,
      y = points[i * 3 + 1]!,
      z = points[i * 3 + 2]!;
    for (let r = 0; r < 3; r++) res[i * 3 + r] = M[4 * r]! * x + M[4 * r + 1]! * y + M[4 * r + 2]! * z + M[4 * r + 3]!;
  }
  return res;
}

/**
 * Rotate N canonical rotations (quaternions N*4, wxyz) by the blended 3x3: R' = M3 R, back to a quaternion
 * with the robust matrix -> quaternion (not renormalised, as the reference; M3 is only near-orthonormal).
 */
export function lbsQuaternions(
  quats: ArrayLike<number>,
  weights: Weights,
  mats: ArrayLike<number>,
  out?: Float64Array,
): Float64Array {
  const N = quats.length / 4;
  const J = mats.length / 16;
  if (weights.length !== N * J)
    throw new Error(`lbsQuaternions: ${N} rotations need ${N}x${J} weights, got ${weights.length}`);
  const res = out ?? new Float64Array(N * 4);
  const M = new Float64Array(12);
  const R = new Float64Array(9);
  const P = new Float64Array(9);
  for (let i = 0; i < N; i++) {
    blendMatrix(weights, i, mats, J, M);
    quaternionToMatrix(quats, i * 4, R, 0);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++)
        P[3 * r + c] = M[4 * r]! * R[c]! + M[4 * r + 1]! * R[3 + c]! + M[4 * r + 2]! * R[6 + c]!;
    }
    matrixToQuaternion(P, 0, res, i * 4);
  }
  return res;
}
