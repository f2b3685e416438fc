/**
 * Posed → canonical by root finding through the weight volume: for a posed point p,
 * find the canonical x with  f(x) = M(w(x))·[x; 1] − p = 0,  M(w) = Σ_j w_j T_j (the blended cano → live 3×4),
 * w(x) trilinear from the volume. Newton steps with the Jacobian
 *   J(x) = M₃(w(x)) + γ · Σ_j (T_j·[x; 1]) ⊗ ∇w_j(x)
 * (γ = 0.1 damps the weight-gradient term as the reference does; γ = 1 is exact Newton), each step clamped per axis.
 * The start is the blended matrix of given initial weights (e.g. the nearest posed body vertex's), inverted.
 *
 * M(w(x)) is linear in the weights, so it is the trilinear blend of the voxels' own blended matrices
 * M_v = Σ_j W_vj T_j, and the weight-gradient term is Σ_b ((∂M/∂x_b)·[x; 1]) e_bᵀ: `BlendedVolume` makes M_v once per
 * voxel the iterations touch, and each iteration then costs 8 corners × 12 values instead of 8 × J weights (and
 * their gradients) plus J matrices. `posedToCanonicalByJoints` is the per-joint form, the reference of the tests
 * (the two agree to float64 rounding).
 */
import { locateCell, sampleWeights, type TrilinearCell, type WeightVolume } from './weight-volume.js';

export interface RootFindOptions {
  /** Newton iterations (default 10). */
  iterations?: number;
  /** Weight of the weight-gradient term of the Jacobian (default 0.1). */
  gradWeight?: number;
  /** Largest step per axis and iteration in metres (default 0.01). */
  maxStep?: number;
  /** Stop a point once its residual ‖f(x)‖ is below this (metres; default 1e-6). */
  tolerance?: number;
  /** The voxels' blended matrices under these joint matrices, kept between calls (default: made per call). */
  blended?: BlendedVolume;
  /** Also return the volume's weights at the canonical points (default true; without them: N·J fewer samples). */
  weights?: boolean;
}

/**
 * The volume's per-voxel blended matrices M_v = Σ_j W_vj T_j (3×4), made when first touched, kept in 8³-voxel blocks
 * allocated as touched (so memory follows the region root finding visits, not R³).
 */
export class BlendedVolume {
  /** Per block: 512 voxels × (12 values + a made flag), voxel (x & 7, y & 7, z & 7) at 13·((x·8 + y)·8 + z). */
  private readonly blocks: (Float64Array | undefined)[];
  private readonly nb: number;
  /** Scratch for locateCell (one per volume: no allocation per lookup). */
  private readonly cell: TrilinearCell = { x0: 0, y0: 0, z0: 0, fx: 0, fy: 0, fz: 0, dx: 0, dy: 0, dz: 0 };
  /** The block of the last `voxel` call. */
  private blk: Float64Array = new Float64Array(0);

  constructor(
    readonly vol: WeightVolume,
    /** (J·16) row-major 4×4 joint matrices. */
    readonly jointMats: ArrayLike<number>,
  ) {
    this.nb = Math.ceil(vol.res / 8);
    this.blocks = new Array<Float64Array | undefined>(this.nb ** 3);
  }

  /** Offset of voxel (x, y, z)'s matrix in its block (left in `blk`), making it on the first call. */
  private voxel(x: number, y: number, z: number): number {
    const nb = this.nb;
    const bi = ((x >> 3) * nb + (y >> 3)) * nb + (z >> 3);
    let m = this.blocks[bi];
    if (!m) m = this.blocks[bi] = new Float64Array(512 * 13);
    this.blk = m;
    const o = 13 * (((x & 7) << 6) | ((y & 7) << 3) | (z & 7));
    if (m[o + 12]) return o;
    const R = this.vol.res;
    const J = this.vol.joints;
    const W = this.vol.weights;
    const T = this.jointMats;
    const v = (x * R + y) * R + z;
    for (let j = 0; j < J; j++) {
      const a = W[v * J + j]!;
      if (a === 0) continue;
      for (let e = 0; e < 12; e++) m[o + e] += a * T[j * 16 + e]!;
    }
    m[o + 12] = 1;
    return o;
  }

