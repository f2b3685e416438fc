import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/tensor/rng.js';
import { fitPca, gram, pcaInverse, pcaProject, pcaTransform, symmetricEigen } from '../../src/prep/pca.js';

function rng(seed: number): () => number {
  const u = seededRandom(seed);
  return () => u() - 0.5;
}

describe('symmetricEigen', () => {
  for (const n of [1, 2, 7, 33]) {
    it(`decomposes a random symmetric ${n}x${n} matrix`, () => {
      const r = rng(n);
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = r();
      const { values, vectors: V } = symmetricEigen(A, n);
      for (let k = 0; k < n; k++) {
        for (let i = 0; i < n; i++) {
          let av = 0;
          for (let j = 0; j < n; j++) av += A[i * n + j]! * V[j * n + k]!;
          expect(av).toBeCloseTo(values[k]! * V[i * n + k]!, 10);
        }
        for (let l = 0; l < n; l++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += V[i * n + k]! * V[i * n + l]!;
          expect(dot).toBeCloseTo(k === l ? 1 : 0, 10);
        }
      }
    });
  }
});

describe('pose PCA', () => {
  // T = 9 frames of D = 31 features with a dominant low-rank structure plus noise
  const T = 9,
    D = 31;
  const r = rng(42);
  const basis = Array.from({ length: 3 }, () => Float64Array.from({ length: D }, () => r()));
  const rows = Array.from({ length: T }, () => {
    const c = [3 * r(), 2 * r(), r()];
    return Float64Array.from(
      { length: D },
      (_, d) => 1 + c[0]! * basis[0]![d]! + c[1]! * basis[1]![d]! + c[2]! * basis[2]![d]! + 0.01 * r(),
    );
  });

  it('matches power iteration on the D x D covariance (variances and components up to sign)', () => {
    const pca = fitPca(rows, 4);
    expect(pca.count).toBe(4);
    const mean = new Float64Array(D);
    for (const x of rows) for (let d = 0; d < D; d++) mean[d] += x[d]! / T;
    const C = new Float64Array(D * D);
    for (const x of rows) {
      for (let i = 0; i < D; i++)
        for (let j = 0; j < D; j++) C[i * D + j] += ((x[i]! - mean[i]!) * (x[j]! - mean[j]!)) / (T - 1);
    }
    for (let k = 0; k < 4; k++) {
      // power iteration with deflation
      let v = Float64Array.from({ length: D }, (_, d) => Math.cos(d + k));
      let lam = 0;
      for (let it = 0; it < 3000; it++) {
        const w = new Float64Array(D);
        for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) w[i] += C[i * D + j]! * v[j]!;
        lam = Math.hypot(...w);
        v = w.map((x) => x / lam);
      }
      for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) C[i * D + j] -= lam * v[i]! * v[j]!;
      expect(pca.variance[k]).toBeCloseTo(lam, 8);
      let dot = 0;
      for (let d = 0; d < D; d++) dot += v[d]! * pca.components[k * D + d]!;
      if (k < 3) expect(Math.abs(dot)).toBeCloseTo(1, 6);
    }
  });

  it('transform/inverse reconstruct training rows when all components are kept; clamp limits β to ±2σ', () => {
    const pca = fitPca(rows, 20);
    expect(pca.count).toBe(T - 1);
    for (const x of rows) {
      const back = pcaInverse(pca, pcaTransform(pca, x));
      for (let d = 0; d < D; d++) expect(back[d]).toBeCloseTo(x[d]!, 9);
    }
    // a far-away sample gets clamped
    const far = rows[0]!.map((v, d) => v + 100 * basis[0]![d]!);
    const proj = pcaProject(pca, far, 2);
    const beta = pcaTransform(pca, proj);
    for (let k = 0; k < pca.count; k++)
      expect(Math.abs(beta[k]!)).toBeLessThanOrEqual(2 * Math.sqrt(pca.variance[k]!) + 1e-9);
    // and a training row projects onto itself when within the limits of all components
    const inside = pcaProject(pca, pca.mean, 2);
    for (let d = 0; d < D; d++) expect(inside[d]).toBeCloseTo(pca.mean[d]!, 12);
  });
});

describe('gram', () => {
  it('blocked X Xᵀ equals the plain dot products (odd T and D, partial blocks)', () => {
    const r = rng(5);
    for (const [T, D] of [
      [1, 3],
      [6, 5000],
      [9, 4097],
    ]) {
      const rows = Array.from({ length: T! }, () => Float32Array.from({ length: D! }, () => r()));
      const G = gram(rows, D!);
      for (let i = 0; i < T!; i++) {
        for (let j = 0; j < T!; j++) {
          let s = 0;
          for (let d = 0; d < D!; d++) s += rows[i]![d]! * rows[j]![d]!;
          expect(G[i * T! + j]).toBeCloseTo(s, 9);
        }
      }
    }
  });
});
