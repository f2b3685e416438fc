/**
 * Float64 reference of the view-direction cosines (src/avatar/skinning-view.ts), built on the LBS oracle's
 * blendMatrix and the shared counter-based noise. (The skinning itself has its oracle in src/body/lbs.ts.)
 */
import { blendMatrix } from '../body/lbs.js';
import { noiseNormals } from './view-noise.js';
import type { ViewParams } from './skinning-view.js';

/** cos θ per point: points and normals N×3, weights N×J, mats J×16 (row-major 4×4). */
export function viewCosinesRef(
  points: ArrayLike<number>,
  normals: ArrayLike<number>,
  weights: ArrayLike<number>,
  mats: ArrayLike<number>,
  view: ViewParams,
): Float64Array {
  const N = points.length / 3;
  const J = mats.length / 16;
  const sigma = view.noiseStd ?? 0;
  const out = new Float64Array(N);
  const M = new Float64Array(12);
  for (let i = 0; i < N; i++) {
    blendMatrix(weights, i, mats, J, M);
    const p = [0, 1, 2].map(
      (r) =>
        M[4 * r]! * points[3 * i]! +
        M[4 * r + 1]! * points[3 * i + 1]! +
        M[4 * r + 2]! * points[3 * i + 2]! +
        M[4 * r + 3]!,
    );
    const n = [0, 1, 2].map(
      (r) => M[4 * r]! * normals[3 * i]! + M[4 * r + 1]! * normals[3 * i + 1]! + M[4 * r + 2]! * normals[3 * i + 2]!,
    );
    let v = normalize([0, 1, 2].map((r) => view.camPos[r]! - p[r]!));
    if (sigma > 0) {
      const xi = noiseNormals(view.seed ?? 0, i);
      v = normalize(v.map((c, r) => c + sigma * xi[r]!));
    }
    out[i] = n[0]! * v[0]! + n[1]! * v[1]! + n[2]! * v[2]!;
  }
  return out;
}

function normalize(v: number[]): number[] {
  const l = Math.hypot(v[0]!, v[1]!, v[2]!);
  return v.map((c) => c / l);
}
