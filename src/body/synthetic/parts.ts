/**
 * The synthetic body's geometry: closed tube parts (torso, neck, head, arms, palms, fingers, legs, feet), each
 * tagged with the joints allowed to skin it. Dimensions are those of an average adult; see skeleton.ts.
 */
import { jointIndex } from '../joints.js';
import { FINGERS, FLOOR_Y, THUMB_RADIUS, fingerTip } from './skeleton.js';
import { profileOf, ringsAlong, sweep, type Ring, type Surface } from './sweep.js';
import { add, normalize, scale, smoothstep, sub, type Vec3 } from './vec.js';

export type PartKind = 'torso' | 'neck' | 'head' | 'arm' | 'palm' | 'finger' | 'leg' | 'foot';

export interface Part extends Surface {
  name: string;
  kind: PartKind;
  side: 0 | 1 | -1;
  /** Joints whose bones may skin this part. */
  joints: number[];
}

/** Head shape constants shared by the head geometry, its skinning (jaw) and the expression directions. */
export const HEAD = { centre: [0, 0.31, 0.012] as Vec3, ax: 0.077, by: 0.114, cz: 0.097 };

const J = (name: string): number => jointIndex(name);

function torso(): Part {
  const y0 = -0.53;
  const y1 = 0.2;
  // y -> [half width, half depth, centre z]; below the hips the torso narrows to the crotch between the legs
  const rows: [number, number, number, number][] = [
    [-0.53, 0.05, 0.05, -0.005],
    [-0.49, 0.085, 0.08, -0.008],
    [-0.44, 0.135, 0.105, -0.016],
    [-0.38, 0.168, 0.112, -0.018],
    [-0.32, 0.166, 0.104, -0.008],
    [-0.22, 0.148, 0.094, 0.0],
    [-0.12, 0.15, 0.097, 0.006],
    [-0.02, 0.16, 0.104, 0.014],
    [0.05, 0.168, 0.1, 0.01],
    [0.11, 0.176, 0.086, -0.006],
    [0.16, 0.128, 0.07, -0.016],
    [0.2, 0.07, 0.058, -0.02],
  ];
  const s = (y: number): number => (y - y0) / (y1 - y0);
  const a = profileOf(rows.map((r) => [s(r[0]), r[1]]));
  const b = profileOf(rows.map((r) => [s(r[0]), r[2]]));
  const zc = profileOf(rows.map((r) => [s(r[0]), r[3]]));
  const rings = ringsAlong(
    [
      [0, y0, 0],
      [0, y1, 0],
    ],
    36,
    [1, 0, 0],
    (t) => ({ ru: a(t), rv: b(t), offset: [0, 0, zc(t)] }),
  );
  const surf = sweep(rings, { segments: 40, exponent: 2.5, capRings: 3, capLength: 0.45 });
  const joints = [
    'pelvis',
    'spine1',
    'spine2',
    'spine3',
    'neck',
    'left_hip',
    'right_hip',
    'left_collar',
    'right_collar',
  ];
  return { ...surf, name: 'torso', kind: 'torso', side: 0, joints: joints.map(J) };
}

function neck(): Part {
  const rings = ringsAlong(
    [
      [0, 0.12, -0.022],
      [0, 0.285, 0.0],
    ],
    10,
    [1, 0, 0],
    (t) => ({ ru: 0.052 - 0.006 * t, rv: 0.056 - 0.004 * t }),
  );
  const surf = sweep(rings, { segments: 32, capRings: 2, capLength: 0.6 });
  return { ...surf, name: 'neck', kind: 'neck', side: 0, joints: ['spine3', 'neck', 'head'].map(J) };
}

const gauss = (d2: number, s: number): number => Math.exp(-d2 / (2 * s * s));

