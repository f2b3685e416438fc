/**
 * Shared test helpers for float64 references: seeded random arrays, error measures, finite-difference gradients.
 * (Every engineer's op tests use these; see docs/engine.md.)
 */

export { seededRandom } from '../../src/tensor/rng.js';

/** `n` values uniform in [lo, hi) rounded to float32 (so the float64 reference sees exactly the GPU's inputs). */
export function randomF32(n: number, rand: () => number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** Like randomF32 but keeping |v| ≥ margin (away from kinks of relu/abs and from zero for div/log). */
export function randomAway(n: number, rand: () => number, margin = 0.05, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = rand() < 0.5 ? -1 : 1;
    a[i] = s * (margin + (scale - margin) * rand());
  }
  return a;
}

/** max |a − b| / max |b| (normwise relative error; the absolute error when b is all zero). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relError: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    num = Math.max(num, Number.isNaN(d) ? Infinity : d);
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

/** ⟨a, b⟩ in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Checks analytic gradients of L(xs) = ⟨gy, f(xs)⟩ (float64) against central differences at up to `samples`
 * coordinates of each input. Returns the worst error relative to the largest |gradient| of that input.
 */
export function finiteDiffCheck(
  f: (xs: Float64Array[]) => ArrayLike<number>,
  xs: ArrayLike<number>[],
  gy: ArrayLike<number>,
  grads: (ArrayLike<number> | null)[],
  rand: () => number,
  samples = 16,
  eps = 1e-6,
): number {
  const xx = xs.map((x) => Float64Array.from(x));
  const L = () => dot(f(xx), gy);
  let worst = 0;
  xx.forEach((x, k) => {
    const g = grads[k];
    if (!g) return;
    let scale = 0;
    for (let i = 0; i < g.length; i++) scale = Math.max(scale, Math.abs(g[i]!));
    for (let t = 0; t < Math.min(samples, x.length); t++) {
      const j = samples >= x.length ? t : Math.floor(rand() * x.length);
      const v = x[j]!;
      x[j] = v + eps;
      const lp = L();
      x[j] = v - eps;
      const lm = L();
      x[j] = v;
      const fd = (lp - lm) / (2 * eps);
      worst = Math.max(worst, Math.abs(fd - g[j]!) / Math.max(scale, 1e-30));
    }
  });
  return worst;
}

/**
 * The full gradient of L(xs) = ⟨gy, f(xs)⟩ with respect to xs[k] by float64 central differences (small inputs only;
 * the reference gradient of composite ops).
 */
export function numericGrad(
  f: (xs: Float64Array[]) => ArrayLike<number>,
  xs: ArrayLike<number>[],
  gy: ArrayLike<number>,
  k: number,
  eps = 1e-6,
): Float64Array {
  const xx = xs.map((x) => Float64Array.from(x));
  const x = xx[k]!;
  const g = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const v = x[j]!;
    x[j] = v + eps;
    const lp = dot(f(xx), gy);
    x[j] = v - eps;
    const lm = dot(f(xx), gy);
    x[j] = v;
    g[j] = (lp - lm) / (2 * eps);
  }
  return g;
}