  /**
   * M(w(x)) (12 values) and, when `dM` is given, its derivatives ∂M/∂x, ∂M/∂y, ∂M/∂z (3 × 12) — the trilinear
   * interpolant's exact ones, 0 across the clamped border (as `sampleWeights`).
   */
  at(x: number, y: number, z: number, M: Float64Array, dM?: Float64Array): void {
    const { x0, y0, z0, fx, fy, fz, dx, dy, dz } = locateCell(this.vol, x, y, z, this.cell);
    M.fill(0, 0, 12);
    if (dM) dM.fill(0, 0, 36);
    for (let c = 0; c < 8; c++) {
      const ox = c >> 2,
        oy = (c >> 1) & 1,
        oz = c & 1;
      const wx = ox ? fx : 1 - fx,
        wy = oy ? fy : 1 - fy,
        wz = oz ? fz : 1 - fz;
      const wt = wx * wy * wz;
      const o = this.voxel(x0 + ox, y0 + oy, z0 + oz);
      const m = this.blk;
      if (dM) {
        const ddx = (ox ? 1 : -1) * wy * wz * dx,
          ddy = (oy ? 1 : -1) * wx * wz * dy,
          ddz = (oz ? 1 : -1) * wx * wy * dz;
        for (let e = 0; e < 12; e++) {
          const v = m[o + e]!;
          M[e] += wt * v;
          dM[e] += ddx * v;
          dM[12 + e] += ddy * v;
          dM[24 + e] += ddz * v;
        }
      } else for (let e = 0; e < 12; e++) M[e] += wt * m[o + e]!;
    }
  }
}

export interface RootFindResult {
  /** (N·3) canonical points. */
  canonical: Float64Array;
  /** (N) final residual ‖f(x)‖ in metres. */
  residual: Float64Array;
  /** (N·J) the volume's weights at the canonical points (empty when not asked for). */
  weights: Float64Array;
}

/** Blend J 4×4 matrices (row-major) by weights w into a 3×4 (12 values). */
function blend(w: ArrayLike<number>, wOff: number, mats: ArrayLike<number>, J: number, out: Float64Array): void {
  out.fill(0, 0, 12);
  for (let j = 0; j < J; j++) {
    const a = w[wOff + j]!;
    if (a === 0) continue;
    for (let e = 0; e < 12; e++) out[e] += a * mats[j * 16 + e]!;
  }
}

/** Solve A x = b for a 3×3 A (row-major); false when singular. */
export function solve3(A: ArrayLike<number>, b: ArrayLike<number>, x: Float64Array): boolean {
  const [a, bb, c, d, e, f, g, h, i] = [A[0]!, A[1]!, A[2]!, A[3]!, A[4]!, A[5]!, A[6]!, A[7]!, A[8]!];
  const co0 = e * i - f * h,
    co1 = f * g - d * i,
    co2 = d * h - e * g;
  const det = a * co0 + bb * co1 + c * co2;
  if (!(Math.abs(det) > 1e-14)) return false;
  const inv = 1 / det;
  const r0 = b[0]!,
    r1 = b[1]!,
    r2 = b[2]!;
  x[0] = (co0 * r0 + (c * h - bb * i) * r1 + (bb * f - c * e) * r2) * inv;
  x[1] = (co1 * r0 + (a * i - c * g) * r1 + (c * d - a * f) * r2) * inv;
  x[2] = (co2 * r0 + (bb * g - a * h) * r1 + (a * e - bb * d) * r2) * inv;
  return true;
}

/**
 * Canonical points of posed points `posed` (N·3) under the cano → live joint matrices `mats` (J·16), starting from
 * the inverse of the blend of `initWeights` (N·J).
 */
