/**
 * The synthetic body's joint regressor: each joint is an affine combination (weights summing to 1) of the k
 * vertices nearest to it on the parts around it, chosen as the minimum-norm correction of distance-based weights
 * that reproduces the rest joint exactly. Shape blend shapes then move joints the way they move the flesh
 * around them, as SMPL-X's regressor does.
 */
import { NUM_JOINTS, SMPLX_JOINT_NAMES } from '../joints.js';
import { invert4 } from '../rotation.js';
import type { Part } from './parts.js';
import { dist, type Vec3 } from './vec.js';

/** Which parts (by name, `*` = the joint's side) and how many vertices regress each joint (by name without side). */
const SOURCES: Record<string, [string[], number]> = {
  pelvis: [['torso', 'left_leg', 'right_leg'], 60],
  spine1: [['torso'], 60],
  spine2: [['torso'], 60],
  spine3: [['torso'], 60],
  neck: [['neck'], 40],
  head: [['head'], 150],
  jaw: [['head'], 200],
  eye_smplhf: [['head'], 120],
  hip: [['torso', '*_leg'], 80],
  knee: [['*_leg'], 40],
  ankle: [['*_leg', '*_foot'], 40],
  foot: [['*_foot'], 30],
  collar: [['torso', '*_arm'], 80],
  shoulder: [['*_arm'], 40],
  elbow: [['*_arm'], 30],
  wrist: [['*_arm', '*_palm'], 30],
};

export function jointRegressor(positions: Vec3[], partOf: Int32Array, parts: Part[], joints: Vec3[]): Float64Array {
  const V = positions.length;
  const R = new Float64Array(NUM_JOINTS * V);
  for (let j = 0; j < NUM_JOINTS; j++) {
    const name = SMPLX_JOINT_NAMES[j]!;
    const side = name.startsWith('left_') ? 'left' : name.startsWith('right_') ? 'right' : '';
    const base = name.replace(/^(left|right)_/, '');
    const finger = /^(index|middle|pinky|ring|thumb)\d$/.exec(base);
    const [partNames, k] = finger ? [[`*_${finger[1]}`], 24] : SOURCES[base]!;
    const allowed = new Set(partNames.map((n) => n.replace('*', side)));
    const J = joints[j]!;
    const cand: number[] = [];
    for (let v = 0; v < V; v++) if (allowed.has(parts[partOf[v]!]!.name)) cand.push(v);
    cand.sort((a, b) => dist(positions[a]!, J) - dist(positions[b]!, J));
    const sel = cand.slice(0, k);
    // initial weights: Gaussian in distance, normalised
    const d0 = dist(positions[sel[sel.length - 1]!]!, J) || 1;
    const w = sel.map((v) => Math.exp(-((dist(positions[v]!, J) / d0) ** 2)));
    const s = w.reduce((a, b) => a + b, 0);
    for (let i = 0; i < w.length; i++) w[i]! /= s;
    // minimum-norm correction: rows (x - Jx, y - Jy, z - Jz, 1), target (0, 0, 0, 1)
    const rows = sel.map((v) => [positions[v]![0] - J[0], positions[v]![1] - J[1], positions[v]![2] - J[2], 1]);
    const AAt = new Float64Array(16);
    const r = [0, 0, 0, 1];
    for (let i = 0; i < sel.length; i++) {
      for (let a = 0; a < 4; a++) {
        r[a]! -= rows[i]![a]! * w[i]!;
        for (let b = 0; b < 4; b++) AAt[4 * a + b] += rows[i]![a]! * rows[i]![b]!;
      }
    }
    const inv = new Float64Array(16);
    invert4(AAt, 0, inv, 0);
    const lambda = [0, 1, 2, 3].map(
      (a) => inv[4 * a]! * r[0]! + inv[4 * a + 1]! * r[1]! + inv[4 * a + 2]! * r[2]! + inv[4 * a + 3]! * r[3]!,
    );
    for (let i = 0; i < sel.length; i++) {
      R[j * V + sel[i]!] = w[i]! + rows[i]!.reduce((acc, x, a) => acc + x * lambda[a]!, 0);
    }
  }
  return R;
}
