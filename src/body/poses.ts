/**
 * Driving pose sequences, recognised by their content (array names), not their path:
 *  - smpl_params .npz (THuman4.0 / AvatarReX / ActorsHQ / our captures): betas (1 or N, 10), global_orient (N,3),
 *    transl (N,3), body_pose (N,63), optional jaw_pose (N,3), expression (N,10), left/right_hand_pose (N,45);
 *  - AMASS .npz: poses (N,156) SMPL-H [root 3 | body 63 | left hand 45 | right hand 45] or (N,165) SMPL-X
 *    [root | body | jaw | eyes | hands], trans (N,3); betas come from the training subject. Fix-ups as the
 *    reference: collars (body_pose joints 12/13: left/right collar) z += / -= 0.3, wrists (19, 20) zeroed, head
 *    pitch (joint 14 x) zeroed;
 *  - AIST++ .pkl: smpl_poses (N,72) SMPL [root | 21 body joints | 2 SMPL hand joints (ignored)], smpl_trans (N,3)
 *    scaled by 1e-3.
 * Hands: hand_pose_type 'ori' uses the file's hand poses where it has them and the fist otherwise; 'fist',
 * 'normal' and 'zero' replace them.
 */
import { FormatError, InputError } from '../io/errors.js';
import { checkFinite, checkRange } from '../io/finite.js';
import { toFloat64, type NdArray } from '../io/npy.js';
import { decodeNpz, looksLikeZip } from '../io/npz.js';
import { isNdArray, looksLikePickle, unpickle, type PyDict } from '../io/pickle.js';
import type { SmplxParams } from './forward.js';
import { handPose, type HandPoseType } from './hands.js';

export type PoseFormat = 'smpl_params' | 'amass' | 'aistpp';
/** [start, end) or [start, end, step], as Python's range; a list of them is concatenated. */
export type FrameRange = [number, number] | [number, number, number];

export interface PoseReadOptions {
  frameRange?: FrameRange | FrameRange[];
  /** Step between frames when the range gives none (the reference's frame_interval; AMASS configs use 4). */
  frameInterval?: number;
  handPoseType?: HandPoseType;
  /**
   * The shape to use: an avatar is animated with its training subject's betas. Overrides the file's betas
   * (smpl_params); AMASS and AIST++ files carry none, so without this their betas are zero.
   */
  betas?: ArrayLike<number>;
  /** Apply the reference's AMASS fix-ups (default true). */
  amassFixups?: boolean;
}

export interface PoseSequence {
  format: PoseFormat;
  source: string;
  numFrames: number;
  /** Index in the file of each frame kept. */
  frameIndices: number[];
  /** (10) shared by all frames. */
  betas: Float64Array;
  globalOrient: Float64Array; // N*3
  transl: Float64Array; // N*3
  bodyPose: Float64Array; // N*63
  jawPose: Float64Array; // N*3
  expression: Float64Array; // N*10
  leftHandPose: Float64Array; // N*45
  rightHandPose: Float64Array; // N*45
}

/** Frame i of a sequence as SMPL-X parameters (views, no copies). */
export function frameParams(seq: PoseSequence, i: number): SmplxParams {
  if (!(i >= 0 && i < seq.numFrames))
    throw new InputError(`${seq.source}: frame ${i} is out of range (0..${seq.numFrames - 1})`);
  const sl = (a: Float64Array, n: number): Float64Array => a.subarray(i * n, (i + 1) * n);
  return {
    betas: seq.betas,
    globalOrient: sl(seq.globalOrient, 3),
    transl: sl(seq.transl, 3),
    bodyPose: sl(seq.bodyPose, 63),
    jawPose: sl(seq.jawPose, 3),
    expression: sl(seq.expression, 10),
    leftHandPose: sl(seq.leftHandPose, 45),
    rightHandPose: sl(seq.rightHandPose, 45),
  };
}

/** The file frame indices selected by a range (list) and interval, clipped to the frames present. */
export function selectFrames(total: number, range: FrameRange | FrameRange[] | undefined, interval = 1): number[] {
  if (!(Number.isInteger(interval) && interval >= 1))
    throw new InputError(`frame interval must be a positive integer, got ${interval}`);
  const ranges: FrameRange[] =
    range === undefined ? [[0, total]] : Array.isArray(range[0]) ? (range as FrameRange[]) : [range as FrameRange];
  const out: number[] = [];
  for (const r of ranges) {
    const [a, b, step = interval] = r;
    if (!(step >= 1)) throw new InputError(`frame range [${r}] has a step below 1`);
    for (let i = Math.max(0, a); i < Math.min(b, total); i += step) out.push(i);
  }
  return out;
}

