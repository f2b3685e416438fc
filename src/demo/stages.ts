/**
 * The demo's stages and their markers (io/node/stage.ts: `.animgs-demo-<stage>.json` in the demo folder). A stage
 * writes its marker with `complete: false` before its first output and `complete: true` after its last, recording
 * the parameters it ran with. A later run skips a stage whose marker is complete with the same parameters, resumes
 * one that was interrupted with the same parameters (the stage decides how: synth and prep finish their files,
 * training continues from its last checkpoint), and redoes a stage whose parameters changed. Starting (or redoing)
 * a stage removes the markers of the stages after it, so they are done again on the new outputs.
 */
import { beginStage, clearStage, completeStage, differences, readStage, type StageParams } from '../io/node/stage.js';

export const DEMO_STAGES = ['capture', 'prep', 'pretrain', 'train', 'animate', 'eval'] as const;
export type DemoStageName = (typeof DEMO_STAGES)[number];

export type StageState =
  | { kind: 'complete'; info?: Record<string, unknown> }
  /** Begun with these parameters and not finished: resume. */
  | { kind: 'partial' }
  /** Never begun, or begun with other parameters (`changed` says which). */
  | { kind: 'new'; changed: string[] };

const markerName = (s: DemoStageName) => `demo-${s}`;

export class DemoStages {
  constructor(private readonly dir: string) {}

  state(stage: DemoStageName, params: StageParams): StageState {
    const m = readStage(this.dir, markerName(stage));
    if (!m) return { kind: 'new', changed: [] };
    const changed = differences(m.params, params);
    if (changed.length) return { kind: 'new', changed };
    return m.complete ? { kind: 'complete', ...(m.info ? { info: m.info } : {}) } : { kind: 'partial' };
  }

  /** Mark `stage` begun; the stages after it are no longer complete. */
  begin(stage: DemoStageName, params: StageParams): void {
    for (const later of DEMO_STAGES.slice(DEMO_STAGES.indexOf(stage) + 1)) clearStage(this.dir, markerName(later));
    beginStage(this.dir, markerName(stage), params);
  }

  complete(stage: DemoStageName, params: StageParams, info?: Record<string, unknown>): void {
    completeStage(this.dir, markerName(stage), params, info);
  }

  /** Forget every stage (--fresh). */
  clearAll(): void {
    for (const s of DEMO_STAGES) clearStage(this.dir, markerName(s));
  }
}
