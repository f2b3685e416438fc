/**
 * The canonical skinning-weight volume: the body's LBS weights diffused into a cubic
 * grid around the canonical body, so that any canonical point (a loose skirt's, far from the body) has weights.
 *
 * Our own solver, no external binary: every voxel whose centre lies within half a voxel diagonal of the canonical
 * mesh is fixed to the weights of its closest surface point (barycentric blend of the triangle's vertex weights);
 * every other voxel solves Laplace's equation (harmonic: smooth, no spurious extrema), with zero-flux (Neumann) walls.
 * Weights that sum to 1 on the surface then sum to 1 everywhere (linearity); values are clipped to [0, 1] and
 * renormalised afterwards as the reference does. Each joint's channel is solved coarse to fine (a cascade of
 * red-black SOR sweeps on grids of halving size, each level started from the trilinear prolongation of the one
 * below), only for joints that have weight somewhere on the surface; the others stay 0.
 *
 * Grid: R³ samples over a cube centred on the canonical mesh's AABB, side 1.1 × its largest extent; sample (i, j, k)
 * sits at min + (i, j, k)·side/(R − 1) (align_corners = true). Lookup is trilinear with border clamping; its exact
 * spatial derivative is what root finding uses.
 */
import { runOnThreads, shared, type ThreadOptions } from '../../io/node/worker-pool.js';
import { pointBounds, closestOnTriangle } from './geometry.js';

export interface WeightVolume {
  /** Samples per axis. */
  res: number;
  /** Channels (joints), 55 for SMPL-X. */
  joints: number;
  /** (R, R, R, J) float32, index ((x·R + y)·R + z)·J + j. */
  weights: Float32Array;
  /** [minX, minY, minZ, maxX, maxY, maxZ] of the grid (a cube). */
  bounds: Float64Array;
  /** The canonical body's AABB centre (the cube's centre). */
  center: Float64Array;
  /** The canonical body's AABB [min, max]. */
  bodyBounds: Float64Array;
}

export interface DiffuseOptions {
  /** Samples per axis (default 128, as the reference). */
  res?: number;
  /** Side of the cube over the body's largest extent (default 1.1). */
  padding?: number;
  /** SOR sweeps at the finest level (default 40); coarser levels get more (×1.5 per level, at most 400). */
  iterations?: number;
  /** Over-relaxation factor (default 1.8). */
  omega?: number;
  /** Coarsest grid side (default 12). */
  coarsest?: number;
  /** Called after each joint channel. */
  onProgress?: (done: number, total: number) => void;
}

export interface SurfaceMesh {
  positions: ArrayLike<number>;
  faces: ArrayLike<number>;
  /** (V·J) skinning weights. */
  weights: ArrayLike<number>;
  numJoints: number;
}

/** The cube around a canonical body: centred on its AABB, side `padding` × its largest extent. */
export function volumeBoundsFor(
  positions: ArrayLike<number>,
  padding = 1.1,
): { bounds: Float64Array; center: Float64Array; body: Float64Array } {
  const body = pointBounds(positions);
  const center = Float64Array.from([0, 1, 2], (k) => (body[k]! + body[3 + k]!) / 2);
  const half = (padding * Math.max(body[3]! - body[0]!, body[4]! - body[1]!, body[5]! - body[2]!)) / 2;
  const bounds = Float64Array.from([0, 1, 2, 3, 4, 5], (k) => center[k % 3]! + (k < 3 ? -half : half));
  return { bounds, center, body };
}

/** Fixed voxels of an R³ grid over `bounds`: those within half a voxel diagonal of the mesh, with their weights. */
export interface Constraints {
  /** Voxel indices (x·R + y)·R + z, ascending. */
  voxels: Int32Array;
  /** (voxels × J) weights of each voxel's closest surface point. */
  values: Float32Array;
}

