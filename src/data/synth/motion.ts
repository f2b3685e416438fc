/**
 * Procedural SMPL-X motions for the synthetic subject (Y up, facing +z, 30 fps): a walk, arm swings and a squat
 * cross-faded into one training sequence, and a held-out dance (jumping jacks, twists, kicks, arms overhead) for
 * testing animation. Deterministic from the seed.
 */
import type { SmplxParams } from '../../body/forward.js';
import { rodrigues } from '../../body/rotation.js';
import { seededRandom } from '../../tensor/rng.js';
import { matrixToAxisAngle } from '../camera.js';

export const FPS = 30;

/** The synthetic subject's seeded generator (the project's one). */
export const rng = seededRandom;

// body_pose index of joint j is j − 1
const L_HIP = 1,
  R_HIP = 2,
  SPINE1 = 3,
  L_KNEE = 4,
  R_KNEE = 5,
  SPINE2 = 6,
  L_ANKLE = 7,
  R_ANKLE = 8,
  SPINE3 = 9,
  NECK = 12,
  HEAD = 15,
  L_SHOULDER = 16,
  R_SHOULDER = 17,
  L_ELBOW = 18,
  R_ELBOW = 19;

type Mat3 = Float64Array;
const mul3 = (a: Mat3, b: Mat3): Mat3 => {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) o[3 * i + j] += a[3 * i + k]! * b[3 * k + j]!;
  return o;
};
const rx = (a: number) => rodrigues(a, 0, 0);
const ry = (a: number) => rodrigues(0, a, 0);
const rz = (a: number) => rodrigues(0, 0, a);

/** A pose under construction: joint rotations as matrices, composed, then written as axis-angle. */
class Pose {
  readonly rot = new Map<number, Mat3>();
  globalYaw = 0;
  transl: [number, number, number] = [0, 0, 0];
  /** Pre-multiply joint j's rotation by r. */
  apply(j: number, r: Mat3): void {
    const cur = this.rot.get(j);
    this.rot.set(j, cur ? mul3(r, cur) : r);
  }
  /**
   * Arm: lower by `down` (rad, 0 = T-pose, π/2 = hanging), swing forward by `fwd` (rad), bend the elbow by `bend`
   * (rad, forearm towards the front).
   */
  arm(side: 1 | -1, down: number, fwd: number, bend: number): void {
    this.apply(side > 0 ? L_SHOULDER : R_SHOULDER, mul3(rx(-fwd), rz(-side * down)));
    this.apply(side > 0 ? L_ELBOW : R_ELBOW, ry(-side * bend));
  }
  /** Leg: flex the hip forward by `flex`, spread it out by `spread`, bend the knee by `knee`; the foot stays level. */
  leg(side: 1 | -1, flex: number, spread: number, knee: number): void {
    this.apply(side > 0 ? L_HIP : R_HIP, mul3(rz(side * spread), rx(-flex)));
    this.apply(side > 0 ? L_KNEE : R_KNEE, rx(knee));
    this.apply(side > 0 ? L_ANKLE : R_ANKLE, rx(flex - knee));
  }
  params(): SmplxParams {
    const body = new Float64Array(63);
    for (const [j, m] of this.rot) {
      const aa = matrixToAxisAngle(m);
      body.set(aa, (j - 1) * 3);
    }
    return {
      bodyPose: body,
      globalOrient: Float64Array.of(0, this.globalYaw, 0),
      transl: Float64Array.from(this.transl),
    };
  }
}

const THIGH = 0.38,
  SHIN = 0.4;
const smooth = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

export interface MotionStyle {
  walkPeriod: number;
  stride: number;
  armAmp: number;
  squatDepth: number;
  phase: number;
  turn: number;
}

export function motionStyle(seed: number): MotionStyle {
  const r = rng(seed * 7919 + 17);
  return {
    walkPeriod: 1.0 + 0.2 * r(),
    stride: 0.38 + 0.12 * r(),
    armAmp: 0.8 + 0.4 * r(),
    squatDepth: 0.7 + 0.3 * r(),
    phase: 2 * Math.PI * r(),
    turn: 0.4 + 0.4 * r(),
  };
}

