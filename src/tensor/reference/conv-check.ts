/**
 * Test utilities of the convolution family (usable by any test): a seeded generator, error measures, and
 * finite-difference checks of a backward on a float64 function.
 */

export { seededRandom } from '../rng.js';

/** `n` values uniform in [−1, 1) as float32 (so the float64 reference sees exactly what the GPU sees). */
export function randomF32(n: number, rand: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

/** max |a − b| / max |b| (normwise relative error; 0 when both are zero). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relError: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

/**
 * Checks an analytic gradient of L(x) = ⟨gy, f(x)⟩ against central differences at `samples` coordinates (float64).
 * Returns the largest relative error, measured against the largest |gradient|.
 */
export function finiteDiffError(
  f: (x: Float64Array) => ArrayLike<number>,
  x: ArrayLike<number>,
  gy: ArrayLike<number>,
  grad: ArrayLike<number>,
  rand: () => number,
  samples = 12,
  eps = 1e-6,
): number {
  const xx = Float64Array.from(x);
  const L = (v: Float64Array) => {
    const y = f(v);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * gy[i]!;
    return s;
  };
  let scale = 0;
  for (let i = 0; i < grad.length; i++) scale = Math.max(scale, Math.abs(grad[i]!));
  let worst = 0;
  for (let t = 0; t < Math.min(samples, xx.length); t++) {
    const j = Math.floor(rand() * xx.length);
    const v = xx[j]!;
    xx[j] = v + eps;
    const lp = L(xx);
    xx[j] = v - eps;
    const lm = L(xx);
    xx[j] = v;
    const fd = (lp - lm) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - grad[j]!) / Math.max(scale, 1e-30));
  }
  return worst;
}
