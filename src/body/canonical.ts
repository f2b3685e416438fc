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
