/**
 * The reference's canonical pose and the canonical -> live joint transforms.
 * Canonical: zero global orientation and translation, zero body pose except the hips spread (left hip z = +25 deg,
 * right hip z = -25 deg), flat hands, and the frame's own betas, jaw pose and expression.
 */
import { smplxForward, type ForwardOptions, type SmplxOutput, type SmplxParams } from './forward.js';
import type { SmplxModel } from './model.js';
import { invert4, mul4 } from './rotation.js';

export const CANONICAL_HIP_ANGLE = (25 * Math.PI) / 180;

/** body_pose (63) of the canonical pose: joint 1 (left hip) z = +25 deg, joint 2 (right hip) z = -25 deg. */
export function canonicalBodyPose(): Float64Array {
  const body = new Float64Array(63);
  body[0 * 3 + 2] = CANONICAL_HIP_ANGLE; // body_pose index 0 = joint 1 = left_hip
  body[1 * 3 + 2] = -CANONICAL_HIP_ANGLE; // body_pose index 1 = joint 2 = right_hip
  return body;
}

/** The parameters of the canonical evaluation for a frame (its betas, jaw and expression; nothing else). */
export function canonicalParams(frame: SmplxParams): SmplxParams {
  const p: SmplxParams = { bodyPose: canonicalBodyPose() };
  if (frame.betas) p.betas = frame.betas;
  if (frame.jawPose) p.jawPose = frame.jawPose;
  if (frame.expression) p.expression = frame.expression;
  return p;
}

/** The "live woRoot" evaluation: body, jaw and expression only (no global orient, no transl, no hands, no eyes). */
export function woRootParams(frame: SmplxParams): SmplxParams {
  const p: SmplxParams = {};
  if (frame.betas) p.betas = frame.betas;
  if (frame.bodyPose) p.bodyPose = frame.bodyPose;
  if (frame.jawPose) p.jawPose = frame.jawPose;
  if (frame.expression) p.expression = frame.expression;
  return p;
}

/** out_j = a_j . b_j^-1 for J stacked 4x4 matrices. */
export function relativeTransforms(a: Float64Array, b: Float64Array): Float64Array {
  const J = a.length / 16;
  const out = new Float64Array(J * 16);
  const inv = new Float64Array(16);
  for (let j = 0; j < J; j++) {
    invert4(b, j * 16, inv, 0);
    mul4(a, j * 16, inv, 0, out, j * 16);
  }
  return out;
}

export interface CanoToLive {
  /** A_live . A_cano^-1 (J*16): skins canonical points to the posed frame (with root and translation). */
  jointMats: Float64Array;
  /** A_live_woRoot . A_cano^-1 (J*16): for the pose map. */
  jointMatsWoRoot: Float64Array;
  cano: SmplxOutput;
  live: SmplxOutput;
  liveWoRoot: SmplxOutput;
}

/**
 * The three SMPL-X evaluations of a training/animation frame and the cano -> live joint matrices.
 * `vertices: true` also returns the canonical and live meshes (for bounds); joints-only is much cheaper.
 */
export function canoToLive(model: SmplxModel, frame: SmplxParams, options: ForwardOptions = {}): CanoToLive {
  const opts: ForwardOptions = { vertices: false, ...options };
  const cano = smplxForward(model, canonicalParams(frame), opts);
  const live = smplxForward(model, frame, opts);
  const liveWoRoot = smplxForward(model, woRootParams(frame), opts);
  return {
    jointMats: relativeTransforms(live.A, cano.A),
    jointMatsWoRoot: relativeTransforms(liveWoRoot.A, cano.A),
    cano,
    live,
    liveWoRoot,
  };
}

/** The body joints (pelvis and body_pose's 21) that distanceFromCanonical compares. */
const BODY_JOINTS = 22;

/**
 * How far a frame's body is from the canonical pose: the mean distance (m) of its body joints from their canonical
 * places, both taken relative to the pelvis and without the global orientation (the woRoot evaluation). Joints only
 * (cheap: a long capture's frames take about a millisecond each).
 */
export function distanceFromCanonical(model: SmplxModel, frame: SmplxParams): number {
  const cano = smplxForward(model, canonicalParams(frame), { vertices: false }).joints;
  const live = smplxForward(model, woRootParams(frame), { vertices: false }).joints;
  const J = Math.min(BODY_JOINTS, model.numJoints);
  let sum = 0;
  for (let j = 0; j < J; j++) {
    let d2 = 0;
    for (let k = 0; k < 3; k++) {
      const d = live[3 * j + k]! - live[k]! - (cano[3 * j + k]! - cano[k]!);
      d2 += d * d;
    }
    sum += Math.sqrt(d2);
  }
  return sum / J;
}
