/**
 * The avatar's canonical Gaussians, as the trainer, the animator and the evaluator build them from the canonical
 * maps that `animgs prep` writes: the Gaussian set (one per foreground pixel of the front | back maps) and, on the
 * GPU, what skinning and view conditioning read per Gaussian: skinning weights, template points and normals.
 */
import type { CanonicalMaps } from '../prep/maps.js';
import { gaussianNormals, gaussianPositions } from '../prep/maps.js';
import { Tensor } from '../tensor/index.js';
import type { CanonicalGaussians } from './gaussian-map.js';

export interface CanonicalTensors {
  /** [N, J] skinning weights. */
  weights: Tensor;
  /** [N, 3] template points. */
  points: Tensor;
  /** [N, 3] canonical normals. */
  normals: Tensor;
}

/** The Gaussian set of the canonical maps (positions xyz0, their pixels, the map size). */
export function canonicalGaussians(maps: CanonicalMaps): CanonicalGaussians {
  return { positions: gaussianPositions(maps), pixels: maps.pixels, mapSize: maps.size };
}

/** The per-Gaussian tensors (persistent: dispose them with `disposeCanonical`). Needs the engine initialised. */
export function canonicalTensors(
  maps: CanonicalMaps,
  gaussians: CanonicalGaussians = canonicalGaussians(maps),
): CanonicalTensors {
  const n = maps.pixels.length;
  if (maps.weights.length !== n * maps.numJoints || maps.numJoints === 0) {
    throw new Error(
      `canonical maps: ${maps.weights.length} skinning weights for ${n} Gaussians (init_pts_lbs.npy missing or of other maps): run \`animgs prep\` again`,
    );
  }
  const keep = { persistent: true };
  return {
    weights: Tensor.from(maps.weights, [n, maps.numJoints], keep),
    points: Tensor.from(gaussians.positions, [n, 3], keep),
    normals: Tensor.from(gaussianNormals(maps), [n, 3], keep),
  };
}

export function disposeCanonical(c: CanonicalTensors): void {
  c.weights.dispose();
  c.points.dispose();
  c.normals.dispose();
}
