/** The evaluation's outputs: metrics.json (everything) and metrics.csv (a row per view, then the means), atomic. */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AvatarCheckpointRef } from '../avatar/load.js';

export interface Scores {
  /** dB (Infinity for a perfect match; null in JSON). */
  psnr: number;
  ssim: number;
  /** null where LPIPS was skipped (no weights). */
  lpips: number | null;
}

export interface ViewScores extends Scores {
  frame: number;
  camera: string;
  camId: number;
  novelPose: boolean;
  novelView: boolean;
  /** The oracle baseline: the photo's own mask painted with the mean subject colour. */
  baseline: Scores;
  /** The fair baseline (when asked for): the untrained avatar's opacity painted with that colour. */
  silhouetteBaseline?: Scores;
}

export interface EvalReport {
  format: 'animgs-eval';
  version: 1;
  config: string;
  checkpoint: AvatarCheckpointRef & { stage?: string; iteration?: number };
  capture: { dataDir: string; layout: string; framesFrom: string; camsFrom: string };
  protocol: Record<string, string | null>;
  /** RGB of the baseline (null: each view's own mean colour). */
  baselineColor: number[] | null;
  views: ViewScores[];
  mean: Scores & { baseline: Scores; silhouetteBaseline?: Scores };
  seconds: number;
}

export const METRICS_JSON = 'metrics.json';
export const METRICS_CSV = 'metrics.csv';

/** Refuse to overwrite earlier results unless forced (checked before any work). */
export function checkOutputs(out: string, force: boolean): void {
  if (force) return;
  const there = [METRICS_JSON, METRICS_CSV].map((f) => join(out, f)).filter((p) => existsSync(p));
  if (there.length) {
    throw new Error(
      `eval: ${there.join(' and ')} already exist: pass --force to overwrite or --out for another folder`,
    );
  }
}

function atomicWrite(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const num = (v: number | null, digits: number) =>
  v === null ? '' : Number.isFinite(v) ? v.toFixed(digits) : String(v);

export function metricsCsv(r: EvalReport): string {
  const sil = !!r.mean.silhouetteBaseline;
  const head =
    'frame,camera,cam_id,novel_pose,novel_view,psnr,ssim,lpips,baseline_psnr,baseline_ssim,baseline_lpips' +
    (sil ? ',silhouette_baseline_psnr,silhouette_baseline_ssim,silhouette_baseline_lpips' : '');
  const cells = (s: Scores) => [num(s.psnr, 4), num(s.ssim, 6), num(s.lpips, 6)];
  const silCells = (s: Scores | undefined) => (sil ? cells(s!) : []);
  const rows = r.views.map((v) =>
    [
      v.frame,
      v.camera,
      v.camId,
      v.novelPose,
      v.novelView,
      ...cells(v),
      ...cells(v.baseline),
      ...silCells(v.silhouetteBaseline),
    ].join(','),
  );
  rows.push(
    ['mean', '', '', '', '', ...cells(r.mean), ...cells(r.mean.baseline), ...silCells(r.mean.silhouetteBaseline)].join(
      ',',
    ),
  );
  return [head, ...rows].join('\n') + '\n';
}

/** Write both files; returns their paths. */
export function writeReport(out: string, r: EvalReport): string[] {
  mkdirSync(out, { recursive: true });
  const json = join(out, METRICS_JSON);
  const csv = join(out, METRICS_CSV);
  // Infinity (identical images) has no JSON form: null
  atomicWrite(json, JSON.stringify(r, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n');
  atomicWrite(csv, metricsCsv(r));
  return [csv, json];
}
