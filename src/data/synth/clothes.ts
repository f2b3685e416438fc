/**
 * Pose-dependent clothes of the synthetic subject, rebuilt every frame from the posed skeleton:
 * - a skirt: a cone of cloth from the waist to above the knees; its vertices are skinned by weights blending the
 *   pelvis into the hips and knees of their side (more towards the hem), then the hem is pushed outward by the
 *   spread between the thighs, so it swings and flares with the legs;
 * - sleeves: tubes over the upper arms ending past the elbows, skinned shoulder → elbow, whose radius ripples
 *   into folds near the elbow as it bends.
 * Each garment carries texture coordinates (for the procedural texture) and a material id.
 */
import type { SmplxOutput } from '../../body/forward.js';

export const MATERIAL = { skin: 0, face: 1, hair: 2, shirt: 3, leggings: 4, shoes: 5, skirt: 6, sleeve: 7 } as const;

export interface Garment {
  /** (V*3) posed positions. */
  positions: Float64Array;
  faces: Uint32Array;
  /** (V*3) texture coordinates (garment parameters). */
  tex: Float64Array;
  material: number;
}

const PELVIS = 0,
  L_HIP = 1,
  R_HIP = 2,
  L_KNEE = 4,
  R_KNEE = 5,
  L_SHOULDER = 16,
  R_SHOULDER = 17,
  L_ELBOW = 18,
  R_ELBOW = 19;

/** x' = Σ w_j A_j x for a few joints (A: 55 x 4x4 row-major, rest-pose point → posed). */
function skin(
  A: Float64Array,
  joints: number[],
  w: number[],
  x: number,
  y: number,
  z: number,
  out: Float64Array,
  o: number,
): void {
  let a0 = 0,
    a1 = 0,
    a2 = 0;
  for (let k = 0; k < joints.length; k++) {
    const m = joints[k]! * 16;
    const wk = w[k]!;
    if (wk === 0) continue;
    a0 += wk * (A[m]! * x + A[m + 1]! * y + A[m + 2]! * z + A[m + 3]!);
    a1 += wk * (A[m + 4]! * x + A[m + 5]! * y + A[m + 6]! * z + A[m + 7]!);
    a2 += wk * (A[m + 8]! * x + A[m + 9]! * y + A[m + 10]! * z + A[m + 11]!);
  }
  out[o] = a0;
  out[o + 1] = a1;
  out[o + 2] = a2;
}

function grid(rings: number, segs: number, closed: boolean): Uint32Array {
  const f: number[] = [];
  const cols = closed ? segs : segs - 1;
  for (let i = 0; i < rings - 1; i++) {
    for (let j = 0; j < cols; j++) {
      const a = i * segs + j,
        b = i * segs + ((j + 1) % segs),
        c = (i + 1) * segs + j,
        d = (i + 1) * segs + ((j + 1) % segs);
      f.push(a, c, b, b, c, d);
    }
  }
  return Uint32Array.from(f);
}

export interface SkirtShape {
  waistY: number;
  hemY: number;
  waist: [number, number];
  hem: [number, number];
}

/** Skirt dimensions for a rest skeleton (55*3 rest joints). */
export function skirtShape(rest: Float64Array): SkirtShape {
  const pelvisY = rest[PELVIS * 3 + 1]!;
  const kneeY = rest[L_KNEE * 3 + 1]!;
  return { waistY: pelvisY + 0.08, hemY: kneeY + 0.1, waist: [0.165, 0.125], hem: [0.3, 0.27] };
}

