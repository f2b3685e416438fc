/**
 * The synthetic body's linear blend shapes, as displacement fields over the rest vertices:
 *  - 10 shape directions: height, girth, shoulder width, hip width, leg length, arm length, belly, chest,
 *    head size, neck length (one unit is roughly one standard deviation of adult variation);
 *  - 10 expression directions on the face: mouth open, smile, cheeks puff, lips pucker, brows raise, frown,
 *    left smile, right smile, jaw sideways, nostril flare;
 *  - pose correctives: flesh bulging out at elbows, knees, shoulders and hips as they bend, driven by the diagonal
 *    of (R - I): the three entries sum to 2(cos a - 1), so the bulge grows as (1 - cos a) whatever the axis.
 */
import { NUM_POSE_FEATURES, jointIndex } from '../joints.js';
import { HEAD, type Part } from './parts.js';
import { jawRegion } from './skinning.js';
import { FLOOR_Y } from './skeleton.js';
import { lerp, scale, segmentParam, smoothstep, sub, type Vec3 } from './vec.js';

export const NUM_SHAPE = 10;
export const NUM_EXPRESSION = 10;

const gauss = (d2: number, s: number): number => Math.exp(-d2 / (2 * s * s));

/** Closest point on the part's own bones (the axis that "girth" pushes away from). */
function axisPoint(p: Vec3, part: Part, segs: [Vec3, Vec3][]): Vec3 {
  let best: Vec3 = p;
  let bd = Infinity;
  for (const j of part.joints) {
    const [a, b] = segs[j]!;
    const q = lerp(a, b, segmentParam(p, a, b));
    const d = Math.hypot(...sub(p, q));
    if (d < bd) [bd, best] = [d, q];
  }
  return best;
}

/** (V, 3, 10) shape directions, row-major. */
export function shapeDirections(
  positions: Vec3[],
  partOf: Int32Array,
  parts: Part[],
  segs: [Vec3, Vec3][],
): Float64Array {
  const V = positions.length;
  const out = new Float64Array(V * 3 * NUM_SHAPE);
  const set = (v: number, k: number, d: Vec3): void => {
    for (let c = 0; c < 3; c++) out[(v * 3 + c) * NUM_SHAPE + k] = d[c];
  };
  for (let v = 0; v < V; v++) {
    const p = positions[v]!;
    const part = parts[partOf[v]!]!;
    const kind = part.kind;
    const sx = Math.sign(p[0]) || 0;
    const ax = Math.abs(p[0]);
    // 0 height: uniform scale about the floor
    set(v, 0, scale(sub(p, [0, FLOOR_Y, 0]), 0.035));
    // 1 girth: away from the bone axis
    const girth = { torso: 0.14, neck: 0.1, head: 0.04, arm: 0.12, palm: 0.05, finger: 0.05, leg: 0.12, foot: 0.04 }[
      kind
    ];
    set(v, 1, scale(sub(p, axisPoint(p, part, segs)), girth));
    // 2 shoulder width: upper torso sides and the whole arm
    const limbSide = kind === 'arm' || kind === 'palm' || kind === 'finger';
    const shoulder = limbSide ? 1 : kind === 'torso' ? smoothstep(-0.05, 0.1, p[1]) * smoothstep(0.03, 0.14, ax) : 0;
    set(v, 2, [sx * 0.022 * shoulder, 0, 0]);
    // 3 hip width: pelvis sides and the legs (less toward the feet)
    const hip =
      kind === 'torso'
        ? gauss((p[1] + 0.42) ** 2, 0.09) * smoothstep(0.02, 0.14, ax)
        : kind === 'leg' || kind === 'foot'
          ? 0.4 + 0.6 * smoothstep(-1.0, -0.45, p[1])
          : 0;
    set(v, 3, [sx * 0.018 * hip, 0, 0]);
    // 4 leg length: below the hips, proportional to the distance down the leg
    const legs = kind === 'leg' || kind === 'foot' ? Math.min(1, Math.max(0, (-0.44 - p[1]) / (-0.44 - FLOOR_Y))) : 0;
    set(v, 4, [0, -0.06 * legs, 0]);
    // 5 arm length: along the arm beyond the shoulder
    const arms =
      kind === 'arm' ? Math.min(1, Math.max(0, (ax - 0.175) / 0.505)) : kind === 'palm' || kind === 'finger' ? 1 : 0;
    set(v, 5, [sx * 0.035 * arms, 0, 0]);
    // 6 belly and 7 chest: forward on the front of the torso
    const front = kind === 'torso' ? smoothstep(-0.02, 0.08, p[2]) : 0;
    set(v, 6, [0, 0, 0.035 * front * gauss((p[1] + 0.2) ** 2, 0.09) * gauss(p[0] ** 2, 0.12)]);
    const chest = front * gauss((p[1] - 0.0) ** 2, 0.05) * gauss((ax - 0.08) ** 2, 0.05);
    set(v, 7, [0, 0.004 * chest, 0.022 * chest]);
    // 8 head size and 9 neck length
    if (kind === 'head') set(v, 8, scale(sub(p, HEAD.centre), 0.07));
    const neckLift = kind === 'head' ? 1 : kind === 'neck' ? smoothstep(0.12, 0.285, p[1]) : 0;
    set(v, 9, [0, 0.025 * neckLift, 0]);
  }
  return out;
}