/** Face and skull relief on an ellipsoid point (head-local coordinates q relative to HEAD.centre). */
function headRelief(q: Vec3): Vec3 {
  let [x, y, z] = q;
  const ny = y / HEAD.by;
  const front = smoothstep(0.0, 0.05, z);
  // narrower jaw and chin; a fuller back of the skull
  x *= 1 - 0.13 * smoothstep(-0.1, -0.95, ny) * smoothstep(-0.02, 0.06, z + 0.04);
  if (z < 0) z *= 1 + 0.1 * smoothstep(-0.6, 0.2, ny);
  // flatter face, forward chin
  if (z > 0) z *= 1 - 0.07 * gauss(x * x, 0.04);
  z += 0.014 * gauss(x * x + (y + 0.095) ** 2, 0.018) * front;
  // nose: a ridge from the bridge (y ~ +0.02) to the tip (y ~ -0.015), cut off under the tip
  const noseH = 0.006 + 0.022 * smoothstep(0.03, -0.012, y);
  const under = smoothstep(-0.03, -0.016, y);
  z += noseH * under * gauss(x * x, 0.0085 + 0.004 * smoothstep(0.02, -0.02, y)) * front;
  // nostril wings
  for (const sx of [-1, 1]) z += 0.006 * gauss((x - sx * 0.014) ** 2 + (y + 0.017) ** 2, 0.007) * front;
  // brows forward, eye sockets back
  for (const sx of [-1, 1]) {
    z += 0.006 * gauss((x - sx * 0.032) ** 2 + (y - 0.034) ** 2, 0.012) * front;
    z -= 0.008 * gauss((x - sx * 0.032) ** 2 + (y - 0.012) ** 2, 0.011) * front;
    // cheekbones
    z += 0.004 * gauss((x - sx * 0.045) ** 2 + (y + 0.01) ** 2, 0.015) * front;
  }
  // lips and the mouth line
  z += 0.005 * gauss(x * x * 0.4 + (y + 0.05) ** 2, 0.008) * front;
  z -= 0.003 * gauss(x * x * 0.3 + (y + 0.056) ** 2, 0.003) * front;
  // ears
  for (const sx of [-1, 1]) {
    const side = smoothstep(0.5, 0.95, (sx * q[0]) / HEAD.ax);
    x += sx * 0.009 * side * gauss((y + 0.005) ** 2 * 0.3 + (z + 0.012) ** 2, 0.011);
  }
  return [x, y, z];
}

function head(): Part {
  const n = 30;
  const rings: Ring[] = [];
  for (let i = 1; i < n - 1; i++) {
    const eta = -Math.cos((Math.PI * i) / (n - 1)); // pole-dense spacing, -1..1
    const r = Math.sqrt(1 - eta * eta);
    rings.push({
      c: add(HEAD.centre, [0, eta * HEAD.by, 0]),
      u: [1, 0, 0],
      v: [0, 0, -1],
      ru: HEAD.ax * r,
      rv: HEAD.cz * r,
    });
  }
  const surf = sweep(rings, {
    segments: 48,
    capRings: 0,
    poles: [add(HEAD.centre, [0, -HEAD.by, 0]), add(HEAD.centre, [0, HEAD.by, 0])],
  });
  const positions = surf.positions.map((p) => add(HEAD.centre, headRelief(sub(p, HEAD.centre))));
  return { positions, faces: surf.faces, name: 'head', kind: 'head', side: 0, joints: ['neck', 'head', 'jaw'].map(J) };
}

function arm(side: 'left' | 'right', joints: Vec3[]): Part {
  const sx = side === 'left' ? 1 : -1;
  const s = (n: string): Vec3 => joints[J(`${side}_${n}`)]!;
  const path: Vec3[] = [[sx * 0.11, 0.095, -0.02], s('shoulder'), s('elbow'), add(s('wrist'), [sx * 0.012, 0, 0])];
  const ru = profileOf([
    [0, 0.058],
    [0.11, 0.057],
    [0.2, 0.05],
    [0.35, 0.045],
    [0.5, 0.038],
    [0.55, 0.036],
    [0.65, 0.038],
    [0.85, 0.029],
    [1, 0.021],
  ]);
  const rv = profileOf([
    [0, 0.058],
    [0.11, 0.056],
    [0.2, 0.049],
    [0.35, 0.043],
    [0.5, 0.039],
    [0.55, 0.038],
    [0.65, 0.042],
    [0.85, 0.035],
    [1, 0.03],
  ]);
  const rings = ringsAlong(path, 34, [0, 1, 0], (t) => ({ ru: ru(t), rv: rv(t) }));
  const surf = sweep(rings, { segments: 22, capRings: 2, capLength: 0.6 });
  const names = ['spine3', 'collar', 'shoulder', 'elbow', 'wrist'].map((n) =>
    n === 'spine3' ? J(n) : J(`${side}_${n}`),
  );
  return { ...surf, name: `${side}_arm`, kind: 'arm', side: sx, joints: names };
}

function palm(side: 'left' | 'right', joints: Vec3[]): Part {
  const sx = side === 'left' ? 1 : -1;
  const w = joints[J(`${side}_wrist`)]!;
  const path: Vec3[] = [add(w, [sx * -0.004, 0, -0.004]), add(w, [sx * 0.092, 0.001, -0.002])];
  const rings = ringsAlong(path, 12, [0, 1, 0], (t) => ({
    ru: 0.017 - 0.004 * t,
    rv: 0.032 + 0.012 * Math.sin((t * Math.PI) / 1.6),
  }));
  const surf = sweep(rings, { segments: 24, exponent: 3, capRings: 3, capLength: 0.9 });
  const names = ['wrist', 'index1', 'middle1', 'pinky1', 'ring1', 'thumb1'].map((n) => J(`${side}_${n}`));
  return { ...surf, name: `${side}_palm`, kind: 'palm', side: sx, joints: names };
}

