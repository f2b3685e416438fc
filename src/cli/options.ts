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

/** A frame spec: a range "start:end" / "start:end:step" (end exclusive, as Python's range) or a list "a,b,c". */
export type FrameSpec = { kind: 'range'; start: number; end: number; step: number } | { kind: 'list'; ids: number[] };

export function parseFrameSpec(spec: string, flag = '--frames'): FrameSpec {
  const s = spec.trim();
  const int = (t: string, what: string): number => {
    if (!/^\d+$/.test(t.trim())) {
      throw new InputError(`${flag} '${spec}': the ${what} '${t}' is not a frame number (0, 1, 2, ...)`);
    }
    return Number(t);
  };
  if (s.includes(':')) {
    const p = s.split(':');
    if (p.length < 2 || p.length > 3) throw new InputError(`${flag} '${spec}': use start:end or start:end:step`);
    const start = int(p[0]!, 'start');
    const end = int(p[1]!, 'end');
    const step = p[2] === undefined ? 1 : int(p[2], 'step');
    if (step < 1) throw new InputError(`${flag} '${spec}': the step must be at least 1`);
    if (end <= start) {
      throw new InputError(
        `${flag} '${spec}': the end (${end}) must be greater than the start (${start}); the end is exclusive, ` +
          `so ${start}:${start + 1} is frame ${start} alone`,
      );
    }
    return { kind: 'range', start, end, step };
  }
  const parts = s.split(',');
  if (s === '' || parts.some((t) => t.trim() === '')) {
    throw new InputError(`${flag} '${spec}': use start:end[:step] or a list like 0,4,8`);
  }
  const ids = parts.map((t) => int(t, 'frame'));
  return { kind: 'list', ids };
}

/**
 * The frame ids a spec selects from a sequence of `total` frames. Every id must exist: out-of-range frames are an
 * error naming `source` (the file that holds the frames), not silently dropped.
 */
export function frameIdsOf(spec: FrameSpec, total: number, flag: string, source: string): number[] {
  let ids: number[];
  if (spec.kind === 'range') {
    if (spec.end > total) {
      throw new InputError(
        `${flag}: frames up to ${spec.end - 1} were asked for but ${source} holds ${total} frames (0..${total - 1})`,
      );
    }
    ids = [];
    for (let f = spec.start; f < spec.end; f += spec.step) ids.push(f);
  } else {
    ids = spec.ids;
    const bad = ids.find((f) => f >= total);
    if (bad !== undefined) {
      throw new InputError(`${flag}: frame ${bad} is not in ${source}, which holds ${total} frames (0..${total - 1})`);
    }
  }
  if (ids.length === 0) throw new InputError(`${flag}: no frames selected`);
  return ids;
}
