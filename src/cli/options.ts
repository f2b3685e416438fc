/**
 * Checking command-line values before any work starts: integers in a range, image sizes, frame specs. Every
 * problem is an InputError naming the flag, the value and what is allowed, e.g.
 * "--frames '5:2': the end (2) must be greater than the start (5)".
 */
import { InputError } from '../io/errors.js';

export interface IntRule {
  min?: number;
  max?: number;
}

/** An integer flag value (undefined stays undefined). */
export function intOption(v: string | number | undefined, flag: string, rule: IntRule = {}): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  const { min = -Infinity, max = Infinity } = rule;
  const range =
    min > -Infinity && max < Infinity ? `from ${min} to ${max}` : min > -Infinity ? `>= ${min}` : `<= ${max}`;
  if (!Number.isSafeInteger(n)) throw new InputError(`${flag} '${v}': expected an integer ${range}`);
  if (n < min || n > max) throw new InputError(`${flag} ${n}: must be ${range}`);
  return n;
}

/** A required integer flag value. */
export function intRequired(v: string | number, flag: string, rule: IntRule = {}): number {
  return intOption(v, flag, rule)!;
}

/** "N" or "WxH" (e.g. 512 or 640x480), each side within [min, max]. */
export function sizeOption(v: string, flag: string, min: number, max: number): { width: number; height: number } {
  const m = /^\s*(\d+)(?:\s*[xX×]\s*(\d+))?\s*$/.exec(v);
  if (!m) throw new InputError(`${flag} '${v}': use N or WxH, e.g. 512 or 640x480`);
  const width = Number(m[1]);
  const height = Number(m[2] ?? m[1]);
  for (const [side, n] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (n < min || n > max) throw new InputError(`${flag} '${v}': the ${side} must be from ${min} to ${max} pixels`);
  }
  return { width, height };
}

export { frameIdsOf, parseFrameSpec, type FrameSpec } from '../data/frame-spec.js';
