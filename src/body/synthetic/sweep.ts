/**
 * Closed tube surfaces swept along a path: the building block of the synthetic body. A tube is a list of rings
 * (centre, two axes, two radii); its ends are closed by rounded caps, so every part is a closed, outward-wound
 * surface. A ring point at angle a is  c + r(a) (cos a * ru * u + sin a * rv * v)  with u x v = the path tangent,
 * which makes the triangles (i,k) (i,k+1) (i+1,k+1) face outward.
 */
import { add, cross, dot, normalize, scale, sub, type Vec3 } from './vec.js';

export interface Ring {
  c: Vec3;
  u: Vec3;
  v: Vec3;
  ru: number;
  rv: number;
}

export interface Surface {
  positions: Vec3[];
  faces: [number, number, number][];
}

export interface SweepOptions {
  segments: number;
  /** Superellipse exponent of the cross-section (2 = ellipse; larger is boxier). */
  exponent?: number;
  /** Number of rings in each rounded cap (0 = flat fan). */
  capRings?: number;
  /** Cap length as a fraction of the end ring's smaller radius (1 = hemisphere). */
  capLength?: number;
  /** Explicit pole positions (start, end) instead of cap tips, e.g. for an ellipsoid swept pole to pole. */
  poles?: [Vec3, Vec3];
}

function ringPoint(r: Ring, a: number, e: number): Vec3 {
  const ca = Math.cos(a);
  const sa = Math.sin(a);
  // superellipse: |x|^e + |y|^e = 1
  const x = Math.sign(ca) * Math.abs(ca) ** (2 / e);
  const y = Math.sign(sa) * Math.abs(sa) ** (2 / e);
  return add(r.c, add(scale(r.u, x * r.ru), scale(r.v, y * r.rv)));
}

export function sweep(rings: Ring[], o: SweepOptions): Surface {
  const e = o.exponent ?? 2;
  const n = o.segments;
  const capRings = o.capRings ?? 3;
  const capLength = o.capLength ?? 1;
  const tangent = (i: number): Vec3 => normalize(cross(rings[i]!.u, rings[i]!.v));
  // caps: rings shrinking along the tangent like a squashed hemisphere, then a pole
  const all: Ring[] = [];
  const first = rings[0]!;
  const last = rings[rings.length - 1]!;
  const t0 = tangent(0);
  const t1 = tangent(rings.length - 1);
  const L0 = capLength * Math.min(first.ru, first.rv);
  const L1 = capLength * Math.min(last.ru, last.rv);
  for (let k = capRings; k >= 1; k--) {
    const phi = (k / (capRings + 1)) * (Math.PI / 2);
    all.push({
      ...first,
      c: sub(first.c, scale(t0, L0 * Math.sin(phi))),
      ru: first.ru * Math.cos(phi),
      rv: first.rv * Math.cos(phi),
    });
  }
  all.push(...rings);
  for (let k = 1; k <= capRings; k++) {
    const phi = (k / (capRings + 1)) * (Math.PI / 2);
    all.push({
      ...last,
      c: add(last.c, scale(t1, L1 * Math.sin(phi))),
      ru: last.ru * Math.cos(phi),
      rv: last.rv * Math.cos(phi),
    });
  }
  const positions: Vec3[] = [];
  for (const r of all) for (let k = 0; k < n; k++) positions.push(ringPoint(r, (2 * Math.PI * k) / n, e));
  const faces: [number, number, number][] = [];
  for (let i = 0; i + 1 < all.length; i++) {
    for (let k = 0; k < n; k++) {
      const a = i * n + k;
      const b = i * n + ((k + 1) % n);
      const c = (i + 1) * n + ((k + 1) % n);
      const d = (i + 1) * n + k;
      faces.push([a, b, c], [a, c, d]);
    }
  }
  const startPole = positions.length;
  positions.push(o.poles?.[0] ?? sub(first.c, scale(t0, L0)));
  const endPole = positions.length;
  positions.push(o.poles?.[1] ?? add(last.c, scale(t1, L1)));
  const lastRing = (all.length - 1) * n;
  for (let k = 0; k < n; k++) {
    faces.push([startPole, (k + 1) % n, k]);
    faces.push([endPole, lastRing + k, lastRing + ((k + 1) % n)]);
  }
  return { positions, faces };
}

