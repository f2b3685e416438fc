import { describe, expect, it } from 'vitest';
import { density, eikonal, laplaceCdf, renderRays } from '../../src/prep/template/volume-render.js';
import { nearestVertices } from '../../src/prep/template/geometry.js';

function rand(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

describe('VolSDF rendering on the CPU', () => {
  it('has the Laplace CDF and density derivatives', () => {
    expect(laplaceCdf(0, 0.1)).toBeCloseTo(0.5, 12);
    expect(laplaceCdf(-5, 0.1)).toBeLessThan(1e-20);
    const h = 1e-7;
    for (const [d, b] of [
      [0.013, 0.02],
      [-0.021, 0.01],
      [0.4, 0.3],
      [-0.002, 0.05],
    ] as const) {
      const r = density(d, b);
      expect(r.sigma).toBeCloseTo(laplaceCdf(-d, b) / b, 9);
      expect(r.dd).toBeCloseTo((density(d + h, b).sigma - density(d - h, b).sigma) / (2 * h), 3);
      expect(r.dbeta).toBeCloseTo((density(d, b + h).sigma - density(d, b - h).sigma) / (2 * h), 2);
    }
  });

  it('gives gradients that match finite differences', () => {
    const rng = rand(7);
    const R = 3,
      S = 9;
    const sdf = Float64Array.from({ length: R * S }, (_, i) => 0.06 - 0.015 * (i % S) + 0.01 * rng());
    const color = Float64Array.from({ length: R * S * 3 }, () => rng());
    const delta = Float64Array.from({ length: R * S }, () => 0.005 + 0.01 * rng());
    const targetColor = Float64Array.from({ length: R * 3 }, () => rng());
    const targetMask = Float64Array.from([1, 0, 1]);
    const beta = 0.02;
    const batch = { rays: R, samples: S, sdf, color, delta, targetColor, targetMask };
    const res = renderRays(batch, beta, 1, 0.7);
    const loss = (b: typeof batch, be: number) => {
      const r = renderRays(b, be, 1, 0.7);
      return r.losses.color + 0.7 * r.losses.mask;
    };
    const h = 1e-6;
    for (let k = 0; k < R * S; k += 2) {
      const p = sdf.slice(),
        m = sdf.slice();
      p[k] += h;
      m[k] -= h;
      const fd = (loss({ ...batch, sdf: p }, beta) - loss({ ...batch, sdf: m }, beta)) / (2 * h);
      expect(res.gradSdf[k]!).toBeCloseTo(fd, 5);
    }
    for (let k = 0; k < R * S * 3; k += 5) {
      const p = color.slice(),
        m = color.slice();
      p[k] += h;
      m[k] -= h;
      const fd = (loss({ ...batch, color: p }, beta) - loss({ ...batch, color: m }, beta)) / (2 * h);
      expect(res.gradColor[k]!).toBeCloseTo(fd, 5);
    }
    const fdb = (loss(batch, beta + h) - loss(batch, beta - h)) / (2 * h);
    expect(res.gradBeta).toBeCloseTo(fdb, 4);
    for (let r = 0; r < R; r++) expect(res.alpha[r]! >= 0 && res.alpha[r]! <= 1).toBe(true);
  });

  it('has an eikonal term that is zero for a distance field and differentiates', () => {
    const M = 4,
      h = 1e-3;
    // f = x·n - c for a unit n: gradient norm 1 exactly
    const pts = [
      [0.1, 0.2, 0.3],
      [0.5, -0.2, 0],
      [0, 0, 0],
      [1, 1, 1],
    ];
    const n = [0.48, 0.6, 0.64];
    const f = (p: number[]) => p[0]! * n[0]! + p[1]! * n[1]! + p[2]! * n[2]! - 0.2;
    const sdf = new Float64Array(4 * M);
    pts.forEach((p, m) => {
      sdf[m] = f(p);
      for (let k = 0; k < 3; k++) sdf[(k + 1) * M + m] = f(p.map((v, c) => v + (c === k ? h : 0)));
    });
    expect(eikonal(sdf, M, h, 1).loss).toBeLessThan(1e-12);
    const bent = sdf.map((v, i) => v * (1 + 0.3 * (i % 3)));
    const e = eikonal(bent, M, h, 0.1);
    const hh = 1e-7;
    for (let i = 0; i < 4 * M; i++) {
      const p = bent.slice(),
        m = bent.slice();
      p[i] += hh;
      m[i] -= hh;
      expect(e.grad[i]!).toBeCloseTo(
        (eikonal(p, M, h, 0.1).loss * 0.1 - eikonal(m, M, h, 0.1).loss * 0.1) / (2 * hh),
        2,
      );
    }
  });

  it('finds nearest vertices, near and far', () => {
    const rng = rand(3);
    const src = Float64Array.from({ length: 300 }, () => rng());
    const q = Float64Array.from({ length: 60 }, () => 4 * rng() - 1.5);
    const got = nearestVertices(q, src);
    for (let p = 0; p < 20; p++) {
      let best = -1,
        bd = Infinity;
      for (let i = 0; i < 100; i++) {
        const d =
          (src[3 * i]! - q[3 * p]!) ** 2 +
          (src[3 * i + 1]! - q[3 * p + 1]!) ** 2 +
          (src[3 * i + 2]! - q[3 * p + 2]!) ** 2;
        if (d < bd) {
          bd = d;
          best = i;
        }
      }
      expect(got[p]).toBe(best);
    }
  });
});
