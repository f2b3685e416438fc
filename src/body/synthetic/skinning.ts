/**
 * Skinning weights of the synthetic body: for each vertex, a softmax over the distances from the vertex to the
 * bone "capsules" (segment distance minus a flesh radius) of the joints allowed for its part. Softmax of a
 * continuous distance is smooth across the body; neighbouring bones share vertices near the joint between them.
 * Weights below 1e-3 are dropped and at most 4 are kept (then renormalised), as in SMPL-style models.
 * The jaw is a region rather than a bone: the lower front of the head.
 */
import { NUM_JOINTS, SMPLX_JOINT_NAMES, jointIndex } from '../joints.js';
import { HEAD, type Part, type PartKind } from './parts.js';
import { segmentDistance, smoothstep, sub, type Vec3 } from './vec.js';

/** Softmax temperature per part kind (metres): how wide the blend around a joint is. */
const TAU: Record<PartKind, number> = {
  torso: 0.016,
  neck: 0.018,
  head: 0.015,
  arm: 0.018,
  palm: 0.008,
  finger: 0.004,
  leg: 0.02,
  foot: 0.012,
};

/** Flesh radius around each bone (by joint name without its side), so thick and thin bones compete fairly. */
const FLESH: Record<string, number> = {
  pelvis: 0.1,
  spine1: 0.11,
  spine2: 0.11,
  spine3: 0.11,
  neck: 0.05,
  head: 0.07,
  hip: 0.07,
  knee: 0.05,
  ankle: 0.035,
  foot: 0.02,
  collar: 0.025,
  shoulder: 0.05,
  elbow: 0.04,
  wrist: 0.015,
};
const FLESH_RADIUS = SMPLX_JOINT_NAMES.map((n) => FLESH[n.replace(/^(left|right)_/, '')] ?? 0.008); // fingers: 8 mm

/** The jaw's share of a head vertex: the lower front of the face, below the mouth line. */
export function jawRegion(p: Vec3): number {
  const q = sub(p, HEAD.centre);
  return smoothstep(-0.036, -0.058, q[1]) * smoothstep(-0.015, 0.03, q[2]);
}

export function skinningWeights(
  positions: Vec3[],
  partOf: Int32Array,
  parts: Part[],
  segs: [Vec3, Vec3][],
): Float64Array {
  const V = positions.length;
  const W = new Float64Array(V * NUM_JOINTS);
  const jaw = jointIndex('jaw');
  for (let v = 0; v < V; v++) {
    const part = parts[partOf[v]!]!;
    const p = positions[v]!;
    const cand = part.joints.filter((j) => j !== jaw);
    const d = cand.map((j) => segmentDistance(p, segs[j]![0], segs[j]![1]) - FLESH_RADIUS[j]!);
    const dmin = Math.min(...d);
    let w = d.map((x) => Math.exp(-(x - dmin) / TAU[part.kind]));
    const jawShare = part.kind === 'head' ? jawRegion(p) : 0;
    let joints = cand;
    if (jawShare > 0) {
      const s = w.reduce((a, b) => a + b, 0);
      w = w.map((x) => (x / s) * (1 - jawShare));
      w.push(jawShare);
      joints = [...cand, jaw];
    }
    // keep the 4 largest above 1e-3, renormalise
    const order = joints.map((_, i) => i).sort((a, b) => w[b]! - w[a]!);
    const total = w.reduce((a, b) => a + b, 0);
    const keep = order.slice(0, 4).filter((i) => w[i]! / total >= 1e-3);
    const s = keep.reduce((a, i) => a + w[i]!, 0);
    for (const i of keep) W[v * NUM_JOINTS + joints[i]!] = w[i]! / s;
  }
  return W;
}
