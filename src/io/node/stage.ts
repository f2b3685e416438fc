/**
 * Stage markers for resumable commands (synth, prep): a small JSON file per stage recording the parameters the
 * stage's outputs were made with (sizes, frames, counts) and its inputs' sizes and modification times. A stage
 * writes its marker with `complete: false` before its first output and rewrites it with `complete: true` after its
 * last, so a later run trusts outputs only when the marker says complete (or in progress, for per-item resume)
 * *and* every parameter matches; otherwise `differences` says what changed, and the command redoes or refuses.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

export type StageParams = Record<string, unknown>;

export interface StageMarker {
  format: 'animgs stage v1';
  stage: string;
  complete: boolean;
  params: StageParams;
  /** Extra facts about the outputs (counts, file names), not compared. */
  info?: Record<string, unknown>;
}

/** What identifies an input file without hashing it: its name, size and modification time. */
export function fileStamp(path: string): { name: string; size: number; mtimeMs: number } {
  const st = statSync(path);
  return { name: basename(path), size: st.size, mtimeMs: Math.round(st.mtimeMs) };
}

export function markerPath(dir: string, stage: string): string {
  return join(dir, `.animgs-${stage}.json`);
}

/** The stage's marker in `dir`, or undefined when there is none or it is unreadable (then nothing is trusted). */
export function readStage(dir: string, stage: string): StageMarker | undefined {
  const p = markerPath(dir, stage);
  if (!existsSync(p)) return undefined;
  try {
    const m = JSON.parse(readFileSync(p, 'utf8')) as StageMarker;
    if (m?.format !== 'animgs stage v1' || m.stage !== stage || typeof m.params !== 'object') return undefined;
    return m;
  } catch {
    return undefined;
  }
}

export function writeStage(dir: string, marker: Omit<StageMarker, 'format'>): void {
  writeFileAtomic(markerPath(dir, marker.stage), JSON.stringify({ format: 'animgs stage v1', ...marker }, null, 1));
}

export function beginStage(dir: string, stage: string, params: StageParams): void {
  writeStage(dir, { stage, complete: false, params });
}

export function completeStage(dir: string, stage: string, params: StageParams, info?: Record<string, unknown>): void {
  writeStage(dir, { stage, complete: true, params, ...(info ? { info } : {}) });
}

export function clearStage(dir: string, stage: string): void {
  rmSync(markerPath(dir, stage), { force: true });
}

function show(v: unknown): string {
  if (v === undefined) return 'none';
  const s = JSON.stringify(v);
  return s.length > 48 ? `${s.slice(0, 45)}...` : s;
}

/** The parameters that differ between a marker and the current run, as "key: was → now" lines. */
export function differences(was: StageParams, now: StageParams): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])];
  for (const k of keys) {
    const a = was[k];
    const b = now[k];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const isStamp = (x: unknown) => typeof x === 'object' && x !== null && 'mtimeMs' in x;
    if (isStamp(a) && isStamp(b)) out.push(`${k} changed since (size or modification time)`);
    else out.push(`${k}: ${show(a)} → ${show(b)}`);
  }
  return out;
}
