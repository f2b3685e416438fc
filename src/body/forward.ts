/**
 * SMPL-X forward pass (float64, CPU), the math of the published model:
 *   v_shaped = v_template + shapedirs . betas + exprdirs . expression
 *   J        = J_regressor . v_shaped                      (precomputed per component, so joints cost O(J))
 *   R_j      = Rodrigues(pose_j) for all 55 joints
 *   v_posed  = v_shaped + posedirs . vec(R_j - I for j = 1..54)
 *   G_j      = G_parent(j) . [R_j | J_j - J_parent(j)]     (kinematic chain)
 *   A_j      = G_j . [I | -J_j]                            (moves rest-pose points into the posed pose)
 *   v        = sum_j w_vj A_j v_posed
 * then transl is added to vertices, joints and A (as the reference's modified smplx returns A).
 * Full pose order: global_orient, body_pose (21 joints), jaw, left eye, right eye, left hand (15), right hand (15).
 */
import {
  JAW,
  LEFT_EYE,
  LEFT_HAND_START,
  NUM_BODY_JOINTS,
  NUM_HAND_JOINTS,
  RIGHT_EYE,
  RIGHT_HAND_START,
} from './joints.js';
import { lbsPoints } from './lbs.js';
import type { SmplxModel } from './model.js';
import { rodrigues } from './rotation.js';

/** One frame's parameters; any field left out is zero. Hand poses are full 45-D axis-angle (no PCA). */
export interface SmplxParams {
  betas?: ArrayLike<number>;
  expression?: ArrayLike<number>;
  globalOrient?: ArrayLike<number>;
  transl?: ArrayLike<number>;
  /** 63 = 21 joints x 3 (joints 1..21: body_pose index = joint - 1). */
  bodyPose?: ArrayLike<number>;
  jawPose?: ArrayLike<number>;
  leyePose?: ArrayLike<number>;
  reyePose?: ArrayLike<number>;
  leftHandPose?: ArrayLike<number>;
  rightHandPose?: ArrayLike<number>;
}

export interface ForwardOptions {
  /** Compute vertices (default true); joints and A alone are much cheaper. */
  vertices?: boolean;
  /** Apply pose blend shapes (default true). */
  poseCorrectives?: boolean;
  /** Add the model's hand pose means (smplx flat_hand_mean = false). Default false, as the reference. */
  addHandMean?: boolean;
}

export interface SmplxOutput {
  /** (V*3) posed vertices, when asked for. */
  vertices?: Float64Array;
  /** (55*3) posed joint positions. */
  joints: Float64Array;
  /** (55*16) row-major 4x4 world transforms of the joints (rest-pose point -> posed point). */
  A: Float64Array;
  /** (55*3) rest joints of this shape. */
  restJoints: Float64Array;
}

function put(dst: Float64Array, at: number, src: ArrayLike<number> | undefined, n: number, what: string): void {
  if (!src) return;
  if (src.length < n) throw new Error(`SMPL-X parameters: ${what} has ${src.length} values, expected ${n}`);
  for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
}

/** The (55*3) axis-angle full pose. */
export function fullPose(p: SmplxParams, model?: SmplxModel, addHandMean = false): Float64Array {
  const pose = new Float64Array(55 * 3);
  put(pose, 0, p.globalOrient, 3, 'global_orient');
  put(pose, 3, p.bodyPose, NUM_BODY_JOINTS * 3, 'body_pose');
  put(pose, JAW * 3, p.jawPose, 3, 'jaw_pose');
  put(pose, LEFT_EYE * 3, p.leyePose, 3, 'leye_pose');
  put(pose, RIGHT_EYE * 3, p.reyePose, 3, 'reye_pose');
  put(pose, LEFT_HAND_START * 3, p.leftHandPose, NUM_HAND_JOINTS * 3, 'left_hand_pose');
  put(pose, RIGHT_HAND_START * 3, p.rightHandPose, NUM_HAND_JOINTS * 3, 'right_hand_pose');
  if (addHandMean && model) {
    for (let i = 0; i < 45; i++) {
      pose[LEFT_HAND_START * 3 + i] += model.handsMeanLeft?.[i] ?? 0;
      pose[RIGHT_HAND_START * 3 + i] += model.handsMeanRight?.[i] ?? 0;
    }
  }
  return pose;
}

/** Rest joints (J*3) of a shape: J_regressor . v_shaped, from the precomputed regressed components. */
export function restJoints(model: SmplxModel, betas?: ArrayLike<number>, expression?: ArrayLike<number>): Float64Array {
  const J = model.numJoints;
  const out = model.jTemplate.slice();
  const nb = Math.min(model.numBetas, betas?.length ?? 0);
  const ne = Math.min(model.numExpression, expression?.length ?? 0);
  for (let i = 0; i < J * 3; i++) {
    let s = out[i]!;
    for (let k = 0; k < nb; k++) s += model.jShapedirs[i * model.numBetas + k]! * betas![k]!;
    for (let k = 0; k < ne; k++) s += model.jExprdirs[i * model.numExpression + k]! * expression![k]!;
    out[i] = s;
  }
  return out;
}

