/**
 * Posed → canonical by root finding through the weight volume (reference-system.md §2.3 b): for a posed point p,
 * find the canonical x with  f(x) = M(w(x))·[x; 1] − p = 0,  M(w) = Σ_j w_j T_j (the blended cano → live 3×4),
 * w(x) trilinear from the volume. Newton steps with the Jacobian
 *   J(x) = M₃(w(x)) + γ · Σ_j (T_j·[x; 1]) ⊗ ∇w_j(x)
 * (γ = 0.1 damps the weight-gradient term as the reference does; γ = 1 is exact Newton), each step clamped per axis.
 * The start is the blended matrix of given initial weights (e.g. the nearest posed body vertex's), inverted.
 */
import { sampleWeights, type WeightVolume } from './weight-volume.js';

export interface RootFindOptions {
  /** Newton iterations (default 10). */
  iterations?: number;
  /** Weight of the weight-gradient term of the Jacobian (default 0.1). */
  gradWeight?: number;
  /** Largest step per axis and iteration in metres (default 0.01). */
  maxStep?: number;
  /** Stop a point once its residual ‖f(x)‖ is below this (metres; default 1e-6). */
  tolerance?: number;
}

export interface RootFindResult {
  /** (N·3) canonical points. */
  canonical: Float64Array;
  /** (N) final residual ‖f(x)‖ in metres. */
  residual: Float64Array;
  /** (N·J) the volume's weights at the canonical points. */
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
