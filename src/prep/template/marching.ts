/**
 * Iso-surface extraction from a sampled SDF (the template's last step): marching cubes
 * with each cube split into six tetrahedra around its main diagonal (the Freudenthal split, the same on shared faces
 * of neighbouring cubes). A tetrahedron's sign pattern gives zero, one or two triangles — no case table and no
 * ambiguous cases — and vertices on grid edges are shared, so a surface that stays inside the grid comes out as a
 * closed, consistently oriented (counter-clockwise seen from outside, SDF > 0 outside) manifold mesh.
 * Normals are the normalised SDF gradient (central differences, interpolated along the edge like the position).
 */
import type { TriMesh } from '../../io/mesh.js';

export interface SdfGrid {
  /** Samples per axis. */
  dims: readonly [number, number, number];
  /** Position of sample (0, 0, 0). */
  origin: readonly [number, number, number];
  /** Distance between samples per axis. */
  spacing: readonly [number, number, number];
  /** (nx·ny·nz) values, index (x·ny + y)·nz + z. */
  values: ArrayLike<number>;
}

/** The six tetrahedra of a cube: corner bits (x << 2 | y << 1 | z), all around the diagonal 0 → 7. */
const TETS: readonly (readonly [number, number, number, number])[] = (() => {
  const out: [number, number, number, number][] = [];
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  const bit = [4, 2, 1]; // x, y, z
  for (const p of perms) {
    const a = 0;
    const b = a | bit[p[0]!]!;
    const c = b | bit[p[1]!]!;
    out.push([a, b, c, 7]);
  }
  return out;
})();

/** The iso-surface of an SDF grid at `level` (default 0) as a triangle mesh with normals; see the file comment. */
export function extractIsosurface(grid: SdfGrid, level = 0): TriMesh & { normals: Float64Array } {
  const [nx, ny, nz] = grid.dims;
  const V = grid.values;
  if (V.length !== nx * ny * nz) throw new Error(`iso-surface: ${V.length} values for a ${nx}x${ny}x${nz} grid`);
  const idx = (x: number, y: number, z: number) => (x * ny + y) * nz + z;
  const total = nx * ny * nz;
  const pos: number[] = [];
  const nrm: number[] = [];
  const faces: number[] = [];
  const edgeVertex = new Map<number, number>();
  const gradAt = (i: number, out: number[]): void => {
    const z = i % nz,
      y = Math.floor(i / nz) % ny,
      x = Math.floor(i / (ny * nz));
    const c = [x, y, z];
    const n = [nx, ny, nz];
    for (let k = 0; k < 3; k++) {
      const lo = c.slice(),
        hi = c.slice();
      lo[k] = Math.max(0, c[k]! - 1);
      hi[k] = Math.min(n[k]! - 1, c[k]! + 1);
      const span = (hi[k]! - lo[k]!) * grid.spacing[k]!;
      out[k] = span > 0 ? (V[idx(hi[0]!, hi[1]!, hi[2]!)]! - V[idx(lo[0]!, lo[1]!, lo[2]!)]!) / span : 0;
    }
  };
  const ga = [0, 0, 0],
    gb = [0, 0, 0];
  const vertexOn = (a: number, b: number): number => {
    const key = a < b ? a * total + b : b * total + a;
    const hit = edgeVertex.get(key);
    if (hit !== undefined) return hit;
    const va = V[a]! - level,
      vb = V[b]! - level;
    const t = va / (va - vb);
    const id = pos.length / 3;
    const ca = [Math.floor(a / (ny * nz)), Math.floor(a / nz) % ny, a % nz];
    const cb = [Math.floor(b / (ny * nz)), Math.floor(b / nz) % ny, b % nz];
    for (let k = 0; k < 3; k++) pos.push(grid.origin[k]! + grid.spacing[k]! * (ca[k]! + t * (cb[k]! - ca[k]!)));
    gradAt(a, ga);
    gradAt(b, gb);
    const g = [0, 1, 2].map((k) => ga[k]! + t * (gb[k]! - ga[k]!));
    const l = Math.hypot(g[0]!, g[1]!, g[2]!) || 1;
    nrm.push(g[0]! / l, g[1]! / l, g[2]! / l);
    edgeVertex.set(key, id);
    return id;
  };
  /**
   * Add the triangle on edges e0, e1, e2 (pairs of sample indices), oriented so that its normal points along `dir`.
   * The orientation is decided on the edges' midpoints (never degenerate), so a triangle collapsed by a sample lying
   * exactly on the level keeps the orientation of its neighbours.
   */
  const mid = (e: readonly [number, number], out: number[]): void => {
    for (let k = 0; k < 3; k++) out[k] = 0;
    addCoords(out, e[0], ny, nz, grid.spacing, 0.5);
    addCoords(out, e[1], ny, nz, grid.spacing, 0.5);
  };
  const m0 = [0, 0, 0],
    m1 = [0, 0, 0],
    m2 = [0, 0, 0];
  const tri = (e0: [number, number], e1: [number, number], e2: [number, number], dir: number[]): void => {
    mid(e0, m0);
    mid(e1, m1);
    mid(e2, m2);
    const u = [0, 1, 2].map((c) => m1[c]! - m0[c]!);
    const v = [0, 1, 2].map((c) => m2[c]! - m0[c]!);
    const n = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
    const i = vertexOn(e0[0], e0[1]),
      j = vertexOn(e1[0], e1[1]),
      k = vertexOn(e2[0], e2[1]);
    if (n[0]! * dir[0]! + n[1]! * dir[1]! + n[2]! * dir[2]! < 0) faces.push(i, k, j);
    else faces.push(i, j, k);
  };
  const corner = new Int32Array(8);
  const inside: number[] = [];
  const outside: number[] = [];
  for (let x = 0; x + 1 < nx; x++) {
    for (let y = 0; y + 1 < ny; y++) {
      for (let z = 0; z + 1 < nz; z++) {
        let neg = 0;
        for (let c = 0; c < 8; c++) {
          corner[c] = idx(x + (c >> 2), y + ((c >> 1) & 1), z + (c & 1));
          if (V[corner[c]!]! < level) neg++;
        }
        if (neg === 0 || neg === 8) continue;
        for (const t of TETS) {
          inside.length = 0;
          outside.length = 0;
          for (const c of t) (V[corner[c]!]! < level ? inside : outside).push(corner[c]!);
          if (inside.length === 0 || outside.length === 0) continue;
          // direction from the inside corners' centroid to the outside corners' (grid units suffice for the sign)
          const dir = [0, 0, 0];
          for (const v of outside) addCoords(dir, v, ny, nz, grid.spacing, 1 / outside.length);
          for (const v of inside) addCoords(dir, v, ny, nz, grid.spacing, -1 / inside.length);
          if (inside.length === 1 || outside.length === 1) {
            const [lone, others] = inside.length === 1 ? [inside[0]!, outside] : [outside[0]!, inside];
            tri([lone, others[0]!], [lone, others[1]!], [lone, others[2]!], dir);
          } else {
            const [a, b] = inside as [number, number];
            const [c, d] = outside as [number, number];
            // the quad a-c, a-d, b-d, b-c (a cycle around the separating plane)
            tri([a, c], [a, d], [b, d], dir);
            tri([a, c], [b, d], [b, c], dir);
          }
        }
      }
    }
  }
  return { positions: Float64Array.from(pos), faces: Uint32Array.from(faces), normals: Float64Array.from(nrm) };
}

