/**
 * VolSDF volume rendering of rays through an SDF, with its exact gradient, in float64 on the CPU: the reference of
 * the fit's GPU kernels (volume-render-gpu.ts). The network gives each sample its SDF d and colour c; this turns
 * them into pixel colours and alphas, the losses, and dLoss/dd, dLoss/dc, dLoss/dβ, which seed the network's
 * backward pass.
 *
 *   density  σ = Ψ_β(−d) / β,  Ψ_β the CDF of a zero-mean Laplace distribution of scale β (VolSDF)
 *   opacity  a_i = 1 − exp(−σ_i δ_i),  transmittance T_i = exp(−Σ_{j<i} σ_j δ_j),  weight w_i = T_i a_i
 *   pixel    C = Σ w_i c_i (on a black background),  alpha A = Σ w_i
 * Gradients: ∂L/∂c_i = w_i ∂L/∂C;  with g_i = ∂L/∂w_i = ∂L/∂C·c_i + ∂L/∂A,
 *   ∂L/∂x_k = T_{k+1} g_k − Σ_{i>k} w_i g_i   (x_k = σ_k δ_k), then through σ(d, β).
 */

/** Ψ_β(s): the Laplace CDF. */
export function laplaceCdf(s: number, beta: number): number {
  return s <= 0 ? 0.5 * Math.exp(s / beta) : 1 - 0.5 * Math.exp(-s / beta);
}

/** σ(d) = Ψ_β(−d)/β and its derivatives with respect to d and β. */
export function density(d: number, beta: number): { sigma: number; dd: number; dbeta: number } {
  const e = Math.exp(-Math.abs(d) / beta);
  const psi = d >= 0 ? 0.5 * e : 1 - 0.5 * e;
  const sigma = psi / beta;
  // dΨ(s)/ds = e/(2β) at s = −d, so dσ/dd = −e/(2β²); ∂Ψ(−d)/∂β = d·e/(2β²)
  const dd = -e / (2 * beta * beta);
  const dpsiDbeta = (d * e) / (2 * beta * beta);
  const dbeta = dpsiDbeta / beta - psi / (beta * beta);
  return { sigma, dd, dbeta };
}

export interface RenderBatch {
  rays: number;
  samples: number;
  /** (rays·samples) SDF per sample. */
  sdf: ArrayLike<number>;
  /** (rays·samples·3) colour per sample. */
  color: ArrayLike<number>;
  /** (rays·samples) distance from each sample to the next along its ray (metres). */
  delta: ArrayLike<number>;
  /** (rays·3) target colours (on the black background) and (rays) target masks (0/1). */
  targetColor: ArrayLike<number>;
  targetMask: ArrayLike<number>;
}

export interface RenderResult {
  /** (rays·3) rendered colours, (rays) alphas. */
  color: Float64Array;
  alpha: Float64Array;
  losses: { color: number; mask: number };
  /** Gradients of weights.color·colorLoss + weights.mask·maskLoss. */
  gradSdf: Float64Array;
  gradColor: Float64Array;
  gradBeta: number;
}

/**
 * Render and differentiate L = wColor·mean|C − C*| (over rays × 3) + wMask·mean|A − M*| (over rays).
 */
export function renderRays(b: RenderBatch, beta: number, wColor: number, wMask: number): RenderResult {
  const R = b.rays,
    S = b.samples;
  const color = new Float64Array(R * 3);
  const alpha = new Float64Array(R);
  const gradSdf = new Float64Array(R * S);
  const gradColor = new Float64Array(R * S * 3);
  let gradBeta = 0;
  let lc = 0,
    lm = 0;
  const w = new Float64Array(S);
  const Tn = new Float64Array(S + 1);
  const ddx = new Float64Array(S);
  const dbx = new Float64Array(S);
  const g = new Float64Array(S);
  const ib = 1 / beta;
  const ib2 = ib * ib;
  const C = new Float64Array(3);
  const gC = new Float64Array(3);
  for (let r = 0; r < R; r++) {
    // forward (the density and its derivatives inline: `density` per sample, allocation-free; the step's critical path)
    let acc = 0;
    Tn[0] = 1;
    for (let i = 0; i < S; i++) {
      const k = r * S + i;
      const d = b.sdf[k]!;
      const e = Math.exp(-Math.abs(d) * ib);
      const psi = d >= 0 ? 0.5 * e : 1 - 0.5 * e;
      const dl = b.delta[k]!;
      const x = psi * ib * dl;
      ddx[i] = -0.5 * e * ib2 * dl;
      dbx[i] = (0.5 * d * e * ib2 * ib - psi * ib2) * dl;
      acc += x;
      Tn[i + 1] = Math.exp(-acc);
      w[i] = Tn[i]! - Tn[i + 1]!; // T_i (1 − e^{−x_i})
    }
    let A = 0;
    C.fill(0);
    for (let i = 0; i < S; i++) {
      const wi = w[i]!;
      const k = (r * S + i) * 3;
      A += wi;
      C[0] += wi * b.color[k]!;
      C[1] += wi * b.color[k + 1]!;
      C[2] += wi * b.color[k + 2]!;
    }
    alpha[r] = A;
    for (let c = 0; c < 3; c++) {
      color[3 * r + c] = C[c]!;
      const e = C[c]! - b.targetColor[3 * r + c]!;
      lc += Math.abs(e);
      gC[c] = (wColor * Math.sign(e)) / (3 * R);
    }
    const em = A - b.targetMask[r]!;
    lm += Math.abs(em);
    const gA = (wMask * Math.sign(em)) / R;
    // backward
    for (let i = 0; i < S; i++) {
      const k = (r * S + i) * 3;
      const wi = w[i]!;
      g[i] = gA + gC[0]! * b.color[k]! + gC[1]! * b.color[k + 1]! + gC[2]! * b.color[k + 2]!;
      gradColor[k] = wi * gC[0]!;
      gradColor[k + 1] = wi * gC[1]!;
      gradColor[k + 2] = wi * gC[2]!;
    }
    let suffix = 0; // Σ_{i>k} w_i g_i
    for (let i = S - 1; i >= 0; i--) {
      const gx = Tn[i + 1]! * g[i]! - suffix;
      suffix += w[i]! * g[i]!;
      gradSdf[r * S + i] = gx * ddx[i]!;
      gradBeta += gx * dbx[i]!;
    }
  }
  return { color, alpha, losses: { color: lc / (3 * R), mask: lm / R }, gradSdf, gradColor, gradBeta };
}

/**
 * The eikonal term from forward differences: for M points, `sdf` holds [f(x), f(x + h e_x), f(x + h e_y),
 * f(x + h e_z)] as four blocks of M; L = weight·mean((‖∇f‖ − 1)²). Returns L and ∂L/∂sdf (4M).
 */
export function eikonal(
  sdf: ArrayLike<number>,
  M: number,
  h: number,
  weight: number,
): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(4 * M);
  let loss = 0;
  for (let m = 0; m < M; m++) {
    const f0 = sdf[m]!;
    const gx = (sdf[M + m]! - f0) / h,
      gy = (sdf[2 * M + m]! - f0) / h,
      gz = (sdf[3 * M + m]! - f0) / h;
    const n = Math.hypot(gx, gy, gz);
    const e = n - 1;
    loss += e * e;
    if (n > 0) {
      const s = (weight * 2 * e) / (M * n * h);
      grad[M + m] = s * gx;
      grad[2 * M + m] = s * gy;
      grad[3 * M + m] = s * gz;
      grad[m] = -s * (gx + gy + gz);
    }
  }
  return { loss: loss / M, grad };
}
