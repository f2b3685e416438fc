/**
 * What a demo run reports (demo.json, the closing summary). Its own module so that the summary's writer and the
 * stage runner both read it without importing each other.
 */
import type { Scores } from '../eval/report.js';
import type { DemoStageName } from './stages.js';

export interface StageTime {
  stage: DemoStageName | 'summary';
  /** What happened: run (from the start), resumed, or skipped (complete with the same parameters). */
  outcome: 'run' | 'resumed' | 'skipped';
  wallSeconds: number;
  cpuSeconds: number;
}

export interface DemoMetrics {
  views: number;
  avatar: Scores;
  /** The untrained avatar's silhouette in the mean colour (uses only what the avatar has). */
  fairBaseline: Scores;
  /** The photo's own silhouette in the mean colour (knows the true outline). */
  oracleBaseline: Scores;
}

export interface DemoResult {
  status: 'done' | 'interrupted';
  out: string;
  stages: StageTime[];
  /** Held-out PSNR while training: [step, dB] (the preview view: a held-out frame from a held-out camera). */
  curve: Array<[number, number]>;
  trainSteps: number | null;
  metrics: DemoMetrics | null;
  files: {
    video: string | null;
    /** The animation as an animated GIF (viewable anywhere, no encoder needed). */
    gif: string | null;
    frames: string | null;
    sideBySide: string | null;
    metrics: string | null;
    checkpoint: string | null;
    summary: string | null;
  };
}
