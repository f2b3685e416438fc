/**
 * PCA of the training pose maps for pose projection, with sklearn.decomposition.PCA's
 * semantics: mean-centred, components = right singular vectors, explained_variance = s² / (T − 1).
 *
 * T (frames) ≪ D (3 × front foreground pixels), so it goes through the T × T Gram matrix G = Xc Xcᵀ in float64:
 * G = U Λ Uᵀ (Jacobi eigen-decomposition), component k = Xcᵀ u_k / √λ_k.
 * Projection: β = V (x − x̄), clamped to ±σ·√var_k; reconstruction x' = Vᵀ β + x̄.
 */

export interface PosePca {
  /** D = feature count. */
  dim: number;
  /** K components. */
  count: number;
  /** (D) mean. */
  mean: Float64Array;
  /** (K x D) row-major orthonormal components. */
  components: Float64Array;
  /** (K) variance along each component (sklearn explained_variance_). */
  variance: Float64Array;
}

/**
 * Fit from T samples of D features, given as a row accessor (so the T x D matrix never has to be one array).
 * `components` is clipped to min(T, D) (and to T − 1: centring removes one dimension).
 */
export function fitPca(
  rows: readonly ArrayLike<number>[],
  components = 20,
  options: {
    onProgress?: (done: number, total: number) => void;
    /** Keep the centred samples in float32 (halves memory for thousands of frames); sums stay float64. */
    float32?: boolean;
  } = {},
): PosePca {
  const onProgress = options.onProgress;
  const T = rows.length;
  if (T < 2) throw new Error(`PCA needs at least 2 frames, got ${T}`);
  const D = rows[0]!.length;
  for (const r of rows) if (r.length !== D) throw new Error(`PCA: all rows need ${D} features, one has ${r.length}`);
  const mean = new Float64Array(D);
  for (const r of rows) for (let d = 0; d < D; d++) mean[d] += r[d]!;
  for (let d = 0; d < D; d++) mean[d] /= T;
  const centred = rows.map((r) => {
    const c = options.float32 ? new Float32Array(D) : new Float64Array(D);
    for (let d = 0; d < D; d++) c[d] = r[d]! - mean[d]!;
    return c;
  });
  const G = gram(centred, D, onProgress);
  const { values, vectors } = symmetricEigen(G, T);
  const order = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]!);
  const K = Math.min(components, T - 1, D);
  const comps = new Float64Array(K * D);
  const variance = new Float64Array(K);
  let k = 0;
  for (const idx of order) {
    if (k >= K) break;
    const lam = values[idx]!;
    variance[k] = Math.max(lam, 0) / (T - 1);
    const row = comps.subarray(k * D, (k + 1) * D);
    if (lam > 1e-300) {
      for (let t = 0; t < T; t++) {
        const u = vectors[t * T + idx]!;
        if (u === 0) continue;
        const c = centred[t]!;
        for (let d = 0; d < D; d++) row[d] += u * c[d]!;
      }
      const inv = 1 / Math.sqrt(lam);
      for (let d = 0; d < D; d++) row[d] *= inv;
    }
    // deterministic sign: the largest-magnitude entry is positive
    let best = 0;
    for (let d = 1; d < D; d++) if (Math.abs(row[d]!) > Math.abs(row[best]!)) best = d;
    if (row[best]! < 0) for (let d = 0; d < D; d++) row[d] = -row[d]!;
    k++;
  }
  return { dim: D, count: K, mean, components: comps, variance };
}

/**
 * G = X Xᵀ (T x T, float64) of T rows of length D. Blocks of 4 x 4 rows share each pass over D (16 accumulators),
 * and D is walked in chunks so the 8 rows' chunks stay in cache: thousands of frames of 10⁵ features take minutes,
 * not hours.
 */
