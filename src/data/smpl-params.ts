/**
 * `smpl_params.npz`, the per-frame SMPL-X fits of a capture (reference-system.md §2.1): betas (1 or N x 10),
 * global_orient, transl, body_pose (N x 63), jaw_pose, expression, left/right_hand_pose (N x 45, full axis-angle).
 * Everything is read as float32 (as the reference casts) and handed out per frame as SmplxParams.
 */
import type { SmplxParams } from '../body/forward.js';
import { ndarray, toFloat64, type NdArray } from '../io/npy.js';
import { readNpz, writeNpz } from '../io/npz.js';

const PER_FRAME: { key: string; field: keyof SmplxParams; size: number; required: boolean }[] = [
  { key: 'global_orient', field: 'globalOrient', size: 3, required: false },
  { key: 'transl', field: 'transl', size: 3, required: false },
  { key: 'body_pose', field: 'bodyPose', size: 63, required: true },
  { key: 'jaw_pose', field: 'jawPose', size: 3, required: false },
  { key: 'expression', field: 'expression', size: 10, required: false },
  { key: 'left_hand_pose', field: 'leftHandPose', size: 45, required: false },
  { key: 'right_hand_pose', field: 'rightHandPose', size: 45, required: false },
];

export class SmplParamSequence {
  constructor(
    /** Frames stored. */
    readonly length: number,
    /** Row 0 of the file's betas (used for every frame). */
    readonly betas: Float32Array,
    /** Arrays by field, each (length x size), float32. */
    readonly arrays: Map<keyof SmplxParams, { size: number; data: Float32Array }>,
    readonly source: string,
  ) {}

  has(field: keyof SmplxParams): boolean {
    return this.arrays.has(field);
  }

  /** Frame i's parameters (views into the arrays). Throws naming the file when i is out of range. */
  frame(i: number): SmplxParams {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new Error(`${this.source}: frame ${i} is out of range (the file holds frames 0..${this.length - 1})`);
    }
    const p: SmplxParams = { betas: this.betas };
    for (const [field, a] of this.arrays) {
      (p as Record<string, ArrayLike<number>>)[field] = a.data.subarray(i * a.size, (i + 1) * a.size);
    }
    return p;
  }
}

function asF32(a: NdArray): Float32Array {
  return a.data instanceof Float32Array ? a.data : Float32Array.from(toFloat64(a));
}

export function readSmplParams(path: string): SmplParamSequence {
  const npz = readNpz(path);
  const body = npz.get('body_pose');
  const N = body.shape[0] ?? 0;
  const arrays = new Map<keyof SmplxParams, { size: number; data: Float32Array }>();
  for (const spec of PER_FRAME) {
    const a = npz.opt(spec.key);
    if (!a) {
      if (spec.required) throw new Error(`${path}: no '${spec.key}'`);
      continue;
    }
    const data = asF32(a);
    const size = data.length / N;
    if (!Number.isInteger(size) || size < Math.min(spec.size, 3) || a.shape[0] !== N) {
      throw new Error(`${path}: '${spec.key}' has shape [${a.shape}], expected [${N}, ${spec.size}]`);
    }
    arrays.set(spec.field, { size, data });
  }
  const b = npz.opt('betas');
  const betas = b
    ? asF32(b).slice(0, b.shape.length > 1 ? b.shape[b.shape.length - 1] : b.data.length)
    : new Float32Array(10);
  return new SmplParamSequence(N, betas, arrays, path);
}

/** Write frames as a smpl_params.npz (float32, the reference's keys; betas as 1 x B), atomically. */
export function writeSmplParams(path: string, frames: readonly SmplxParams[], betas: ArrayLike<number>): void {
  const N = frames.length;
  const arrays: Record<string, NdArray> = { betas: ndarray(Float32Array.from(betas), [1, betas.length]) };
  for (const spec of PER_FRAME) {
    const data = new Float32Array(N * spec.size);
    frames.forEach((f, i) => {
      const v = f[spec.field];
      if (v) for (let k = 0; k < spec.size; k++) data[i * spec.size + k] = v[k] ?? 0;
    });
    arrays[spec.key] = ndarray(data, [N, spec.size]);
  }
  writeNpz(path, arrays);
}