/** Point at arc-length fraction s in [0, 1] along a polyline, and the local direction there. */
export function alongPath(path: Vec3[], s: number): { p: Vec3; t: Vec3 } {
  const lens = path.slice(1).map((q, i) => Math.hypot(...sub(q, path[i]!)));
  const total = lens.reduce((a, b) => a + b, 0);
  let d = s * total;
  for (let i = 0; i < lens.length; i++) {
    if (d <= lens[i]! || i === lens.length - 1) {
      const f = lens[i]! > 0 ? Math.min(1, d / lens[i]!) : 0;
      const a = path[i]!;
      const b = path[i + 1]!;
      // blend directions near interior vertices so rings do not fold at bends
      let t = normalize(sub(b, a));
      const blend = 0.35;
      if (f < blend && i > 0)
        t = normalize(add(scale(t, 0.5 + f / blend / 2), scale(normalize(sub(a, path[i - 1]!)), 0.5 - f / blend / 2)));
      if (f > 1 - blend && i < lens.length - 1) {
        const g = (1 - f) / blend;
        t = normalize(add(scale(t, 0.5 + g / 2), scale(normalize(sub(path[i + 2]!, b)), 0.5 - g / 2)));
      }
      return { p: add(a, scale(sub(b, a), f)), t };
    }
    d -= lens[i]!;
  }
  return { p: path[path.length - 1]!, t: normalize(sub(path[path.length - 1]!, path[path.length - 2]!)) };
}

/**
 * Rings along a polyline: `count` rings at equal arc-length steps, axes from a reference direction `ref`
 * (u = ref made orthogonal to the tangent), radii and centre offset from `profile(s)`.
 */
export function ringsAlong(
  path: Vec3[],
  count: number,
  ref: Vec3,
  profile: (s: number, p: Vec3) => { ru: number; rv: number; offset?: Vec3 },
): Ring[] {
  const rings: Ring[] = [];
  for (let i = 0; i < count; i++) {
    const s = i / (count - 1);
    const { p, t } = alongPath(path, s);
    const u = normalize(sub(ref, scale(t, dot(ref, t))));
    const v = cross(t, u);
    const pr = profile(s, p);
    rings.push({ c: pr.offset ? add(p, pr.offset) : p, u, v, ru: pr.ru, rv: pr.rv });
  }
  return rings;
}

/**
 * Smooth interpolation of a table [[s, value], ...] (sorted by s): Catmull-Rom cubic through the knots, so radii
 * change with a continuous slope along a limb (piecewise smoothstep would flatten at every knot and band the shading).
 */
export function profileOf(table: [number, number][]): (s: number) => number {
  const n = table.length;
  const slope = (i: number): number => {
    const a = table[Math.max(0, i - 1)]!;
    const b = table[Math.min(n - 1, i + 1)]!;
    return b[0] === a[0] ? 0 : (b[1] - a[1]) / (b[0] - a[0]);
  };
  return (s: number) => {
    if (s <= table[0]![0]) return table[0]![1];
    for (let i = 0; i + 1 < n; i++) {
      const [s0, v0] = table[i]!;
      const [s1, v1] = table[i + 1]!;
      if (s <= s1) {
        const h = s1 - s0;
        const t = (s - s0) / h;
        const t2 = t * t;
        const t3 = t2 * t;
        return (
          (2 * t3 - 3 * t2 + 1) * v0 +
          (t3 - 2 * t2 + t) * h * slope(i) +
          (-2 * t3 + 3 * t2) * v1 +
          (t3 - t2) * h * slope(i + 1)
        );
      }
    }
    return table[n - 1]![1];
  };
}
