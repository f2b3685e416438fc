/**
 * `cano_weight_volume.npz`, the reference's file of the diffused weights:
 *   diff_weight_volume (R, R, R, J) float32 in C order, indexed [x, y, z, joint]; clipped to [0, 1], summing to 1
 *                      per voxel
 *   volume_bounds      (2, 3) the cube's [min, max] corners (samples at min + i·(max − min)/(R − 1))
 *   smpl_bounds        (2, 3) the canonical body's AABB
 *   center             (3)    the canonical body's AABB centre
 * A file that stores the weights joint-first, (J, R, R, R), is read too.
 */
import { readFileSync } from 'node:fs';
import { FormatError, InputError } from '../../io/errors.js';
import { ndarray, toFloat64, type NdArray } from '../../io/npy.js';
import { decodeNpz, encodeNpz } from '../../io/npz.js';
import { describeFsError, writeFileAtomic } from '../../io/node/atomic.js';
import type { WeightVolume } from './weight-volume.js';

export const CANO_WEIGHT_VOLUME_FILE = 'cano_weight_volume.npz';

export function weightVolumeArrays(vol: WeightVolume): Record<string, NdArray> {
  const R = vol.res;
  const pair = (b: Float64Array) => ndarray(Float32Array.from(b), [2, 3]);
  return {
    diff_weight_volume: ndarray(vol.weights, [R, R, R, vol.joints]),
    volume_bounds: pair(vol.bounds),
    smpl_bounds: pair(vol.bodyBounds),
    center: ndarray(Float32Array.from(vol.center), [3]),
  };
}

export function writeWeightVolume(path: string, vol: WeightVolume): void {
  writeFileAtomic(path, encodeNpz(weightVolumeArrays(vol)));
}

export function readWeightVolume(path: string): WeightVolume {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read the weight volume ${path}: ${describeFsError(e)}`);
  }
  const npz = decodeNpz(bytes, path);
  const a = npz.get(npz.has('diff_weight_volume') ? 'diff_weight_volume' : 'weight_volume');
  const bad = (why: string): never => {
    throw new FormatError(path, why);
  };
  if (a.shape.length !== 4) bad(`diff_weight_volume has shape [${a.shape}], expected (R, R, R, J)`);
  const src = a.data instanceof Float32Array ? a.data : Float32Array.from(toFloat64(a));
  let R: number, J: number, weights: Float32Array;
  const [s0, s1, s2, s3] = a.shape as [number, number, number, number];
  if (s0 === s1 && s1 === s2) {
    R = s0;
    J = s3;
    weights = src;
  } else if (s1 === s2 && s2 === s3) {
    // joint-first: transpose to [x, y, z, joint]
    R = s1;
    J = s0;
    const n = R * R * R;
    weights = new Float32Array(n * J);
    for (let j = 0; j < J; j++) for (let v = 0; v < n; v++) weights[v * J + j] = src[j * n + v]!;
  } else return bad(`diff_weight_volume has shape [${a.shape}], expected (R, R, R, J) or (J, R, R, R)`);
  if (R < 2) bad(`diff_weight_volume has ${R} samples per axis`);
  const bounds = toFloat64(npz.get('volume_bounds'));
  if (bounds.length !== 6) bad(`volume_bounds holds ${bounds.length} values, expected 2 x 3`);
  for (let k = 0; k < 3; k++) if (!(bounds[3 + k]! > bounds[k]!)) bad(`volume_bounds has max <= min on axis ${k}`);
  const center = npz.has('center')
    ? toFloat64(npz.get('center'))
    : Float64Array.from([0, 1, 2], (k) => (bounds[k]! + bounds[3 + k]!) / 2);
  const bodyBounds = npz.has('smpl_bounds') ? toFloat64(npz.get('smpl_bounds')) : bounds.slice();
  return { res: R, joints: J, weights, bounds, center, bodyBounds };
}