/** Columns [c0, c0+n) of the selected rows of a (N, C) table. */
function columns(table: Float64Array, C: number, rows: number[], c0: number, n: number): Float64Array {
  const out = new Float64Array(rows.length * n);
  rows.forEach((r, i) => {
    for (let k = 0; k < n; k++) out[i * n + k] = table[r * C + c0 + k]!;
  });
  return out;
}

interface Table {
  data: Float64Array;
  rows: number;
  cols: number;
}

type Getter = (key: string) => unknown;

export function decodePoseSequence(bytes: Uint8Array, source: string, options: PoseReadOptions = {}): PoseSequence {
  let get: Getter;
  let keys: string[];
  if (looksLikeZip(bytes)) {
    const z = decodeNpz(bytes, source);
    get = (k) => z.opt(k);
    keys = z.names;
  } else if (looksLikePickle(bytes)) {
    const d = unpickle(bytes, { source });
    if (typeof d !== 'object' || d === null || Array.isArray(d))
      throw new FormatError(source, `not a pose file: the pickle holds no dict`);
    get = (k) => (d as PyDict)[k];
    keys = Object.keys(d);
  } else {
    throw new FormatError(source, `not a pose file (neither .npz nor .pkl content)`);
  }
  const table = (key: string, cols: number[] | null, required: boolean): Table | undefined => {
    const a = get(key);
    if (a === undefined) {
      if (required) throw new FormatError(source, `missing '${key}'`);
      return undefined;
    }
    if (!isNdArray(a) || a.dtype === 'U' || a.dtype === 'S')
      throw new FormatError(source, `'${key}' is not a numeric array`);
    const arr = a as NdArray;
    if (arr.shape.length === 0) throw new FormatError(source, `'${key}' is a scalar, expected an array`);
    const rows = arr.shape.length === 1 ? 1 : arr.shape[0]!;
    const c = arr.shape.length === 1 ? arr.shape[0]! : arr.shape.slice(1).reduce((x, y) => x * y, 1);
    if (cols && !cols.includes(c))
      throw new FormatError(source, `'${key}' has shape (${arr.shape}); expected (N, ${cols.join(' or ')})`);
    const data = toFloat64(arr);
    checkFinite(data, source, key, arr.shape); // pickled arrays (AIST++) are not checked by the npz reader
    return { data, rows, cols: c };
  };

  let format: PoseFormat;
  if (keys.includes('body_pose') && keys.includes('global_orient')) format = 'smpl_params';
  else if (keys.includes('poses') && keys.includes('trans')) format = 'amass';
  else if (keys.includes('smpl_poses')) format = 'aistpp';
  else {
    throw new FormatError(
      source,
      `not a recognised pose sequence (found: ${keys.join(', ') || 'nothing'}). Expected smpl_params ` +
        `arrays (global_orient, body_pose, transl, ...), AMASS arrays (poses, trans) or an AIST++ pickle (smpl_poses, smpl_trans)`,
    );
  }

  const main =
    format === 'smpl_params'
      ? table('body_pose', [63], true)!
      : format === 'amass'
        ? table('poses', [156, 165], true)!
        : table('smpl_poses', [72], true)!;
  const N = main.rows;
  if (N === 0) throw new FormatError(source, 'the file holds no frames');
  const rows = selectFrames(N, options.frameRange, options.frameInterval);
  const n = rows.length;
  if (n === 0) throw new InputError(`${source}: the frame range selects no frames (the file has ${N})`);
  const check = (t: Table | undefined, key: string): Table | undefined => {
    if (t && t.rows !== N) throw new FormatError(source, `'${key}' has ${t.rows} frames but the poses have ${N}`);
    return t;
  };

  const seq: PoseSequence = {
    format,
    source,
    numFrames: n,
    frameIndices: rows,
    betas: new Float64Array(10),
    globalOrient: new Float64Array(n * 3),
    transl: new Float64Array(n * 3),
    bodyPose: new Float64Array(n * 63),
    jawPose: new Float64Array(n * 3),
    expression: new Float64Array(n * 10),
    leftHandPose: new Float64Array(n * 45),
    rightHandPose: new Float64Array(n * 45),
  };
  let hands = false;

  if (format === 'smpl_params') {
    seq.bodyPose = columns(main.data, 63, rows, 0, 63);
    seq.globalOrient = columns(check(table('global_orient', [3], true), 'global_orient')!.data, 3, rows, 0, 3);
    const transl = check(table('transl', [3], false), 'transl');
    if (transl) seq.transl = columns(transl.data, 3, rows, 0, 3);
    const betas = table('betas', null, false);
    if (betas) for (let k = 0; k < Math.min(10, betas.cols); k++) seq.betas[k] = betas.data[k]!; // row 0 for all frames
    const jaw = check(table('jaw_pose', [3], false), 'jaw_pose');
    if (jaw) seq.jawPose = columns(jaw.data, 3, rows, 0, 3);
    const expr = check(table('expression', null, false), 'expression');
    if (expr) seq.expression = columns(expr.data, expr.cols, rows, 0, Math.min(10, expr.cols));
    if (expr && expr.cols < 10) seq.expression = padColumns(seq.expression, expr.cols, 10);
    const lh = check(table('left_hand_pose', [45], false), 'left_hand_pose');
    const rh = check(table('right_hand_pose', [45], false), 'right_hand_pose');
    if (lh && rh) {
      seq.leftHandPose = columns(lh.data, 45, rows, 0, 45);
      seq.rightHandPose = columns(rh.data, 45, rows, 0, 45);
      hands = true;
    }
  } else if (format === 'amass') {
    const C = main.cols;
    seq.globalOrient = columns(main.data, C, rows, 0, 3);
    seq.bodyPose = columns(main.data, C, rows, 3, 63);
    const handStart = C === 165 ? 75 : 66;
    if (C === 165) seq.jawPose = columns(main.data, C, rows, 66, 3);
    seq.leftHandPose = columns(main.data, C, rows, handStart, 45);
    seq.rightHandPose = columns(main.data, C, rows, handStart + 45, 45);
    hands = true;
    seq.transl = columns(check(table('trans', [3], true), 'trans')!.data, 3, rows, 0, 3);
    if (options.amassFixups !== false) {
      for (let i = 0; i < n; i++) {
        const b = i * 63;
        seq.bodyPose[b + 12 * 3 + 2] += 0.3; // left collar z
        seq.bodyPose[b + 13 * 3 + 2] -= 0.3; // right collar z
        seq.bodyPose.fill(0, b + 19 * 3, b + 21 * 3); // both wrists
        seq.bodyPose[b + 14 * 3] = 0; // head pitch
      }
    }
  } else {
    seq.globalOrient = columns(main.data, 72, rows, 0, 3);
    seq.bodyPose = columns(main.data, 72, rows, 3, 63); // SMPL joints 1..21 = SMPL-X body joints; 22, 23 (hands) dropped
    const trans = check(table('smpl_trans', [3], true), 'smpl_trans')!;
    seq.transl = columns(trans.data, 3, rows, 0, 3).map((x) => x * 1e-3);
  }

  // plausibility: rotations in radians, translations in metres, shape and expression coefficients of unit scale
  checkRange(seq.globalOrient, source, 'global orientation', 1e3, ' rad');
  checkRange(seq.bodyPose, source, 'body pose', 1e3, ' rad');
  checkRange(seq.jawPose, source, 'jaw pose', 1e3, ' rad');
  checkRange(seq.leftHandPose, source, 'left hand pose', 1e3, ' rad');
  checkRange(seq.rightHandPose, source, 'right hand pose', 1e3, ' rad');
  checkRange(seq.transl, source, 'translation', 1e4, ' m');
  checkRange(seq.betas, source, 'betas', 1e3);
  checkRange(seq.expression, source, 'expression', 1e3);
  if (options.betas) {
    seq.betas.fill(0);
    for (let k = 0; k < Math.min(10, options.betas.length); k++) seq.betas[k] = options.betas[k]!;
  }
  const type = options.handPoseType ?? 'ori';
  if (type !== 'ori' || !hands) {
    const h = handPose(type === 'ori' ? 'fist' : type);
    for (let i = 0; i < n; i++) {
      seq.leftHandPose.set(h.left, i * 45);
      seq.rightHandPose.set(h.right, i * 45);
    }
  }
  return seq;
}

function padColumns(a: Float64Array, from: number, to: number): Float64Array {
  const rows = a.length / from;
  const out = new Float64Array(rows * to);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * from, (r + 1) * from), r * to);
  return out;
}
