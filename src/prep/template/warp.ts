/**
 * The posed → canonical map of the fitted frame, tabulated: root finding (root-finding.ts) runs once at the nodes
 * of a grid over the posed body's box, and ray samples take the trilinear blend of their cell's canonical points.
 * The reference root-finds every sample of every step; one frame is fitted, so the map never changes and a table
 * at 1 cm is as good as the solve between nodes and far cheaper. Root finding starts from the inverse of the nearest
 * posed body vertex's blended matrix; nodes where it does not converge (far from the body, where LBS folds) keep its
 * last iterate.
 */
import { runOnThreads, shared, type ThreadOptions } from '../../io/node/worker-pool.js';
import { nearestVertices } from './geometry.js';
import { BlendedVolume, posedToCanonical } from './root-finding.js';
import type { WeightVolume } from './weight-volume.js';

/** Nodes per root-finding batch (and per worker job). */
const WARP_CHUNK = 1 << 14;

export interface ParallelWarpOptions extends ThreadOptions {
  onProgress?: (done: number, total: number) => void;
}

/** What a worker needs to solve nodes: the table's grid, the posed body, the volume (weights shared). */
export interface WarpProblem {
  box: Float64Array;
  dims: [number, number, number];
  body: PosedBody;
  vol: WeightVolume;
}

export interface SolvedNodes {
  /** ((e − s)·3) canonical points of nodes [s, e). */
  canonical: Float32Array;
  /** How many of them converged (residual < 1 mm). */
  ok: number;
}

/** Root finding at the table's nodes [s, e) (index ((x·ny + y)·nz + z)), from the nearest posed vertex's weights. */
export function solveNodes(p: WarpProblem, s: number, e: number, blended: BlendedVolume): SolvedNodes {
  const { box, dims, body, vol } = p;
  const [nx, ny, nz] = dims;
  const J = vol.joints;
  const pts = new Float64Array((e - s) * 3);
  for (let i = s; i < e; i++) {
    const x = Math.floor(i / (ny * nz)),
      y = Math.floor(i / nz) % ny,
      z = i % nz;
    pts[3 * (i - s)] = box[0]! + ((box[3]! - box[0]!) * x) / (nx - 1);
    pts[3 * (i - s) + 1] = box[1]! + ((box[4]! - box[1]!) * y) / (ny - 1);
    pts[3 * (i - s) + 2] = box[2]! + ((box[5]! - box[2]!) * z) / (nz - 1);
  }
  const near = nearestVertices(pts, body.vertices);
  const init = new Float64Array((e - s) * J);
  for (let i = 0; i < e - s; i++) for (let j = 0; j < J; j++) init[i * J + j] = body.weights[near[i]! * J + j]!;
  const r = posedToCanonical(pts, init, body.jointMats, vol, { iterations: 15, blended, weights: false });
  const canonical = new Float32Array((e - s) * 3);
  let ok = 0;
  for (let i = 0; i < e - s; i++) {
    if (r.residual[i]! < 1e-3) ok++;
    for (let c = 0; c < 3; c++) canonical[3 * i + c] = r.canonical[3 * i + c]!;
  }
  return { canonical, ok };
}

export interface PosedBody {
  /** (V·3) posed vertices of the frame. */
  vertices: ArrayLike<number>;
  /** (V·J) body skinning weights. */
  weights: ArrayLike<number>;
  /** (J·16) cano → live joint matrices of the frame. */
  jointMats: ArrayLike<number>;
}

export class InverseWarp {
  /** (nx·ny·nz·3) canonical point of each node, index ((x·ny + y)·nz + z). */
  readonly canonical: Float32Array;
  /** Fraction of nodes whose root finding converged (residual < 1 mm). */
  readonly converged: number;

  constructor(
    /** [min, max] corners of the posed box. */
    readonly box: Float64Array,
    readonly dims: [number, number, number],
    body: PosedBody,
    vol: WeightVolume,
    onProgress?: (done: number, total: number) => void,
  ) {
    const n = dims[0] * dims[1] * dims[2];
    this.canonical = new Float32Array(n * 3);
    let ok = 0;
    const blended = new BlendedVolume(vol, body.jointMats);
    for (let s = 0; s < n; s += WARP_CHUNK) {
      const e = Math.min(n, s + WARP_CHUNK);
      const r = solveNodes({ box, dims, body, vol }, s, e, blended);
      this.canonical.set(r.canonical, 3 * s);
      ok += r.ok;
      onProgress?.(e, n);
    }
    this.converged = ok / n;
  }

