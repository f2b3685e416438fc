/**
 * Rest joint positions of the synthetic body: an adult of about 1.72 m in the SMPL-X rest T-pose, Y up, facing +z,
 * metres, the subject's left on +x, placed like the SMPL-X template (pelvis near y = -0.36, soles at y = -1.30).
 * Hands are palm-down with fingers along +-x and thumbs forward. Also the bone segments used for skinning.
 */
import { NUM_JOINTS, SMPLX_PARENTS, jointIndex } from '../joints.js';
import { add, type Vec3 } from './vec.js';

export const FLOOR_Y = -1.3;

/** Per-finger layout relative to the wrist (left hand; the right hand mirrors x). */
export const FINGERS = {
  index: { base: [0.092, 0.004, 0.027] as Vec3, lengths: [0.036, 0.023, 0.021], radius: 0.0088 },
  middle: { base: [0.097, 0.004, 0.006] as Vec3, lengths: [0.041, 0.026, 0.022], radius: 0.0092 },
  pinky: { base: [0.082, -0.002, -0.034] as Vec3, lengths: [0.028, 0.019, 0.018], radius: 0.0074 },
  ring: { base: [0.092, 0.002, -0.014] as Vec3, lengths: [0.038, 0.025, 0.021], radius: 0.0086 },
} as const;
/** Thumb joints relative to the wrist (left), then its tip. */
export const THUMB: Vec3[] = [
  [0.026, -0.014, 0.024],
  [0.05, -0.019, 0.046],
  [0.075, -0.022, 0.062],
  [0.097, -0.024, 0.073],
];
export const THUMB_RADIUS = 0.0105;

const BODY: Record<string, Vec3> = {
  pelvis: [0, -0.36, 0.0],
  left_hip: [0.085, -0.44, -0.005],
  spine1: [0, -0.24, -0.012],
  left_knee: [0.1, -0.82, 0.0],
  spine2: [0, -0.11, -0.005],
  left_ankle: [0.088, -1.22, -0.035],
  spine3: [0, -0.05, 0.0],
  left_foot: [0.112, -1.275, 0.095],
  neck: [0, 0.17, -0.02],
  left_collar: [0.075, 0.085, -0.01],
  head: [0, 0.255, 0.0],
  left_shoulder: [0.175, 0.1, -0.025],
  left_elbow: [0.43, 0.09, -0.035],
  left_wrist: [0.68, 0.09, -0.03],
  jaw: [0, 0.235, 0.015],
  left_eye_smplhf: [0.032, 0.322, 0.078],
};

const mirror = (p: Vec3): Vec3 => [-p[0], p[1], p[2]];

/** (55) rest joint positions in SMPL-X order. */
export function restJointPositions(): Vec3[] {
  const out: Vec3[] = new Array(NUM_JOINTS);
  for (const [name, p] of Object.entries(BODY)) {
    out[jointIndex(name)] = p;
    if (name.startsWith('left_')) out[jointIndex(name.replace('left_', 'right_'))] = mirror(p);
  }
  for (const side of ['left', 'right'] as const) {
    const m = (p: Vec3): Vec3 => (side === 'left' ? p : mirror(p));
    const wrist = out[jointIndex(`${side}_wrist`)]!;
    for (const [finger, f] of Object.entries(FINGERS)) {
      let p = f.base as Vec3;
      for (let k = 0; k < 3; k++) {
        out[jointIndex(`${side}_${finger}${k + 1}`)] = add(wrist, m(p));
        p = add(p, [f.lengths[k]!, -0.002 * (k + 1), 0]);
      }
    }
    for (let k = 0; k < 3; k++) out[jointIndex(`${side}_thumb${k + 1}`)] = add(wrist, m(THUMB[k]!));
  }
  return out;
}

/** Finger tip (beyond joint 3) of a finger, in world rest coordinates. */
export function fingerTip(joints: Vec3[], side: 'left' | 'right', finger: keyof typeof FINGERS | 'thumb'): Vec3 {
  const sx = side === 'left' ? 1 : -1;
  if (finger === 'thumb') {
    const w = joints[jointIndex(`${side}_wrist`)]!;
    return add(w, [sx * THUMB[3]![0], THUMB[3]![1], THUMB[3]![2]]);
  }
  const j3 = joints[jointIndex(`${side}_${finger}3`)]!;
  return add(j3, [sx * FINGERS[finger].lengths[2], -0.006, 0]);
}

/**
 * The bone segment that each joint's skinning weight is measured from: joint -> its main child (or a short
 * stub for end joints). Eyes get a degenerate segment (they carry no skin).
 */
export function boneSegments(joints: Vec3[]): [Vec3, Vec3][] {
  const seg: [Vec3, Vec3][] = new Array(NUM_JOINTS);
  const J = (n: string): Vec3 => joints[jointIndex(n)]!;
  for (let j = 0; j < NUM_JOINTS; j++) {
    const children = SMPLX_PARENTS.map((p, i) => (p === j ? i : -1)).filter((i) => i >= 0);
    seg[j] = [joints[j]!, children.length === 1 ? joints[children[0]!]! : joints[j]!];
  }
  seg[jointIndex('pelvis')] = [add(J('pelvis'), [0, -0.12, -0.01]), J('pelvis')];
  seg[jointIndex('spine3')] = [J('spine3'), add(J('neck'), [0, -0.07, 0])];
  seg[jointIndex('head')] = [J('head'), add(J('head'), [0, 0.14, 0.01])];
  seg[jointIndex('jaw')] = [J('jaw'), [0, 0.2, 0.085]];
  for (const side of ['left', 'right'] as const) {
    const sx = side === 'left' ? 1 : -1;
    const s = (n: string): string => `${side}_${n}`;
    seg[jointIndex(s('ankle'))] = [J(s('ankle')), J(s('foot'))];
    seg[jointIndex(s('foot'))] = [J(s('foot')), add(J(s('foot')), [0, -0.005, 0.07])];
    seg[jointIndex(s('wrist'))] = [J(s('wrist')), add(J(s('wrist')), [sx * 0.085, 0, 0])];
    seg[jointIndex(s('eye_smplhf'))] = [J(s('eye_smplhf')), J(s('eye_smplhf'))];
    for (const finger of ['index', 'middle', 'pinky', 'ring', 'thumb'] as const) {
      seg[jointIndex(s(`${finger}3`))] = [J(s(`${finger}3`)), fingerTip(joints, side, finger)];
    }
  }
  return seg;
}