export function posedToCanonical(
  posed: ArrayLike<number>,
  initWeights: ArrayLike<number>,
  mats: ArrayLike<number>,
  vol: WeightVolume,
  options: RootFindOptions = {},
): RootFindResult {
  const J = vol.joints;
  if (mats.length !== J * 16)
    throw new Error(`root finding: ${mats.length / 16} joint matrices for a ${J}-joint volume`);
  const N = posed.length / 3;
  if (initWeights.length !== N * J) throw new Error(`root finding: ${N} points need ${N}x${J} initial weights`);
  const iterations = options.iterations ?? 10;
  const gamma = options.gradWeight ?? 0.1;
  const maxStep = options.maxStep ?? 0.01;
  const tol = options.tolerance ?? 1e-6;
  const bv = options.blended ?? new BlendedVolume(vol, mats);
  if (bv.vol !== vol || bv.jointMats !== mats) throw new Error('root finding: `blended` is of another volume or pose');
  const canonical = new Float64Array(N * 3);
  const residual = new Float64Array(N);
  const wantWeights = options.weights ?? true;
  const weights = new Float64Array(wantWeights ? N * J : 0);
  const M = new Float64Array(12);
  const dM = new Float64Array(36);
  const w = new Float64Array(J);
  const Jac = new Float64Array(9);
  const A = new Float64Array(9);
  const r = new Float64Array(3);
  const step = new Float64Array(3);
  for (let n = 0; n < N; n++) {
    const px = posed[3 * n]!,
      py = posed[3 * n + 1]!,
      pz = posed[3 * n + 2]!;
    // start: x0 = M3⁻¹ (p − t) with M the blend of the initial weights
    blend(initWeights, n * J, mats, J, M);
    let x0 = px,
      x1 = py,
      x2 = pz;
    A[0] = M[0]!;
    A[1] = M[1]!;
    A[2] = M[2]!;
    A[3] = M[4]!;
    A[4] = M[5]!;
    A[5] = M[6]!;
    A[6] = M[8]!;
    A[7] = M[9]!;
    A[8] = M[10]!;
    r[0] = px - M[3]!;
    r[1] = py - M[7]!;
    r[2] = pz - M[11]!;
    if (solve3(A, r, step)) {
      x0 = step[0]!;
      x1 = step[1]!;
      x2 = step[2]!;
    }
    let res = Infinity;
    for (let it = 0; it <= iterations; it++) {
      const grad = it < iterations && gamma !== 0;
      bv.at(x0, x1, x2, M, grad ? dM : undefined);
      r[0] = M[0]! * x0 + M[1]! * x1 + M[2]! * x2 + M[3]! - px;
      r[1] = M[4]! * x0 + M[5]! * x1 + M[6]! * x2 + M[7]! - py;
      r[2] = M[8]! * x0 + M[9]! * x1 + M[10]! * x2 + M[11]! - pz;
      res = Math.hypot(r[0]!, r[1]!, r[2]!);
      if (res < tol || it === iterations) break;
      for (let a = 0; a < 3; a++)
        for (let b = 0; b < 3; b++) {
          let v = M[4 * a + b]!;
          if (grad) {
            const o = 12 * b + 4 * a;
            v += gamma * (dM[o]! * x0 + dM[o + 1]! * x1 + dM[o + 2]! * x2 + dM[o + 3]!);
          }
          Jac[3 * a + b] = v;
        }
      if (!solve3(Jac, r, step)) break;
      x0 -= Math.min(maxStep, Math.max(-maxStep, step[0]!));
      x1 -= Math.min(maxStep, Math.max(-maxStep, step[1]!));
      x2 -= Math.min(maxStep, Math.max(-maxStep, step[2]!));
    }
    canonical[3 * n] = x0;
    canonical[3 * n + 1] = x1;
    canonical[3 * n + 2] = x2;
    residual[n] = res;
    if (wantWeights) {
      sampleWeights(vol, x0, x1, x2, w);
      weights.set(w, n * J);
    }
  }
  return { canonical, residual, weights };
}