function finger(side: 'left' | 'right', name: keyof typeof FINGERS | 'thumb', joints: Vec3[]): Part {
  const sx = side === 'left' ? 1 : -1;
  const k = (i: number): Vec3 => joints[J(`${side}_${name}${i}`)]!;
  const tip = fingerTip(joints, side, name);
  const w = joints[J(`${side}_wrist`)]!;
  const first =
    name === 'thumb' ? add(w, [sx * 0.006, -0.01, 0.008]) : sub(k(1), scale(normalize(sub(k(2), k(1))), 0.014));
  const r = name === 'thumb' ? THUMB_RADIUS : FINGERS[name].radius;
  const rad =
    name === 'thumb'
      ? profileOf([
          [0, r * 1.55],
          [0.3, r * 1.12],
          [0.6, r],
          [1, r * 0.82],
        ])
      : profileOf([
          [0, r * 1.05],
          [0.5, r * 0.95],
          [1, r * 0.8],
        ]);
  const rings = ringsAlong([first, k(1), k(2), k(3), tip], 13, [0, 1, 0], (t) => ({ ru: rad(t) * 0.9, rv: rad(t) }));
  const surf = sweep(rings, { segments: 10, capRings: 3, capLength: 0.95 });
  const names = ['wrist', `${name}1`, `${name}2`, `${name}3`].map((n) => J(`${side}_${n}`));
  return { ...surf, name: `${side}_${name}`, kind: 'finger', side: sx, joints: names };
}

function leg(side: 'left' | 'right', joints: Vec3[]): Part {
  const sx = side === 'left' ? 1 : -1;
  const s = (n: string): Vec3 => joints[J(`${side}_${n}`)]!;
  const path: Vec3[] = [add(s('hip'), [sx * 0.012, 0.06, -0.01]), s('knee'), add(s('ankle'), [0, -0.03, 0])];
  const ru = profileOf([
    [0, 0.092],
    [0.1, 0.09],
    [0.3, 0.073],
    [0.45, 0.057],
    [0.5, 0.053],
    [0.58, 0.055],
    [0.68, 0.06],
    [0.85, 0.043],
    [1, 0.035],
  ]);
  const rv = profileOf([
    [0, 0.094],
    [0.1, 0.09],
    [0.3, 0.071],
    [0.45, 0.057],
    [0.5, 0.055],
    [0.58, 0.053],
    [0.68, 0.055],
    [0.85, 0.04],
    [1, 0.033],
  ]);
  const calf = profileOf([
    [0, 0],
    [0.52, 0],
    [0.68, -0.014],
    [0.9, 0],
    [1, 0],
  ]);
  const rings = ringsAlong(path, 34, [0, 0, 1], (t) => ({ ru: ru(t), rv: rv(t), offset: [0, 0, calf(t)] }));
  const surf = sweep(rings, { segments: 24, capRings: 3, capLength: 0.6 });
  const names = ['pelvis', `${side}_hip`, `${side}_knee`, `${side}_ankle`].map(J);
  return { ...surf, name: `${side}_leg`, kind: 'leg', side: sx, joints: names };
}

function foot(side: 'left' | 'right', joints: Vec3[]): Part {
  const sx = side === 'left' ? 1 : -1;
  const a = joints[J(`${side}_ankle`)]!;
  const path: Vec3[] = [add(a, [0, 0, -0.055]), add(a, [sx * 0.008, 0, 0.05]), add(a, [sx * 0.028, 0, 0.215])];
  const h = profileOf([
    [0, 0.034],
    [0.25, 0.046],
    [0.55, 0.031],
    [0.85, 0.018],
    [1, 0.013],
  ]);
  const wid = profileOf([
    [0, 0.031],
    [0.25, 0.038],
    [0.55, 0.045],
    [0.85, 0.047],
    [1, 0.042],
  ]);
  const rings = ringsAlong(path, 22, [0, 1, 0], (t, p) => ({
    ru: h(t),
    rv: wid(t),
    offset: [0, FLOOR_Y + h(t) - p[1], 0],
  }));
  const surf = sweep(rings, { segments: 22, exponent: 2.6, capRings: 3, capLength: 0.8 });
  return { ...surf, name: `${side}_foot`, kind: 'foot', side: sx, joints: [`${side}_ankle`, `${side}_foot`].map(J) };
}

export function buildParts(joints: Vec3[]): Part[] {
  const parts: Part[] = [torso(), neck(), head()];
  for (const side of ['left', 'right'] as const) {
    parts.push(arm(side, joints), palm(side, joints), leg(side, joints), foot(side, joints));
    for (const f of ['index', 'middle', 'pinky', 'ring', 'thumb'] as const) parts.push(finger(side, f, joints));
  }
  return parts;
}