export function surfaceConstraints(mesh: SurfaceMesh, bounds: ArrayLike<number>, R: number): Constraints {
  const J = mesh.numJoints;
  const P = mesh.positions;
  const F = mesh.faces;
  const lo = [bounds[0]!, bounds[1]!, bounds[2]!];
  const h = (bounds[3]! - bounds[0]!) / (R - 1);
  const reach = 0.5 * Math.sqrt(3) * h;
  const best = new Float64Array(R * R * R).fill(Infinity);
  const bestFace = new Int32Array(R * R * R).fill(-1);
  const bestBary = new Float32Array(R * R * R * 3);
  const bary = new Float64Array(3);
  for (let t = 0; t < F.length / 3; t++) {
    const ia = F[3 * t]! * 3,
      ib = F[3 * t + 1]! * 3,
      ic = F[3 * t + 2]! * 3;
    const r0 = [0, 0, 0],
      r1 = [0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const mn = Math.min(P[ia + k]!, P[ib + k]!, P[ic + k]!) - reach;
      const mx = Math.max(P[ia + k]!, P[ib + k]!, P[ic + k]!) + reach;
      r0[k] = Math.max(0, Math.ceil((mn - lo[k]!) / h));
      r1[k] = Math.min(R - 1, Math.floor((mx - lo[k]!) / h));
    }
    for (let x = r0[0]!; x <= r1[0]!; x++) {
      const px = lo[0]! + x * h;
      for (let y = r0[1]!; y <= r1[1]!; y++) {
        const py = lo[1]! + y * h;
        for (let z = r0[2]!; z <= r1[2]!; z++) {
          const pz = lo[2]! + z * h;
          const d2 = closestOnTriangle(px, py, pz, P, ia, ib, ic, bary);
          const v = (x * R + y) * R + z;
          if (d2 < best[v]! && d2 <= reach * reach) {
            best[v] = d2;
            bestFace[v] = t;
            bestBary[3 * v] = bary[0]!;
            bestBary[3 * v + 1] = bary[1]!;
            bestBary[3 * v + 2] = bary[2]!;
          }
        }
      }
    }
  }
  let n = 0;
  for (let v = 0; v < bestFace.length; v++) if (bestFace[v]! >= 0) n++;
  const voxels = new Int32Array(n);
  const values = new Float32Array(n * J);
  const W = mesh.weights;
  let c = 0;
  for (let v = 0; v < bestFace.length; v++) {
    const t = bestFace[v]!;
    if (t < 0) continue;
    voxels[c] = v;
    for (let q = 0; q < 3; q++) {
      const b = bestBary[3 * v + q]!;
      if (b === 0) continue;
      const row = F[3 * t + q]! * J;
      for (let j = 0; j < J; j++) values[c * J + j] += b * W[row + j]!;
    }
    c++;
  }
  return { voxels, values };
}

/** Grid sides from fine to coarse: R, ~R/2, ... down to `coarsest`. */
function levelSides(R: number, coarsest: number): number[] {
  const sides = [R];
  while (Math.round(sides[sides.length - 1]! / 2) >= coarsest) sides.push(Math.round(sides[sides.length - 1]! / 2));
  return sides;
}

/** A padded (R + 2)³ scalar grid for the solver; ghosts hold the Neumann mirror of the faces. */
class PaddedGrid {
  readonly P: number;
  readonly u: Float32Array;
  constructor(readonly R: number) {
    this.P = R + 2;
    this.u = new Float32Array(this.P * this.P * this.P);
  }
  at(x: number, y: number, z: number): number {
    return ((x + 1) * this.P + (y + 1)) * this.P + (z + 1);
  }
  /** Copy each face into its ghost layer (zero normal derivative). */
  ghosts(): void {
    const { P, u } = this;
    const PP = P * P;
    for (let a = 0; a < P; a++) {
      for (let b = 0; b < P; b++) {
        u[a * P + b] = u[PP + a * P + b]!; // x = -1 <- x = 0
        u[(P - 1) * PP + a * P + b] = u[(P - 2) * PP + a * P + b]!;
        u[a * PP + b] = u[a * PP + P + b]!; // y
        u[a * PP + (P - 1) * P + b] = u[a * PP + (P - 2) * P + b]!;
        u[a * PP + b * P] = u[a * PP + b * P + 1]!; // z
        u[a * PP + b * P + P - 1] = u[a * PP + b * P + P - 2]!;
      }
    }
  }
  /** Trilinear value at continuous grid coordinates (border clamped). */
  sample(gx: number, gy: number, gz: number): number {
    const R = this.R;
    const cx = Math.min(Math.max(gx, 0), R - 1),
      cy = Math.min(Math.max(gy, 0), R - 1),
      cz = Math.min(Math.max(gz, 0), R - 1);
    const x0 = Math.min(Math.floor(cx), R - 2),
      y0 = Math.min(Math.floor(cy), R - 2),
      z0 = Math.min(Math.floor(cz), R - 2);
    const fx = cx - x0,
      fy = cy - y0,
      fz = cz - z0;
    const P = this.P,
      PP = P * P;
    const i = this.at(x0, y0, z0);
    const u = this.u;
    const c00 = u[i]! * (1 - fz) + u[i + 1]! * fz;
    const c01 = u[i + P]! * (1 - fz) + u[i + P + 1]! * fz;
    const c10 = u[i + PP]! * (1 - fz) + u[i + PP + 1]! * fz;
    const c11 = u[i + PP + P]! * (1 - fz) + u[i + PP + P + 1]! * fz;
    return (c00 * (1 - fy) + c01 * fy) * (1 - fx) + (c10 * (1 - fy) + c11 * fy) * fx;
  }
}