/**
 * The kinematic chain: from per-joint rotations (J*9) and rest joints (J*3) to A (J*16) and posed joints (J*3).
 * Exported for tests and for chains other than SMPL-X's (any parents array with parents[j] < j).
 */
export function kinematicChain(
  parents: ArrayLike<number>,
  rotations: Float64Array,
  rest: Float64Array,
  transl?: ArrayLike<number>,
): { A: Float64Array; joints: Float64Array } {
  const J = parents.length;
  const G = new Float64Array(J * 16);
  const local = new Float64Array(16);
  for (let j = 0; j < J; j++) {
    const p = parents[j]!;
    // local = [R_j | J_j - J_p]
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) local[4 * r + c] = rotations[j * 9 + 3 * r + c]!;
      local[4 * r + 3] = rest[j * 3 + r]! - (p >= 0 ? rest[p * 3 + r]! : 0);
    }
    local[12] = local[13] = local[14] = 0;
    local[15] = 1;
    if (p < 0) G.set(local, j * 16);
    else {
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 4; c++) {
          G[j * 16 + 4 * r + c] =
            G[p * 16 + 4 * r]! * local[c]! +
            G[p * 16 + 4 * r + 1]! * local[4 + c]! +
            G[p * 16 + 4 * r + 2]! * local[8 + c]! +
            (c === 3 ? G[p * 16 + 4 * r + 3]! : 0);
        }
      }
      G[j * 16 + 15] = 1;
    }
  }
  const joints = new Float64Array(J * 3);
  const A = G; // reuse: A_j = G_j [I | -J_j] changes only the translation column
  for (let j = 0; j < J; j++) {
    const o = j * 16;
    for (let r = 0; r < 3; r++) {
      joints[j * 3 + r] = G[o + 4 * r + 3]! + (transl?.[r] ?? 0);
      const rotJ =
        G[o + 4 * r]! * rest[j * 3]! + G[o + 4 * r + 1]! * rest[j * 3 + 1]! + G[o + 4 * r + 2]! * rest[j * 3 + 2]!;
      A[o + 4 * r + 3] = G[o + 4 * r + 3]! - rotJ + (transl?.[r] ?? 0);
    }
  }
  return { A, joints };
}

/** Shape + expression blend: v_template + shapedirs . betas + exprdirs . expression. */
export function shapedVertices(
  model: SmplxModel,
  betas?: ArrayLike<number>,
  expression?: ArrayLike<number>,
): Float64Array {
  const out = model.vTemplate.slice();
  const nb = Math.min(model.numBetas, betas?.length ?? 0);
  const ne = Math.min(model.numExpression, expression?.length ?? 0);
  for (let i = 0; i < out.length; i++) {
    let s = out[i]!;
    for (let k = 0; k < nb; k++) s += model.shapedirs[i * model.numBetas + k]! * betas![k]!;
    for (let k = 0; k < ne; k++) s += model.exprdirs[i * model.numExpression + k]! * expression![k]!;
    out[i] = s;
  }
  return out;
}

export function smplxForward(model: SmplxModel, params: SmplxParams, options: ForwardOptions = {}): SmplxOutput {
  const J = model.numJoints;
  const pose = fullPose(params, model, options.addHandMean);
  const rotations = new Float64Array(J * 9);
  for (let j = 0; j < J; j++) rodrigues(pose[j * 3]!, pose[j * 3 + 1]!, pose[j * 3 + 2]!, rotations, j * 9);
  const rest = restJoints(model, params.betas, params.expression);
  const transl = params.transl ? Array.from({ length: 3 }, (_, i) => params.transl![i] ?? 0) : undefined;
  const { A, joints } = kinematicChain(model.parents, rotations, rest, transl);
  const out: SmplxOutput = { joints, A, restJoints: rest };
  if (options.vertices === false) return out;

  const vPosed = shapedVertices(model, params.betas, params.expression);
  if (options.poseCorrectives !== false) {
    // only the nonzero features of (R - I): joints at rest contribute nothing, and most are at rest in most frames
    const P = (J - 1) * 9;
    const idx: number[] = [];
    const val: number[] = [];
    for (let j = 1; j < J; j++) {
      for (let e = 0; e < 9; e++) {
        const f = rotations[j * 9 + e]! - (e % 4 === 0 ? 1 : 0);
        if (f !== 0) (idx.push((j - 1) * 9 + e), val.push(f));
      }
    }
    if (idx.length) {
      const pd = model.posedirs;
      for (let i = 0; i < vPosed.length; i++) {
        let s = 0;
        for (let k = 0; k < idx.length; k++) s += val[k]! * pd[i * P + idx[k]!]!;
        vPosed[i] += s;
      }
    }
  }
  out.vertices = lbsPoints(vPosed, model.weights, A);
  return out;
}
