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

/**
 * Index of the nearest source vertex for each query point (N·3), with a uniform grid over the union of both point
 * sets' bounds (so queries far from the source cost no more than near ones), searched in shells of growing radius.
 */
export function nearestVertices(points: ArrayLike<number>, source: ArrayLike<number>): Int32Array {
  const V = source.length / 3;
  const N = points.length / 3;
  const out = new Int32Array(N);
  if (V === 0) return out.fill(-1);
  const a = pointBounds(source);
  const b = pointBounds(points);
  const lo = [0, 1, 2].map((k) => Math.min(a[k]!, N ? b[k]! : a[k]!));
  const hi = [0, 1, 2].map((k) => Math.max(a[3 + k]!, N ? b[3 + k]! : a[3 + k]!));
  // coarse cells (at most 48 across): far queries stop after a few shells
  const ext = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) || 1;
  const cell = ext / Math.min(48, Math.max(4, Math.cbrt(V)));
  const dims = [0, 1, 2].map((k) => Math.floor((hi[k]! - lo[k]!) / cell) + 1);
  const cellOf = (v: number, k: number) => Math.min(dims[k]! - 1, Math.max(0, Math.floor((v - lo[k]!) / cell)));
  const key = (x: number, y: number, z: number) => (x * dims[1]! + y) * dims[2]! + z;
  const counts = new Int32Array(dims[0]! * dims[1]! * dims[2]! + 1);
  const cellIdx = new Int32Array(V);
  for (let i = 0; i < V; i++) {
    cellIdx[i] = key(cellOf(source[3 * i]!, 0), cellOf(source[3 * i + 1]!, 1), cellOf(source[3 * i + 2]!, 2));
    counts[cellIdx[i]! + 1]++;
  }
  for (let c = 1; c < counts.length; c++) counts[c] += counts[c - 1]!;
  const order = new Int32Array(V);
  const fill = counts.slice(0, -1);
  for (let i = 0; i < V; i++) order[fill[cellIdx[i]!]!++] = i;
  const maxR = Math.max(dims[0]!, dims[1]!, dims[2]!);
  const n0 = dims[0]!,
    n1 = dims[1]!,
    n2 = dims[2]!;
  const src = Float64Array.from(source);
  for (let p = 0; p < N; p++) {
    const x = points[3 * p]!,
      y = points[3 * p + 1]!,
      z = points[3 * p + 2]!;
    const c0 = cellOf(x, 0),
      c1 = cellOf(y, 1),
      c2 = cellOf(z, 2);
    let best = -1;
    let bestD = Infinity;
    for (let r = 0; r <= maxR; r++) {
      for (let dx = -r; dx <= r; dx++) {
        const cx = c0 + dx;
        if (cx < 0 || cx >= n0) continue;
        for (let dy = -r; dy <= r; dy++) {
          const cy = c1 + dy;
          if (cy < 0 || cy >= n1) continue;
          const shell = dx === r || dx === -r || dy === r || dy === -r;
          for (let dz = -r; dz <= r; dz += shell ? 1 : 2 * r || 1) {
            const cz = c2 + dz;
            if (cz < 0 || cz >= n2) continue;
            const k = (cx * n1 + cy) * n2 + cz;
            const qe = counts[k + 1]!;
            for (let q = counts[k]!; q < qe; q++) {
              const i = order[q]!;
              const ex = src[3 * i]! - x,
                ey = src[3 * i + 1]! - y,
                ez = src[3 * i + 2]! - z;
              const d = ex * ex + ey * ey + ez * ez;
              if (d < bestD) {
                bestD = d;
                best = i;
              }
            }
          }
        }
      }
      // every unsearched cell is at least r·cell away from the query (which lies inside the grid)
      if (best >= 0 && Math.sqrt(bestD) <= r * cell) break;
    }
    out[p] = best;
  }
  return out;
}