/** One grid of the coarse-to-fine cascade: its side, its fixed voxels and their values for every joint. */
export interface DiffusionLevel {
  R: number;
  /** Padded indices ((x + 1)·P + (y + 1))·P + (z + 1), P = R + 2, of the fixed voxels. */
  fixed: Int32Array;
  /** (fixed × J) the fixed voxels' weights. */
  values: Float32Array;
  sweeps: number;
}

/** Everything one joint's channel needs (plain typed arrays: a worker thread receives it as it is). */
export interface DiffusionProblem {
  joints: number;
  omega: number;
  /** Fine to coarse. */
  levels: DiffusionLevel[];
}

/** Red-black SOR sweeps of the 7-point Laplacian; fixed voxels are restored after each half sweep, ghosts after each sweep. */
function relax(g: PaddedGrid, fixed: Int32Array, fixedValues: Float32Array, sweeps: number, omega: number): void {
  const { R, P, u } = g;
  const PP = P * P;
  const w6 = omega / 6;
  for (let s = 0; s < sweeps; s++) {
    for (let colour = 0; colour < 2; colour++) {
      for (let x = 1; x <= R; x++) {
        for (let y = 1; y <= R; y++) {
          const row = x * PP + y * P;
          for (let z = 1 + ((x + y + colour) & 1); z <= R; z += 2) {
            const i = row + z;
            const c = u[i]!;
            u[i] = c + w6 * (u[i - 1]! + u[i + 1]! + u[i - P]! + u[i + P]! + u[i - PP]! + u[i + PP]! - 6 * c);
          }
        }
      }
      for (let k = 0; k < fixed.length; k++) u[fixed[k]!] = fixedValues[k]!;
    }
    g.ghosts();
  }
}

/**
 * Joint j's harmonic channel, coarse to fine: (R³) float32 at the finest level, index (x·R + y)·R + z, before the
 * clipping and renormalisation of all channels together.
 */
export function solveChannel(problem: DiffusionProblem, j: number): Float32Array {
  const { joints: J, omega, levels } = problem;
  let prev: PaddedGrid | null = null;
  for (let k = levels.length - 1; k >= 0; k--) {
    const lvl = levels[k]!;
    const g = new PaddedGrid(lvl.R);
    const fv = new Float32Array(lvl.fixed.length);
    for (let c = 0; c < fv.length; c++) fv[c] = lvl.values[c * J + j]!;
    if (prev) {
      // prolongation: the coarser solution sampled at this level's voxel centres (same physical cube)
      const s = (prev.R - 1) / (lvl.R - 1);
      for (let x = 0; x < lvl.R; x++)
        for (let y = 0; y < lvl.R; y++)
          for (let z = 0; z < lvl.R; z++) g.u[g.at(x, y, z)] = prev.sample(x * s, y * s, z * s);
    } else {
      // coarsest: start from the mean of the fixed values
      let m = 0;
      for (let c = 0; c < fv.length; c++) m += fv[c]!;
      g.u.fill(fv.length ? m / fv.length : 0);
    }
    for (let c = 0; c < fv.length; c++) g.u[lvl.fixed[c]!] = fv[c]!;
    g.ghosts();
    relax(g, lvl.fixed, fv, lvl.sweeps, omega);
    prev = g;
  }
  const g = prev!;
  const R = g.R;
  const out = new Float32Array(R * R * R);
  for (let x = 0; x < R; x++)
    for (let y = 0; y < R; y++) {
      const base = ((x + 1) * g.P + (y + 1)) * g.P + 1;
      out.set(g.u.subarray(base, base + R), (x * R + y) * R);
    }
  return out;
}

