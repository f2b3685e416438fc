/**
 * What `prep` takes from the learned template stage: with a template mesh, the per-pixel skinning weights of the
 * canonical maps come from the diffused weight volume (trilinear at each pixel's canonical position), as the
 * reference does, when `cano_weight_volume.npz` sits beside the capture; without it prep keeps its nearest-vertex
 * transfer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CanonicalMaps } from '../maps.js';
import { CANO_WEIGHT_VOLUME_FILE, readWeightVolume } from './volume-file.js';
import { sampleWeights, type WeightVolume } from './weight-volume.js';

/** Where a capture's weight volume sits, when it has one. */
export function captureWeightVolumePath(dataDir: string): string | null {
  const path = join(dataDir, CANO_WEIGHT_VOLUME_FILE);
  return existsSync(path) ? path : null;
}

/** The capture's weight volume (`<dataDir>/cano_weight_volume.npz`), or null when there is none. */
export function captureWeightVolume(dataDir: string): WeightVolume | null {
  const path = captureWeightVolumePath(dataDir);
  return path ? readWeightVolume(path) : null;
}

/**
 * Give the maps' pixels the volume's weights at their canonical positions (in place), replacing the mesh's when it
 * had some (maps drawn from a mesh without weights have none).
 */
export function applyVolumeWeights(maps: CanonicalMaps, vol: WeightVolume): void {
  const J = vol.joints;
  if (maps.numJoints !== J && maps.numJoints !== 0)
    throw new Error(`weight volume of ${J} joints for maps of ${maps.numJoints}`);
  const n = maps.pixels.length;
  const w = new Float64Array(J);
  const out = new Float32Array(n * J);
  for (let i = 0; i < n; i++) {
    const o = maps.pixels[i]! * 3;
    sampleWeights(vol, maps.position[o]!, maps.position[o + 1]!, maps.position[o + 2]!, w);
    for (let j = 0; j < J; j++) out[i * J + j] = w[j]!;
  }
  maps.weights = out;
  maps.numJoints = J;
}
