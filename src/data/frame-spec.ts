/**
 * Frame selections as users write them on the command line and in configs: the one parser behind `--frames` and
 * `--part` of every command. Errors are InputErrors naming the flag, the value and what is allowed.
 */
import { InputError } from '../io/errors.js';

/**
 * A frame spec: a range "start:end" / "start:end:step" (end exclusive, as Python's range; no step: 1, or the
 * sequence's own interval where one applies) or a list "a,b,c".
 */
export type FrameSpec = { kind: 'range'; start: number; end: number; step?: number } | { kind: 'list'; ids: number[] };

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
    const step = p[2] === undefined ? undefined : int(p[2], 'step');
    if (step !== undefined && step < 1) throw new InputError(`${flag} '${spec}': the step must be at least 1`);
    if (end <= start) {
      throw new InputError(
        `${flag} '${spec}': the end (${end}) must be greater than the start (${start}); the end is exclusive, ` +
          `so ${start}:${start + 1} is frame ${start} alone`,
      );
    }
    return step === undefined ? { kind: 'range', start, end } : { kind: 'range', start, end, step };
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
    for (let f = spec.start; f < spec.end; f += spec.step ?? 1) ids.push(f);
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
