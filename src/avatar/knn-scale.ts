/**
 * The Gaussians' initial (isotropic) log-scale: log √(mean squared distance to the 3 nearest other points), as 3D
 * Gaussian Splatting initialises from a point cloud. Squared distances are floored at 1e-7 (as 3DGS does) so that
 * coincident points get a small finite scale instead of log 0.
 *
 * A uniform grid makes this O(N) for the ~3·10⁵ canonical map points: points are bucketed by cell, and each query
 * walks shells of cells around its own (Chebyshev radius r = 0, 1, …) until its third-best distance is within
 * r·cell, which no point outside the walked cube can beat.
 */

const K = 3;
export const MIN_SQUARED_DISTANCE = 1e-7;

/** Mean squared distance to the K = 3 nearest other points, per point (fewer when there are fewer points). */
export function meanSquaredKnnDistance(points: ArrayLike<number>): Float64Array {
  const n = Math.floor(points.length / 3);
  const out = new Float64Array(n);
  if (n < 2) return out.fill(MIN_SQUARED_DISTANCE);
  const { cell, dims, cellStart, cellOf, order, xs, ys, zs } = buildGrid(points, n);
  const [nx, ny, nz] = dims;
  const best = new Float64Array(K);
  const k = Math.min(K, n - 1);
  const maxR = Math.max(nx, ny, nz);
  // Queries in cell order, so neighbouring queries touch the same memory.
  for (let i = 0; i < n; i++) {
    const px = xs[i]!;
    const py = ys[i]!;
    const pz = zs[i]!;
    const c0 = cellOf[i]!;
    const cz = c0 % nz;
    const cy = Math.floor(c0 / nz) % ny;
    const cx = Math.floor(c0 / (nz * ny));
    best.fill(Infinity);
    for (let r = 0; r <= maxR; r++) {
      for (let x = Math.max(cx - r, 0); x <= Math.min(cx + r, nx - 1); x++) {
        const onX = x === cx - r || x === cx + r;
        for (let y = Math.max(cy - r, 0); y <= Math.min(cy + r, ny - 1); y++) {
          const onXY = onX || y === cy - r || y === cy + r;
          // Only the shell: inner cells were walked at smaller r (off the x/y faces, only z = cz ± r).
          const step = onXY ? 1 : 2 * r;
          for (let z = cz - r; z <= cz + r; z += step) {
            if (z < 0 || z >= nz) continue;
            const c = (x * ny + y) * nz + z;
            const end = cellStart[c + 1]!;
            for (let j = cellStart[c]!; j < end; j++) {
              if (j === i) continue;
              const dx = xs[j]! - px;
              const dy = ys[j]! - py;
              const dz = zs[j]! - pz;
              const d = dx * dx + dy * dy + dz * dz;
              if (d < best[K - 1]!) insert(best, d);
            }
          }
        }
      }
      const reach = r * cell;
      if (best[k - 1]! <= reach * reach) break;
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += best[j]!;
    out[order[i]!] = Math.max(sum / k, MIN_SQUARED_DISTANCE);
  }
  return out;
}

/** log √(mean squared 3-NN distance) per point: the Gaussians' initial raw scale (the same on all three axes). */
export function initialScaleRaw(points: ArrayLike<number>): Float32Array {
  const d2 = meanSquaredKnnDistance(points);
  const out = new Float32Array(d2.length);
  for (let i = 0; i < d2.length; i++) out[i] = 0.5 * Math.log(d2[i]!);
  return out;
}

function insert(best: Float64Array, d: number): void {
  let j = K - 1;
  while (j > 0 && best[j - 1]! > d) {
    best[j] = best[j - 1]!;
    j--;
  }
  best[j] = d;
}

interface Grid {
  cell: number;
  dims: [number, number, number];
  /** Points of cell c are positions cellStart[c] … cellStart[c + 1] − 1 of the cell-sorted order. */
  cellStart: Int32Array;
  /** Cell of each sorted point; order[j] = original index of sorted point j; xs/ys/zs its coordinates. */
  cellOf: Int32Array;
  order: Int32Array;
  xs: Float64Array;
  ys: Float64Array;
  zs: Float64Array;
}

/** At most this many cells (a dense table of starts): a wider cell keeps the result exact, only slower. */
const MAX_CELLS = 1 << 22;

/**
 * Cell size: start from the spacing of points filling the bounding box, then shrink while occupied cells hold many
 * points (surface samples fill a 2D sheet, far denser per occupied cell than the volume estimate assumes).
 */
function buildGrid(points: ArrayLike<number>, n: number): Grid {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++)
    for (let a = 0; a < 3; a++) {
      const v = points[3 * i + a]!;
      if (!Number.isFinite(v)) throw new Error(`knn-scale: point ${i} has a non-finite coordinate ${v}`);
      lo[a] = Math.min(lo[a]!, v);
      hi[a] = Math.max(hi[a]!, v);
    }
  const ext = hi.map((h, a) => h - lo[a]!);
  const span = Math.max(...ext, 1e-9);
  const vol = ext.reduce((v, e) => v * Math.max(e, span * 1e-3), 1);
  const minCell = Math.cbrt(vol / MAX_CELLS) * 1.01;
  let cell = Math.max(Math.cbrt(vol / n), minCell);
  let grid = bucket(points, n, lo, ext, cell);
  for (let iter = 0; iter < 4; iter++) {
    let occupied = 0;
    for (let c = 0; c < grid.cellStart.length - 1; c++) if (grid.cellStart[c + 1]! > grid.cellStart[c]!) occupied++;
    const perCell = n / occupied;
    const next = Math.max(cell / Math.sqrt(perCell / 3), minCell);
    if (perCell <= 6 || next >= cell * 0.9) break;
    cell = next;
    grid = bucket(points, n, lo, ext, cell);
  }
  return grid;
}

/** Counting sort of the points by cell. */
function bucket(points: ArrayLike<number>, n: number, lo: number[], ext: number[], cell: number): Grid {
  const dims = ext.map((e) => Math.max(1, Math.floor(e / cell) + 1)) as [number, number, number];
  const cells = dims[0] * dims[1] * dims[2];
  const cellStart = new Int32Array(cells + 1);
  const key = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let a = 0; a < 3; a++) {
      c = c * dims[a]! + Math.min(Math.floor((points[3 * i + a]! - lo[a]!) / cell), dims[a]! - 1);
    }
    key[i] = c;
    cellStart[c + 1]!++;
  }
  for (let c = 0; c < cells; c++) cellStart[c + 1]! += cellStart[c]!;
  const fill = cellStart.slice(0, cells);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[key[i]!]!++] = i;
  // plain loops: TypedArray.from(src, fn) calls fn through an iterator per element (~10× slower at 3·10⁵ points)
  const cellOf = new Int32Array(n);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  const zs = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    cellOf[j] = key[i]!;
    xs[j] = points[3 * i]!;
    ys[j] = points[3 * i + 1]!;
    zs[j] = points[3 * i + 2]!;
  }
  return { cell, dims, cellStart, cellOf, order, xs, ys, zs };
}