export function skirt(out: SmplxOutput, rings = 18, segs = 56): Garment {
  const rest = out.restJoints;
  const sh = skirtShape(rest);
  const cz = rest[PELVIS * 3 + 2]!;
  const V = rings * segs;
  const pos = new Float64Array(V * 3);
  const tex = new Float64Array(V * 3);
  // leg spread: angle between the posed thighs (0 when parallel, as in the rest pose)
  const J = out.joints;
  const th = [0, 1].map((s) => {
    const h = (s === 0 ? L_HIP : R_HIP) * 3,
      k = (s === 0 ? L_KNEE : R_KNEE) * 3;
    const v = [J[k]! - J[h]!, J[k + 1]! - J[h + 1]!, J[k + 2]! - J[h + 2]!];
    const l = Math.hypot(v[0]!, v[1]!, v[2]!);
    return v.map((x) => x / l);
  });
  const spread = Math.acos(Math.min(1, th[0]![0]! * th[1]![0]! + th[0]![1]! * th[1]![1]! + th[0]![2]! * th[1]![2]!));
  // the skirt axis: posed pelvis → midpoint of the knees
  const P = PELVIS * 3;
  const km = [0, 1, 2].map((c) => (J[L_KNEE * 3 + c]! + J[R_KNEE * 3 + c]!) / 2);
  const axis = [km[0]! - J[P]!, km[1]! - J[P + 1]!, km[2]! - J[P + 2]!];
  const al = Math.hypot(axis[0]!, axis[1]!, axis[2]!);
  for (let c = 0; c < 3; c++) axis[c] = axis[c]! / al;
  for (let i = 0; i < rings; i++) {
    const t = i / (rings - 1);
    const y = sh.waistY + t * (sh.hemY - sh.waistY);
    const rxz = [sh.waist[0] + t * (sh.hem[0] - sh.waist[0]), sh.waist[1] + t * (sh.hem[1] - sh.waist[1])];
    for (let j = 0; j < segs; j++) {
      const phi = (2 * Math.PI * j) / segs;
      const x = rxz[0]! * Math.cos(phi),
        z = cz + rxz[1]! * Math.sin(phi);
      const sl = (1 + Math.cos(phi)) / 2;
      const sL = (sl * sl) / (sl * sl + (1 - sl) * (1 - sl));
      const legs = 0.85 * t;
      const knee = 0.35 * t;
      const w = [
        1 - legs,
        legs * sL * (1 - knee),
        legs * sL * knee,
        legs * (1 - sL) * (1 - knee),
        legs * (1 - sL) * knee,
      ];
      const v = i * segs + j;
      skin(out.A, [PELVIS, L_HIP, L_KNEE, R_HIP, R_KNEE], w, x, y, z, pos, v * 3);
      // flare: push away from the skirt axis, growing towards the hem with the leg spread
      const d = [pos[v * 3]! - J[P]!, pos[v * 3 + 1]! - J[P + 1]!, pos[v * 3 + 2]! - J[P + 2]!];
      const along = d[0]! * axis[0]! + d[1]! * axis[1]! + d[2]! * axis[2]!;
      const r = [d[0]! - along * axis[0]!, d[1]! - along * axis[1]!, d[2]! - along * axis[2]!];
      const rl = Math.hypot(r[0]!, r[1]!, r[2]!) || 1;
      const push = t * t * 0.22 * spread;
      for (let c = 0; c < 3; c++) pos[v * 3 + c] += (r[c]! / rl) * push;
      tex[v * 3] = phi / (2 * Math.PI);
      tex[v * 3 + 1] = t;
    }
  }
  return { positions: pos, faces: grid(rings, segs, true), tex, material: MATERIAL.skirt };
}

/** Sleeves over the upper arms, ending `past` metres beyond the elbow. */
export function sleeves(out: SmplxOutput, past = 0.09, rings = 22, segs = 20): Garment[] {
  const rest = out.restJoints;
  const res: Garment[] = [];
  for (const side of [1, -1]) {
    const S = (side > 0 ? L_SHOULDER : R_SHOULDER) * 3,
      E = (side > 0 ? L_ELBOW : R_ELBOW) * 3;
    const sx = rest[S]! - side * 0.04; // start slightly inside the shoulder
    const ex = rest[E]!;
    const endX = ex + side * past;
    const cy = (rest[S + 1]! + rest[E + 1]!) / 2,
      cz = (rest[S + 2]! + rest[E + 2]!) / 2;
    // elbow bend = angle between the posed upper arm and forearm
    const J = out.joints;
    const W = E + 6; // wrist index = elbow + 2 joints
    const u = [J[E]! - J[S]!, J[E + 1]! - J[S + 1]!, J[E + 2]! - J[S + 2]!];
    const f = [J[W]! - J[E]!, J[W + 1]! - J[E + 1]!, J[W + 2]! - J[E + 2]!];
    const bend = Math.acos(
      Math.max(
        -1,
        Math.min(1, (u[0]! * f[0]! + u[1]! * f[1]! + u[2]! * f[2]!) / (Math.hypot(...u) * Math.hypot(...f))),
      ),
    );
    const V = rings * segs;
    const pos = new Float64Array(V * 3);
    const tex = new Float64Array(V * 3);
    for (let i = 0; i < rings; i++) {
      const s = i / (rings - 1);
      const x = sx + s * (endX - sx);
      const fromElbow = (x - ex) * side; // < 0 before the elbow
      const we = Math.min(1, Math.max(0, (fromElbow + 0.05) / 0.1));
      const ws = we * we * (3 - 2 * we);
      const base = 0.068 - 0.012 * s;
      const fold = Math.exp(-((fromElbow / 0.06) ** 2)) * (bend / Math.PI) * 0.55;
      for (let j = 0; j < segs; j++) {
        const a = (2 * Math.PI * j) / segs;
        // folds bunch on the inner side of the bend (front, +z) as ridges along the arm
        const inner = 0.5 + 0.5 * Math.sin(a);
        const r = base * (1 + fold * (0.4 + 0.6 * inner) * (0.6 + 0.4 * Math.cos(fromElbow * 160)));
        const y = cy + r * Math.cos(a),
          z = cz + r * Math.sin(a);
        const v = i * segs + j;
        skin(out.A, [S / 3, E / 3], [1 - ws, ws], x, y, z, pos, v * 3);
        tex[v * 3] = s;
        tex[v * 3 + 1] = a / (2 * Math.PI);
      }
    }
    res.push({ positions: pos, faces: grid(rings, segs, true), tex, material: MATERIAL.sleeve });
  }
  return res;
}