export function gram(
  rows: readonly ArrayLike<number>[],
  D: number,
  onProgress?: (done: number, total: number) => void,
): Float64Array {
  const T = rows.length;
  const G = new Float64Array(T * T);
  const B = 4;
  const CH = 2048;
  const acc = new Float64Array(B * B);
  const zero = new Float64Array(D); // stands in for the missing rows of a partial block
  for (let i0 = 0; i0 < T; i0 += B) {
    const ni = Math.min(B, T - i0);
    for (let j0 = 0; j0 <= i0; j0 += B) {
      const nj = Math.min(B, T - j0);
      acc.fill(0);
      for (let d0 = 0; d0 < D; d0 += CH) {
        const d1 = Math.min(D, d0 + CH);
        const a0 = rows[i0]!,
          a1 = ni > 1 ? rows[i0 + 1]! : zero,
          a2 = ni > 2 ? rows[i0 + 2]! : zero,
          a3 = ni > 3 ? rows[i0 + 3]! : zero;
        const b0 = rows[j0]!,
          b1 = nj > 1 ? rows[j0 + 1]! : zero,
          b2 = nj > 2 ? rows[j0 + 2]! : zero,
          b3 = nj > 3 ? rows[j0 + 3]! : zero;
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        let s20 = 0,
          s21 = 0,
          s22 = 0,
          s23 = 0,
          s30 = 0,
          s31 = 0,
          s32 = 0,
          s33 = 0;
        for (let d = d0; d < d1; d++) {
          const x0 = a0[d]!,
            x1 = a1[d]!,
            x2 = a2[d]!,
            x3 = a3[d]!;
          const y0 = b0[d]!,
            y1 = b1[d]!,
            y2 = b2[d]!,
            y3 = b3[d]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s22 += x2 * y2;
          s23 += x2 * y3;
          s30 += x3 * y0;
          s31 += x3 * y1;
          s32 += x3 * y2;
          s33 += x3 * y3;
        }
        const s = [s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33];
        for (let k = 0; k < 16; k++) acc[k] += s[k]!;
      }
      for (let a = 0; a < ni; a++) {
        for (let b = 0; b < nj; b++) {
          G[(i0 + a) * T + j0 + b] = acc[a * B + b]!;
          G[(j0 + b) * T + i0 + a] = acc[a * B + b]!;
        }
      }
    }
    onProgress?.(i0 + ni, T);
  }
  return G;
}

/** β = V (x − x̄). */
export function pcaTransform(pca: PosePca, x: ArrayLike<number>): Float64Array {
  const { dim: D, count: K } = pca;
  const beta = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    const o = k * D;
    for (let d = 0; d < D; d++) s += pca.components[o + d]! * (x[d]! - pca.mean[d]!);
    beta[k] = s;
  }
  return beta;
}

/** x' = Vᵀ β + x̄. */
export function pcaInverse(pca: PosePca, beta: ArrayLike<number>, out = new Float64Array(pca.dim)): Float64Array {
  const { dim: D, count: K } = pca;
  out.set(pca.mean);
  for (let k = 0; k < K; k++) {
    const b = beta[k]!;
    const o = k * D;
    for (let d = 0; d < D; d++) out[d] += b * pca.components[o + d]!;
  }
  return out;
}

/** The reference's pose projection: transform, clamp each β_k to ±σ·√var_k (σ = 2), inverse. */
export function pcaProject(pca: PosePca, x: ArrayLike<number>, sigma = 2.0): Float64Array {
  const beta = pcaTransform(pca, x);
  for (let k = 0; k < pca.count; k++) {
    const lim = sigma * Math.sqrt(pca.variance[k]!);
    beta[k] = Math.min(lim, Math.max(-lim, beta[k]!));
  }
  return pcaInverse(pca, beta);
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major), float64: Householder reduction to tridiagonal form,
 * then the implicit QL algorithm (the EISPACK tred2/tql2 pair). Returns the eigenvalues (ascending) and the
 * eigenvectors as the columns of `vectors` (n x n row-major). O(n³): a 2000-frame Gram matrix takes seconds.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(matrix as ArrayLike<number>);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 1) return { values: Float64Array.of(V[0]!), vectors: Float64Array.of(1) };
  // tred2
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j * n + i] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j]! * d[k]!;
          e[k] += V[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k]! + g * d[k]!;
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1]! * V[k * n + j]!;
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]!;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
  // tql2
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0; k < n; k++) {
            const vk1 = V[k * n + i + 1]!;
            const vk = V[k * n + i]!;
            V[k * n + i + 1] = s * vk + c * vk1;
            V[k * n + i] = c * vk - s * vk1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  return { values: d, vectors: V };
}