/** The volume's cube, the cascade's levels and the joints with weight somewhere on the surface. */
interface Diffusion {
  problem: DiffusionProblem;
  active: number[];
  fine: Constraints;
  bounds: Float64Array;
  center: Float64Array;
  body: Float64Array;
  res: number;
}

function setUp(mesh: SurfaceMesh, options: DiffuseOptions, inShared: boolean): Diffusion {
  const R = options.res ?? 128;
  if (!Number.isInteger(R) || R < 4) throw new Error(`weight volume: res ${R} must be an integer of at least 4`);
  const J = mesh.numJoints;
  const fineSweeps = options.iterations ?? 40;
  const { bounds, center, body } = volumeBoundsFor(mesh.positions, options.padding ?? 1.1);
  const sides = levelSides(R, Math.min(R, options.coarsest ?? 12));
  // worker threads read the levels from shared memory instead of a copy each
  const alloc = <T extends Int32Array | Float32Array>(a: T): T => (inShared ? shared(a) : a);
  let fine: Constraints | undefined;
  const levels: DiffusionLevel[] = sides.map((side, k) => {
    const constraints = surfaceConstraints(mesh, bounds, side);
    if (k === 0) fine = constraints;
    const P = side + 2;
    const fixed = new Int32Array(constraints.voxels.length);
    for (let c = 0; c < fixed.length; c++) {
      const v = constraints.voxels[c]!;
      const z = v % side,
        y = Math.floor(v / side) % side,
        x = Math.floor(v / (side * side));
      fixed[c] = ((x + 1) * P + (y + 1)) * P + (z + 1);
    }
    const sweeps = Math.min(400, Math.round(fineSweeps * 1.5 ** k));
    return { R: side, fixed: alloc(fixed), values: alloc(constraints.values), sweeps };
  });
  if (fine!.voxels.length === 0) throw new Error('weight volume: the mesh touches no voxel of the grid');
  const active: number[] = [];
  for (let j = 0; j < J; j++) {
    let mx = 0;
    const vals = fine!.values;
    for (let c = 0; c < fine!.voxels.length; c++) mx = Math.max(mx, vals[c * J + j]!);
    if (mx > 1e-6) active.push(j);
  }
  return {
    problem: { joints: J, omega: options.omega ?? 1.8, levels },
    active,
    fine: fine!,
    bounds,
    center,
    body,
    res: R,
  };
}

/** Interleave a solved channel into the (R³ × J) volume. */
function putChannel(out: Float32Array, channel: Float32Array, j: number, J: number): void {
  for (let v = 0; v < channel.length; v++) out[v * J + j] = channel[v]!;
}

/** Clip, renormalise, and give the fixed voxels their surface values exactly. */
function finish(d: Diffusion, out: Float32Array): WeightVolume {
  const J = d.problem.joints;
  normaliseRows(out, J);
  const fine = d.fine;
  for (let c = 0; c < fine.voxels.length; c++) {
    const v = fine.voxels[c]!;
    let s = 0;
    for (let j = 0; j < J; j++) s += fine.values[c * J + j]!;
    for (let j = 0; j < J; j++) out[v * J + j] = s > 0 ? fine.values[c * J + j]! / s : 0;
  }
  return { res: d.res, joints: J, weights: out, bounds: d.bounds, center: d.center, bodyBounds: d.body };
}

/**
 * Diffuse a canonical mesh's skinning weights into an R³ volume (see the file comment), on this thread. CPU,
 * float32; at 128³ the work is ~40 SOR sweeps per joint at the finest level over 2.1M voxels.
 */
