/** Small geometry helpers for the template stage: closest point on a triangle (with barycentrics), AABBs. */

/** Axis-aligned bounds of a point set (N*3): [minX, minY, minZ, maxX, maxY, maxZ]. */
export function pointBounds(positions: ArrayLike<number>): Float64Array {
  const b = Float64Array.of(Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity);
  for (let i = 0; i < positions.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      const v = positions[i + k]!;
      if (v < b[k]!) b[k] = v;
      if (v > b[3 + k]!) b[3 + k] = v;
    }
  }
  return b;
}

/**
 * The closest point of triangle (a, b, c) to p: writes the barycentrics (u, v, w) of it into `bary` and returns the
 * squared distance (Ericson, Real-Time Collision Detection §5.1.5: Voronoi regions of vertices, edges, face).
 */
export function closestOnTriangle(
  px: number,
  py: number,
  pz: number,
  P: ArrayLike<number>,
  ia: number,
  ib: number,
  ic: number,
  bary: Float64Array,
): number {
  const ax = P[ia]!,
    ay = P[ia + 1]!,
    az = P[ia + 2]!;
  const abx = P[ib]! - ax,
    aby = P[ib + 1]! - ay,
    abz = P[ib + 2]! - az;
  const acx = P[ic]! - ax,
    acy = P[ic + 1]! - ay,
    acz = P[ic + 2]! - az;
  const apx = px - ax,
    apy = py - ay,
    apz = pz - az;
  let u: number, v: number, w: number;
  const d1 = abx * apx + aby * apy + abz * apz;
  const d2 = acx * apx + acy * apy + acz * apz;
  if (d1 <= 0 && d2 <= 0) {
    u = 1;
    v = 0;
    w = 0;
  } else {
    const bpx = px - P[ib]!,
      bpy = py - P[ib + 1]!,
      bpz = pz - P[ib + 2]!;
    const d3 = abx * bpx + aby * bpy + abz * bpz;
    const d4 = acx * bpx + acy * bpy + acz * bpz;
    const cpx = px - P[ic]!,
      cpy = py - P[ic + 1]!,
      cpz = pz - P[ic + 2]!;
    const d5 = abx * cpx + aby * cpy + abz * cpz;
    const d6 = acx * cpx + acy * cpy + acz * cpz;
    const vc = d1 * d4 - d3 * d2;
    const vb = d5 * d2 - d1 * d6;
    const va = d3 * d6 - d5 * d4;
    if (d3 >= 0 && d4 <= d3) {
      u = 0;
      v = 1;
      w = 0;
    } else if (vc <= 0 && d1 >= 0 && d3 <= 0) {
      const t = d1 / (d1 - d3);
      u = 1 - t;
      v = t;
      w = 0;
    } else if (d6 >= 0 && d5 <= d6) {
      u = 0;
      v = 0;
      w = 1;
    } else if (vb <= 0 && d2 >= 0 && d6 <= 0) {
      const t = d2 / (d2 - d6);
      u = 1 - t;
      v = 0;
      w = t;
    } else if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
      const t = (d4 - d3) / (d4 - d3 + (d5 - d6));
      u = 0;
      v = 1 - t;
      w = t;
    } else {
      const denom = va + vb + vc;
      if (!(Math.abs(denom) > 1e-30)) {
        // a degenerate (zero-area) triangle: its first vertex
        u = 1;
        v = 0;
        w = 0;
      } else {
        v = vb / denom;
        w = vc / denom;
        u = 1 - v - w;
      }
    }
  }
  bary[0] = u;
  bary[1] = v;
  bary[2] = w;
  const qx = ax + v * abx + w * acx - px,
    qy = ay + v * aby + w * acy - py,
    qz = az + v * abz + w * acz - pz;
  return qx * qx + qy * qy + qz * qz;
}