/** `posedToCanonical` with the weights and their gradients blended joint by joint at every iteration (the reference). */
export function posedToCanonicalByJoints(
  posed: ArrayLike<number>,
  initWeights: ArrayLike<number>,
  mats: ArrayLike<number>,
  vol: WeightVolume,
  options: RootFindOptions = {},
): RootFindResult {
  const J = vol.joints;
  if (mats.length !== J * 16)
    throw new Error(`root finding: ${mats.length / 16} joint matrices for a ${J}-joint volume`);
  const N = posed.length / 3;
  if (initWeights.length !== N * J) throw new Error(`root finding: ${N} points need ${N}x${J} initial weights`);
  const iterations = options.iterations ?? 10;
  const gamma = options.gradWeight ?? 0.1;
  const maxStep = options.maxStep ?? 0.01;
  const tol = options.tolerance ?? 1e-6;
  const canonical = new Float64Array(N * 3);
  const residual = new Float64Array(N);
  const weights = new Float64Array(N * J);
  const M = new Float64Array(12);
  const w = new Float64Array(J);
  const gw = new Float64Array(3 * J);
  const Jac = new Float64Array(9);
  const r = new Float64Array(3);
  const step = new Float64Array(3);
  const tj = new Float64Array(3);
  for (let n = 0; n < N; n++) {
    const px = posed[3 * n]!,
      py = posed[3 * n + 1]!,
      pz = posed[3 * n + 2]!;
    // start: x0 = M3⁻¹ (p − t) with M the blend of the initial weights
    blend(initWeights, n * J, mats, J, M);
    const x = Float64Array.of(px, py, pz);
    if (
      solve3(
        [M[0]!, M[1]!, M[2]!, M[4]!, M[5]!, M[6]!, M[8]!, M[9]!, M[10]!],
        [px - M[3]!, py - M[7]!, pz - M[11]!],
        step,
      )
    ) {
      x.set(step);
    }
    let res = Infinity;
    for (let it = 0; it <= iterations; it++) {
      sampleWeights(vol, x[0]!, x[1]!, x[2]!, w, it < iterations ? gw : undefined);
      blend(w, 0, mats, J, M);
      for (let k = 0; k < 3; k++)
        r[k] = M[4 * k]! * x[0]! + M[4 * k + 1]! * x[1]! + M[4 * k + 2]! * x[2]! + M[4 * k + 3]! - posed[3 * n + k]!;
      res = Math.hypot(r[0]!, r[1]!, r[2]!);
      if (res < tol || it === iterations) break;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) Jac[3 * a + b] = M[4 * a + b]!;
      if (gamma !== 0) {
        for (let j = 0; j < J; j++) {
          const g0 = gw[j]!,
            g1 = gw[J + j]!,
            g2 = gw[2 * J + j]!;
          if (g0 === 0 && g1 === 0 && g2 === 0) continue;
          const T = j * 16;
          for (let a = 0; a < 3; a++)
            tj[a] =
              mats[T + 4 * a]! * x[0]! +
              mats[T + 4 * a + 1]! * x[1]! +
              mats[T + 4 * a + 2]! * x[2]! +
              mats[T + 4 * a + 3]!;
          for (let a = 0; a < 3; a++) {
            Jac[3 * a] += gamma * tj[a]! * g0;
            Jac[3 * a + 1] += gamma * tj[a]! * g1;
            Jac[3 * a + 2] += gamma * tj[a]! * g2;
          }
        }
      }
      if (!solve3(Jac, r, step)) break;
      for (let k = 0; k < 3; k++) x[k] -= Math.min(maxStep, Math.max(-maxStep, step[k]!));
    }
    canonical.set(x, 3 * n);
    residual[n] = res;
    weights.set(w, n * J);
  }
  return { canonical, residual, weights };
}