export function diffuseWeights(mesh: SurfaceMesh, options: DiffuseOptions = {}): WeightVolume {
  const d = setUp(mesh, options, false);
  const out = new Float32Array(d.res ** 3 * mesh.numJoints);
  solveHere(d, mesh.numJoints, out, options);
  return finish(d, out);
}

/** Every active channel on this thread, into `out`. */
function solveHere(d: Diffusion, J: number, out: Float32Array, options: DiffuseOptions): void {
  d.active.forEach((j, a) => {
    putChannel(out, solveChannel(d.problem, j), j, J);
    options.onProgress?.(a + 1, d.active.length);
  });
}

export type ParallelDiffuseOptions = DiffuseOptions & ThreadOptions;

/**
 * `diffuseWeights` with the joints' channels solved on worker threads (diffuse-worker.ts; they are independent): the
 * same volume, bit for bit, in about 1/cores of the time (55 s on one thread of the GPU machine's CPU for SMPL-X at
 * 128³). On one core, or without the worker's module, on this thread.
 */
export async function diffuseWeightsParallel(
  mesh: SurfaceMesh,
  options: ParallelDiffuseOptions = {},
): Promise<WeightVolume> {
  const d = setUp(mesh, options, true);
  const J = mesh.numJoints;
  // in shared memory: the warp table's worker threads then read the volume (0.46 GB at 128³ × 55) without a copy
  const out = new Float32Array(new SharedArrayBuffer(d.res ** 3 * J * 4));
  let done = 0;
  const threaded = await runOnThreads<number, Float32Array>(
    new URL('./diffuse-worker.js', import.meta.url),
    () => d.problem,
    d.active,
    (channel, i) => {
      putChannel(out, channel, d.active[i]!, J);
      options.onProgress?.(++done, d.active.length);
    },
    options,
  );
  if (!threaded) solveHere(d, J, out, options);
  return finish(d, out);
}

/** Clip each row of J weights to [0, 1] and divide by its sum (a row summing to 0 goes to joint 0, the pelvis). */
export function normaliseRows(w: Float32Array, J: number): void {
  for (let r = 0; r < w.length; r += J) {
    let s = 0;
    for (let j = 0; j < J; j++) {
      const v = Math.min(1, Math.max(0, w[r + j]!));
      w[r + j] = v;
      s += v;
    }
    if (s > 1e-12) for (let j = 0; j < J; j++) w[r + j] = w[r + j]! / s;
    else w[r] = 1;
  }
}

/** Where a point falls in a volume's grid (locateCell). */
export interface TrilinearCell {
  /** The cell's lower corner (voxel indices, at most R − 2). */
  x0: number;
  y0: number;
  z0: number;
  /** The point's fractions within the cell. */
  fx: number;
  fy: number;
  fz: number;
  /** Grid units per metre along each axis, 0 where the point is clamped (the border padding is constant there). */
  dx: number;
  dy: number;
  dz: number;
}

const CELL: TrilinearCell = { x0: 0, y0: 0, z0: 0, fx: 0, fy: 0, fz: 0, dx: 0, dy: 0, dz: 0 };

/**
 * The trilinear cell of a canonical point (align_corners, border clamped), written into `cell` (no allocation: the
 * lookups run per sample); shared by the weight lookup and root finding's blended matrices.
 */
export function locateCell(
  vol: Pick<WeightVolume, 'res' | 'bounds'>,
  x: number,
  y: number,
  z: number,
  cell: TrilinearCell,
): TrilinearCell {
  const R = vol.res;
  const b = vol.bounds;
  const sx = (R - 1) / (b[3]! - b[0]!),
    sy = (R - 1) / (b[4]! - b[1]!),
    sz = (R - 1) / (b[5]! - b[2]!);
  let gx = (x - b[0]!) * sx,
    gy = (y - b[1]!) * sy,
    gz = (z - b[2]!) * sz;
  cell.dx = gx < 0 || gx > R - 1 ? 0 : sx;
  cell.dy = gy < 0 || gy > R - 1 ? 0 : sy;
  cell.dz = gz < 0 || gz > R - 1 ? 0 : sz;
  gx = Math.min(Math.max(gx, 0), R - 1);
  gy = Math.min(Math.max(gy, 0), R - 1);
  gz = Math.min(Math.max(gz, 0), R - 1);
  cell.x0 = Math.min(Math.floor(gx), R - 2);
  cell.y0 = Math.min(Math.floor(gy), R - 2);
  cell.z0 = Math.min(Math.floor(gz), R - 2);
  cell.fx = gx - cell.x0;
  cell.fy = gy - cell.y0;
  cell.fz = gz - cell.z0;
  return cell;
}