/** The training sequence: walk → arm swings → squat → walk ..., cross-faded, with a slow turn in place. */
export function trainingMotion(frames: number, seed = 1): SmplxParams[] {
  const st = motionStyle(seed);
  const out: SmplxParams[] = [];
  // three segments per cycle; at least ~1.5 s each so every motion appears even in short sequences
  const segLen = Math.max(6, Math.round(frames / 3));
  for (let f = 0; f < frames; f++) {
    const t = f / FPS;
    const seg = f / segLen;
    const k = Math.floor(seg) % 3;
    const u = seg - Math.floor(seg);
    // cross-fade weight of the next segment over the last 25% of each
    const fade = smooth((u - 0.75) / 0.25);
    const w = [0, 0, 0];
    w[k] = 1 - fade;
    w[(k + 1) % 3] = fade;
    const p = new Pose();
    const ph = (2 * Math.PI * t) / st.walkPeriod + st.phase;
    // walk
    const ww = w[0]!;
    if (ww > 0) {
      for (const side of [1, -1] as const) {
        const s = Math.sin(ph + (side > 0 ? 0 : Math.PI));
        p.leg(
          side,
          ww * st.stride * s,
          0,
          ww * (0.15 + 0.55 * Math.max(0, Math.sin(ph + (side > 0 ? 0 : Math.PI) + 1.4))),
        );
        p.arm(side, ww * 1.25, -ww * 0.45 * s, ww * (0.25 + 0.2 * Math.max(0, -s)));
      }
      p.apply(SPINE2, ry(ww * 0.12 * Math.sin(ph)));
    }
    // arm swings: raise/lower and cross in front, elbows folding
    const wa = w[1]!;
    if (wa > 0) {
      const a = (2 * Math.PI * t) / 1.6 + st.phase;
      for (const side of [1, -1] as const) {
        const sa = Math.sin(a + (side > 0 ? 0 : 0.9));
        p.arm(
          side,
          wa * (0.6 + st.armAmp * 0.6 * sa),
          wa * (0.5 + 0.5 * Math.cos(a)),
          wa * (0.9 + 0.8 * Math.sin(2 * a + side)),
        );
      }
      p.apply(SPINE3, rz(wa * 0.1 * Math.sin(a)));
      p.apply(HEAD, ry(wa * 0.3 * Math.sin(a * 0.5)));
    }
    // squat: hips and knees bend together, torso leans forward, pelvis drops so the feet stay on the floor
    const wq = w[2]!;
    let drop = 0;
    if (wq > 0) {
      const q = wq * st.squatDepth * 0.5 * (1 - Math.cos((2 * Math.PI * t) / 2.2));
      for (const side of [1, -1] as const) p.leg(side, q, 0.12 * wq, 2 * q);
      p.apply(SPINE1, rx(0.35 * q));
      for (const side of [1, -1] as const) p.arm(side, wq * 1.0, wq * (0.3 + 0.9 * q), wq * 0.4);
      drop = (THIGH + SHIN) * (1 - Math.cos(q));
    }
    p.apply(NECK, rx(0.05 * Math.sin(t * 1.3)));
    p.globalYaw = st.turn * Math.sin((2 * Math.PI * t) / (frames / FPS + 4));
    p.transl = [0.15 * ww * Math.sin(ph / 2), -drop, 0];
    out.push(p.params());
  }
  return out;
}

/** The held-out motion: jumping jacks, a torso twist, kicks and arms overhead, none of which the training shows. */
export function heldOutMotion(frames: number, seed = 1): SmplxParams[] {
  const st = motionStyle(seed + 1000);
  const out: SmplxParams[] = [];
  for (let f = 0; f < frames; f++) {
    const t = f / FPS;
    const p = new Pose();
    const a = (2 * Math.PI * t) / 1.3 + st.phase;
    const jack = 0.5 * (1 - Math.cos(a)); // 0..1
    for (const side of [1, -1] as const) {
      p.leg(side, side > 0 ? 0.5 * Math.max(0, Math.sin(a * 0.5)) : 0.1, 0.35 * jack, 0.2 + 0.3 * jack);
      p.arm(side, -0.9 * jack + 0.9 * (1 - jack), 0.2 * Math.sin(a * 0.5), 0.3 + 1.2 * (1 - jack));
    }
    p.apply(SPINE2, ry(0.45 * Math.sin(a * 0.5)));
    p.apply(SPINE3, rx(-0.15 * jack));
    p.apply(HEAD, rx(0.2 * Math.sin(a)));
    p.globalYaw = 0.6 * Math.sin(t * 0.7);
    p.transl = [0, 0.06 * Math.sin(a), 0];
    out.push(p.params());
  }
  return out;
}