function addCoords(acc: number[], v: number, ny: number, nz: number, s: readonly number[], w: number): void {
  acc[0] += w * s[0]! * Math.floor(v / (ny * nz));
  acc[1] += w * s[1]! * (Math.floor(v / nz) % ny);
  acc[2] += w * s[2]! * (v % nz);
}

/** Enclosed volume of a closed triangle mesh (divergence theorem; positive for outward-facing triangles). */
export function meshVolume(positions: ArrayLike<number>, faces: ArrayLike<number>): number {
  let v = 0;
  for (let t = 0; t < faces.length; t += 3) {
    const a = faces[t]! * 3,
      b = faces[t + 1]! * 3,
      c = faces[t + 2]! * 3;
    const P = positions;
    v +=
      P[a]! * (P[b + 1]! * P[c + 2]! - P[b + 2]! * P[c + 1]!) -
      P[a + 1]! * (P[b]! * P[c + 2]! - P[b + 2]! * P[c]!) +
      P[a + 2]! * (P[b]! * P[c + 1]! - P[b + 1]! * P[c]!);
  }
  return v / 6;
}

/**
 * Edges used by other than exactly two triangles, and pairs of triangles that traverse a shared edge in the same
 * direction (inconsistent orientation): both 0 for a closed, oriented manifold.
 */
export function meshDefects(faces: ArrayLike<number>): { openEdges: number; flippedEdges: number } {
  const directed = new Map<string, number>();
  for (let t = 0; t < faces.length; t += 3) {
    for (let e = 0; e < 3; e++) {
      const a = faces[t + e]!,
        b = faces[t + ((e + 1) % 3)]!;
      const k = `${a},${b}`;
      directed.set(k, (directed.get(k) ?? 0) + 1);
    }
  }
  let openEdges = 0;
  let flippedEdges = 0;
  for (const [k, n] of directed) {
    const [a, b] = k.split(',');
    const back = directed.get(`${b},${a}`) ?? 0;
    if (n > 1) flippedEdges += n - 1;
    if (back !== n) openEdges++;
  }
  return { openEdges, flippedEdges };
}