  /**
   * The same table with its nodes solved on worker threads (warp-worker.ts; one per core by default; the volume's
   * weights shared, not copied), bit for bit what the constructor makes. The constructor's serial path on one core,
   * for a table of one job, or where the worker's module is missing (running from TypeScript sources without
   * `workerUrl`).
   */
  static async solve(
    box: Float64Array,
    dims: [number, number, number],
    body: PosedBody,
    vol: WeightVolume,
    options: ParallelWarpOptions = {},
  ): Promise<InverseWarp> {
    const n = dims[0] * dims[1] * dims[2];
    const jobs: [number, number][] = [];
    for (let s = 0; s < n; s += WARP_CHUNK) jobs.push([s, Math.min(n, s + WARP_CHUNK)]);
    const canonical = new Float32Array(n * 3);
    let ok = 0;
    let done = 0;
    const threaded =
      jobs.length > 1 &&
      (await runOnThreads<[number, number], SolvedNodes>(
        new URL('./warp-worker.js', import.meta.url),
        (): WarpProblem => ({
          box,
          dims,
          body: {
            vertices: Float64Array.from(body.vertices),
            weights: Float64Array.from(body.weights),
            jointMats: Float64Array.from(body.jointMats),
          },
          vol: {
            ...vol,
            weights: shared(vol.weights),
          },
        }),
        jobs,
        (r, i) => {
          canonical.set(r.canonical, 3 * jobs[i]![0]);
          ok += r.ok;
          done += jobs[i]![1] - jobs[i]![0];
          options.onProgress?.(done, n);
        },
        options,
      ));
    if (!threaded) return new InverseWarp(box, dims, body, vol, options.onProgress);
    const warp = Object.create(InverseWarp.prototype) as InverseWarp;
    return Object.assign(warp, { box, dims, canonical, converged: ok / n });
  }

  /** Node counts for a box at a cell size (at least 2 per axis). */
  static dimsFor(box: ArrayLike<number>, cell: number): [number, number, number] {
    return [0, 1, 2].map((k) => Math.max(2, Math.ceil((box[3 + k]! - box[k]!) / cell) + 1)) as [number, number, number];
  }

  /** The canonical point of a posed point (trilinear; clamped to the box). No allocation. */
  lookup(px: number, py: number, pz: number, out: Float64Array, at = 0): void {
    const d = this.dims;
    const nx = d[0],
      ny = d[1],
      nz = d[2];
    const b = this.box;
    const cx = Math.min(Math.max(((px - b[0]!) / (b[3]! - b[0]!)) * (nx - 1), 0), nx - 1),
      cy = Math.min(Math.max(((py - b[1]!) / (b[4]! - b[1]!)) * (ny - 1), 0), ny - 1),
      cz = Math.min(Math.max(((pz - b[2]!) / (b[5]! - b[2]!)) * (nz - 1), 0), nz - 1);
    const x0 = Math.min(Math.floor(cx), nx - 2),
      y0 = Math.min(Math.floor(cy), ny - 2),
      z0 = Math.min(Math.floor(cz), nz - 2);
    const fx = cx - x0,
      fy = cy - y0,
      fz = cz - z0;
    const tab = this.canonical;
    let o0 = 0,
      o1 = 0,
      o2 = 0;
    // the eight corners in the order (x, y, z) = 000, 001, 010, ..., 111, as sums of w·corner (zero weights skipped)
    for (let c = 0; c < 8; c++) {
      const ox = c >> 2,
        oy = (c >> 1) & 1,
        oz = c & 1;
      const w = (ox ? fx : 1 - fx) * (oy ? fy : 1 - fy) * (oz ? fz : 1 - fz);
      if (w === 0) continue;
      const i = 3 * (((x0 + ox) * ny + (y0 + oy)) * nz + (z0 + oz));
      o0 += w * tab[i]!;
      o1 += w * tab[i + 1]!;
      o2 += w * tab[i + 2]!;
    }
    out[at] = o0;
    out[at + 1] = o1;
    out[at + 2] = o2;
  }
}