/**
 * Trilinear weights at a canonical point (align_corners, border clamped), and optionally their derivative along
 * x, y, z (`grad`, 3·J: row k = ∂w/∂x_k; zero along an axis where the point is clamped). Returns `out` (J).
 */
export function sampleWeights(
  vol: WeightVolume,
  x: number,
  y: number,
  z: number,
  out: Float64Array,
  grad?: Float64Array,
): Float64Array {
  const R = vol.res,
    J = vol.joints;
  const { x0, y0, z0, fx, fy, fz, dx, dy, dz } = locateCell(vol, x, y, z, CELL);
  out.fill(0, 0, J);
  if (grad) grad.fill(0, 0, 3 * J);
  const W = vol.weights;
  for (let c = 0; c < 8; c++) {
    const ox = c >> 2,
      oy = (c >> 1) & 1,
      oz = c & 1;
    const wx = ox ? fx : 1 - fx,
      wy = oy ? fy : 1 - fy,
      wz = oz ? fz : 1 - fz;
    const wt = wx * wy * wz;
    const base = (((x0 + ox) * R + (y0 + oy)) * R + (z0 + oz)) * J;
    if (grad) {
      const ddx = (ox ? 1 : -1) * wy * wz * dx,
        ddy = (oy ? 1 : -1) * wx * wz * dy,
        ddz = (oz ? 1 : -1) * wx * wy * dz;
      for (let j = 0; j < J; j++) {
        const v = W[base + j]!;
        if (v === 0) continue;
        out[j] += wt * v;
        grad[j] += ddx * v;
        grad[J + j] += ddy * v;
        grad[2 * J + j] += ddz * v;
      }
    } else {
      for (let j = 0; j < J; j++) {
        const v = W[base + j]!;
        if (v !== 0) out[j] += wt * v;
      }
    }
  }
  return out;
}

/** Weights (N·J) of many canonical points, trilinear from the volume. */
export function sampleWeightsMany(vol: WeightVolume, points: ArrayLike<number>): Float64Array {
  const N = points.length / 3;
  const J = vol.joints;
  const res = new Float64Array(N * J);
  const w = new Float64Array(J);
  for (let i = 0; i < N; i++) {
    sampleWeights(vol, points[3 * i]!, points[3 * i + 1]!, points[3 * i + 2]!, w);
    res.set(w, i * J);
  }
  return res;
}

/**
 * The spatial gradient volume (R, R, R, 3, J): central differences inside, one-sided at the walls, per metre.
 * (Root finding uses `sampleWeights`' exact derivative of the interpolant instead; this is for inspection and export.)
 */
export function weightGradientVolume(vol: WeightVolume): Float32Array {
  const R = vol.res,
    J = vol.joints;
  const W = vol.weights;
  const h = [0, 1, 2].map((k) => (vol.bounds[3 + k]! - vol.bounds[k]!) / (R - 1));
  const out = new Float32Array(R * R * R * 3 * J);
  const idx = (x: number, y: number, z: number) => ((x * R + y) * R + z) * J;
  for (let x = 0; x < R; x++)
    for (let y = 0; y < R; y++)
      for (let z = 0; z < R; z++) {
        const o = idx(x, y, z) * 3;
        const c = [x, y, z];
        for (let k = 0; k < 3; k++) {
          const lo = c.slice(),
            hi = c.slice();
          lo[k] = Math.max(0, c[k]! - 1);
          hi[k] = Math.min(R - 1, c[k]! + 1);
          const span = (hi[k]! - lo[k]!) * h[k]!;
          const a = idx(lo[0]!, lo[1]!, lo[2]!),
            b = idx(hi[0]!, hi[1]!, hi[2]!);
          for (let j = 0; j < J; j++) out[o + k * J + j] = (W[b + j]! - W[a + j]!) / span;
        }
      }
  return out;
}
