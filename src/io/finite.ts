/**
 * Finiteness checks: NaN or ±Inf in a model, a pose, a map or a splat silently poisons everything computed from it,
 * so readers reject them where they would (naming the file, the field and the element) unless told otherwise.
 */
import { FormatError } from './errors.js';

/** Index of the first NaN/±Inf in `a` (−1 when all are finite). Integer and bigint arrays are always finite. */
export function firstNonFinite(a: ArrayLike<number> | ArrayLike<bigint>): number {
  if (a instanceof Float32Array || a instanceof Float64Array) {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      // x - x is 0 for finite numbers and NaN for NaN and ±Inf; faster than Number.isFinite in a hot loop
      if (x - x !== 0) return i;
    }
    return -1;
  }
  if (!Array.isArray(a)) return -1;
  for (let i = 0; i < a.length; i++) {
    const x: unknown = a[i];
    if (typeof x === 'number' && x - x !== 0) return i;
  }
  return -1;
}

/** Where element `i` sits in an array of this shape, e.g. "[2, 5]" (or just "i" without a shape). */
export function elementAt(i: number, shape?: readonly number[]): string {
  if (!shape || shape.length < 2) return `element ${i}`;
  const idx: number[] = [];
  let r = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]! || 1;
    idx.unshift(r % n);
    r = Math.floor(r / n);
  }
  return `element [${idx.join(', ')}]`;
}

/**
 * Throw a FormatError when `a` holds NaN or ±Inf: "<source>: '<field>' element [2, 5] is NaN: <hint>".
 * `hint` says what to do (default: fix or regenerate the file).
 */
export function checkFinite(
  a: ArrayLike<number> | ArrayLike<bigint>,
  source: string,
  field: string,
  shape?: readonly number[],
  hint = 'the file is corrupt or was written from a diverged computation; regenerate it',
): void {
  const i = firstNonFinite(a);
  if (i < 0) return;
  const v = (a as ArrayLike<number>)[i]!;
  throw new FormatError(source, `'${field}' ${elementAt(i, shape)} is ${String(v)}: ${hint}`);
}

/**
 * Throw a FormatError when `a` holds a value outside [−maxAbs, maxAbs] (or a non-finite one): a plausibility bound
 * for quantities with a physical scale (metres, radians, splat scales), so a corrupt but finite value (1e30 from a
 * flipped exponent bit) is caught at the file rather than as NaN or Inf far downstream.
 */
export function checkRange(
  a: ArrayLike<number>,
  source: string,
  field: string,
  maxAbs: number,
  unit = '',
  shape?: readonly number[],
): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (!(x >= -maxAbs && x <= maxAbs)) {
      throw new FormatError(
        source,
        `'${field}' ${elementAt(i, shape)} is ${String(x)}${unit}, beyond ±${maxAbs}${unit}: not a plausible value ` +
          `(the file is corrupt or not what it claims to be)`,
      );
    }
  }
}