/** (V, 3, 10) expression directions (face only). */
export function expressionDirections(positions: Vec3[], partOf: Int32Array, parts: Part[]): Float64Array {
  const V = positions.length;
  const out = new Float64Array(V * 3 * NUM_EXPRESSION);
  for (let v = 0; v < V; v++) {
    if (parts[partOf[v]!]!.kind !== 'head') continue;
    const p = positions[v]!;
    const q = sub(p, HEAD.centre);
    const front = smoothstep(0.0, 0.05, q[2]);
    const jaw = jawRegion(p);
    const at = (x: number, y: number, s: number): number => gauss((q[0] - x) ** 2 + (q[1] - y) ** 2, s) * front;
    const corner = (sx: number): number => at(sx * 0.024, -0.052, 0.011);
    const out3 = (k: number, d: Vec3): void => {
      for (let c = 0; c < 3; c++) out[(v * 3 + c) * NUM_EXPRESSION + k] += d[c];
    };
    out3(0, [0, -0.012 * jaw, -0.003 * jaw]);
    for (const sx of [-1, 1]) {
      out3(1, [sx * 0.003 * corner(sx), 0.005 * corner(sx), 0]);
      const cheek = at(sx * 0.046, -0.032, 0.016);
      out3(2, [sx * 0.006 * cheek, 0, 0.003 * cheek]);
      const brow = at(sx * 0.032, 0.036, 0.012);
      out3(4, [0, 0.005 * brow, 0]);
      out3(5, [-sx * 0.003 * brow, -0.003 * brow, 0]);
      out3(sx > 0 ? 6 : 7, [sx * 0.003 * corner(sx), 0.005 * corner(sx), 0]);
      out3(9, [sx * 0.003 * at(sx * 0.014, -0.017, 0.006), 0, 0]);
    }
    const lips = at(0, -0.052, 0.012);
    out3(3, [-q[0] * 0.15 * lips, 0, 0.006 * lips]);
    out3(8, [0.006 * jaw, 0, 0]);
  }
  return out;
}

/** (V, 3, 486) pose correctives: bulges at elbows, knees, shoulders, hips. */
export function poseCorrectives(
  positions: Vec3[],
  normals: Float64Array,
  partOf: Int32Array,
  parts: Part[],
  joints: Vec3[],
): Float64Array {
  const V = positions.length;
  const out = new Float64Array(V * 3 * NUM_POSE_FEATURES);
  const specs: [string, string[], number, number][] = [
    // joint (without side), parts (* = side), amplitude (m at 90 degrees), reach (m)
    ['elbow', ['*_arm'], 0.012, 0.045],
    ['knee', ['*_leg'], 0.014, 0.055],
    ['shoulder', ['*_arm', 'torso'], 0.008, 0.06],
    ['hip', ['*_leg', 'torso'], 0.01, 0.07],
  ];
  for (const side of ['left', 'right']) {
    for (const [name, partNames, amp, reach] of specs) {
      const j = jointIndex(`${side}_${name}`);
      const allowed = new Set(partNames.map((n) => n.replace('*', side)));
      const J = joints[j]!;
      for (let v = 0; v < V; v++) {
        if (!allowed.has(parts[partOf[v]!]!.name)) continue;
        const b = gauss(Math.hypot(...sub(positions[v]!, J)) ** 2, reach);
        if (b < 1e-4) continue;
        for (const e of [0, 4, 8]) {
          for (let c = 0; c < 3; c++)
            out[(v * 3 + c) * NUM_POSE_FEATURES + (j - 1) * 9 + e] = -0.5 * amp * b * normals[v * 3 + c]!;
        }
      }
    }
  }
  return out;
}
