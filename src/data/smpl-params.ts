/**
 * `smpl_params.npz`, the per-frame SMPL-X fits of a capture: betas (1 or N x 10),
 * global_orient, transl, body_pose (N x 63), jaw_pose, expression, left/right_hand_pose (N x 45, full axis-angle).
 * Everything is read as float32 (as the reference casts) and handed out per frame as SmplxParams.
 */
import type { SmplxParams } from '../body/forward.js';
import { FormatError, InputError } from '../io/errors.js';
import { checkRange } from '../io/finite.js';
import { ndarray, toFloat64, type NdArray } from '../io/npy.js';
import { decodeNpz, type NpzFile } from '../io/npz.js';
import { readNpz, writeNpz } from '../io/node/npz.js';

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
      throw new InputError(`${this.source}: frame ${i} is out of range (the file holds frames 0..${this.length - 1})`);
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

/**
 * Read and check a smpl_params.npz: body_pose must be (N, 63) with N ≥ 1, every other per-frame array (N, size)
 * (a (N, 1, 3) global_orient is accepted as (N, 3)), betas (B), (1, B) or (N, B), every value finite. Problems are
 * FormatErrors naming the file, the array and what was expected, found here rather than after the expensive work.
 */
export function readSmplParams(path: string): SmplParamSequence {
  return smplParamsFrom(readNpz(path), path);
}

export function decodeSmplParams(bytes: Uint8Array, source: string): SmplParamSequence {
  return smplParamsFrom(decodeNpz(bytes, source), source);
}

function smplParamsFrom(npz: NpzFile, path: string): SmplParamSequence {
  const bad = (why: string): never => {
    throw new FormatError(path, why);
  };
  const numeric = (key: string): NdArray | undefined => {
    const a = npz.opt(key);
    if (a && (a.dtype === 'U' || a.dtype === 'S')) bad(`'${key}' holds strings, not numbers`);
    return a;
  };
  const body = numeric('body_pose');
  if (!body)
    return bad(`no 'body_pose' array: not a smpl_params file (it holds: ${npz.names.join(', ') || 'nothing'})`);
  const N = body.shape[0] ?? 0;
  if (body.shape.length < 2 || N === 0) {
    bad(`'body_pose' has shape [${body.shape}]: it must be (frames, 63) with at least one frame`);
  }
  const arrays = new Map<keyof SmplxParams, { size: number; data: Float32Array }>();
  for (const spec of PER_FRAME) {
    const a = numeric(spec.key);
    if (!a) {
      if (spec.required) bad(`no '${spec.key}'`);
      continue;
    }
    const size = a.shape.slice(1).reduce((x, y) => x * y, 1);
    const widthOk = spec.key === 'expression' ? size >= 1 && size <= 400 : size === spec.size;
    if (a.shape[0] !== N || a.shape.length < 2 || !widthOk) {
      const want = spec.key === 'expression' ? `(${N}, 1..400)` : `(${N}, ${spec.size})`;
      bad(
        `'${spec.key}' has shape [${a.shape}], expected ${want}${spec.key === 'body_pose' ? '' : ' (as many frames as body_pose)'}`,
      );
    }
    const data = asF32(a);
    // plausibility: rotations in radians, translations in metres, expression coefficients of unit scale
    checkRange(data, path, spec.key, spec.key === 'transl' ? 1e4 : 1e3, '', a.shape);
    arrays.set(spec.field, { size, data });
  }
  const b = numeric('betas');
  let betas = new Float32Array(10);
  if (b) {
    const B = b.shape.length === 0 ? 0 : b.shape[b.shape.length - 1]!;
    const rowsOk = b.shape.length === 1 || (b.shape.length === 2 && (b.shape[0] === 1 || b.shape[0] === N));
    if (!rowsOk || B < 1 || B > 400) bad(`'betas' has shape [${b.shape}], expected (B), (1, B) or (${N}, B)`);
    betas = asF32(b).slice(0, B);
    checkRange(betas, path, 'betas', 1e3);
  }
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
