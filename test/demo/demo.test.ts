/**
 * The demo's pipeline at a smoke-test size (3 cameras of 40×32, 4 frames, the training test's tiny networks, a
 * pretraining step and two training steps, two animation frames of 32²), one stage after another on one folder, each
 * its own test: a run stopped between stages or during training keeps the complete stages and resumes there; every
 * stage writes what the report points at; the fair baseline's scores are those of the image it saved; a stage whose
 * marker or outputs are removed is done again with the ones after it, the others kept; a changed setting redoes its
 * stage and the later ones. The stages compile their kernels in turn (the networks with pretraining, the
 * rasterizer's backward with training; the same kernels as test/train's, shared when a worker ran that file first).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuPlan, type DemoPlan } from '../../src/demo/plan.js';
import { runDemo, type DemoResult } from '../../src/demo/run.js';
import { DEMO_STAGES } from '../../src/demo/stages.js';
import { demoReport } from '../../src/demo/summary.js';
import { psnr } from '../../src/eval/metrics.js';
import type { EvalReport } from '../../src/eval/report.js';
import { markerPath, readStage } from '../../src/io/node/stage.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'animgs-demo-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The CPU plan shrunk to a smoke test (the networks of test/train/train.test.ts). */
function smokePlan(over: Partial<DemoPlan> = {}): DemoPlan {
  const p = cpuPlan(10);
  return {
    ...p,
    capture: { cameras: 3, camerasAbove: 0, width: 40, height: 32, frames: 4, testFrames: 2, supersample: 1, seed: 1 },
    trainCams: [0, 1],
    evalCams: [2],
    trainFrames: [0, 1, 2],
    evalFrames: [3],
    mapSize: 128,
    pcaComponents: 2,
    net: {
      ...p.net,
      poseMapSize: 64,
      mapSize: 128,
      channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
      styleDim: 8,
      viewdirHidden: 4,
      withViewdirs: false, // fewer kernels to compile (the training test covers the view CNN)
    },
    pretrainSteps: 1,
    trainSteps: 2,
    checkpointEvery: 1,
    previewEvery: 100_000,
    animationSize: 32,
    animationFrames: 2,
    animationStep: 1,
    ...over,
  };
}

const outcomes = (r: DemoResult) => Object.fromEntries(r.stages.map((s) => [s.stage, s.outcome]));
const quiet = { log: () => undefined };

/** The planar [3, H, W] float image of panel `k` of a saved eval view (photo | avatar | oracle | fair). */
async function panel(file: string, k: number, W: number, H: number): Promise<Float32Array> {
  const { data } = await sharp(file)
    .extract({ left: k * W, top: 0, width: W, height: H })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const n = W * H;
  const out = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[c * n + p] = data[3 * p + c]! / 255;
  return out;
}

describe('animgs demo (smoke-test size)', () => {
  const out = () => join(root, 'demo');
  const plan = smokePlan();
  const complete = (s: string) => readStage(out(), `demo-${s}`)?.complete === true;
  /** Run the demo until `stop` holds (checked at each stage's start and each training step). */
  const runUntil = (stop: () => boolean) => runDemo({ out: out(), plan, ...quiet, shouldStop: stop });

  it('capture and prep, stopped before pretraining: those two stages complete, no later one begun', async () => {
    const r = await runUntil(() => complete('prep'));
    expect(r.status).toBe('interrupted');
    expect(outcomes(r)).toEqual({ capture: 'run', prep: 'run' });
    for (const s of ['pretrain', 'train', 'animate', 'eval'] as const)
      expect(readStage(out(), `demo-${s}`), s).toBeUndefined();
  });

  it('pretraining (the untrained avatar kept for the fair baseline), stopped before training', async () => {
    const r = await runUntil(() => complete('pretrain'));
    expect(r.status).toBe('interrupted');
    expect(outcomes(r)).toEqual({ capture: 'skipped', prep: 'skipped', pretrain: 'run' });
    expect(existsSync(join(out(), 'untrained', 'state.json'))).toBe(true);
    expect(readStage(out(), 'demo-train')).toBeUndefined();
  });

  it('training stopped after its first step: a checkpoint there, the stage not complete', async () => {
    let label = '';
    let trained = 0;
    const stopped = await runDemo({
      out: out(),
      plan,
      ...quiet,
      progress: {
        start: (l) => void (label = l),
        update: (n) => void (label === 'train: steps' && (trained = n)),
        stop: () => undefined,
      },
      shouldStop: () => trained >= 1,
    });
    expect(stopped.status).toBe('interrupted');
    for (const s of ['capture', 'prep', 'pretrain'] as const) expect(complete(s), s).toBe(true);
    expect(readStage(out(), 'demo-train')?.complete).toBe(false);
    const ckpt = JSON.parse(readFileSync(join(out(), 'avatar', 'latest.json'), 'utf8')) as { checkpoint: string };
    expect(ckpt.checkpoint).toBe('batch_00000001');
  });

  it('the rerun resumes training from its checkpoint and animates, stopped before eval', async () => {
    const r = await runUntil(() => complete('animate'));
    expect(r.status).toBe('interrupted');
    expect(outcomes(r)).toEqual({
      capture: 'skipped',
      prep: 'skipped',
      pretrain: 'skipped',
      train: 'resumed',
      animate: 'run',
    });
    const ckpt = JSON.parse(readFileSync(join(out(), 'avatar', 'latest.json'), 'utf8')) as { checkpoint: string };
    expect(ckpt.checkpoint).toBe('batch_00000002');
    expect(readdirSync(join(out(), 'animation', 'rgb'))).toEqual(['00000000.png', '00000001.png']);
    const gif = await sharp(join(out(), 'animation.gif'), { animated: true }).metadata();
    expect([gif.pages, gif.width, gif.pageHeight]).toEqual([2, 32, 32]);
  });

  it('eval and the summary: what the report points at is there, the baselines score their saved images', async () => {
    const r = await runDemo({ out: out(), plan, ...quiet });
    expect(r.status).toBe('done');
    expect(outcomes(r)).toEqual({
      capture: 'skipped',
      prep: 'skipped',
      pretrain: 'skipped',
      train: 'skipped',
      animate: 'skipped',
      eval: 'run',
      summary: 'run',
    });
    for (const s of DEMO_STAGES) expect(complete(s), s).toBe(true);
    expect(r.trainSteps).toBe(2);
    expect(r.files.sideBySide && existsSync(r.files.sideBySide)).toBe(true);
    const sbs = await sharp(r.files.sideBySide!).metadata();
    expect([sbs.width, sbs.height]).toEqual([2 * 40, 32]); // one held-out frame × one held-out camera
    const report = JSON.parse(readFileSync(join(out(), 'eval', 'metrics.json'), 'utf8')) as EvalReport;
    expect(report.views.map((v) => [v.frame, v.camera, v.novelPose, v.novelView])).toEqual([[3, 'cam02', true, true]]);
    const m = r.metrics!;
    for (const s of [m.avatar, m.fairBaseline, m.oracleBaseline]) {
      expect(Number.isFinite(s.psnr) && s.psnr > 5).toBe(true);
      expect(s.ssim).toBeGreaterThan(0);
    }
    // the fair baseline's score is that of its saved panel (the untrained avatar's opacity in the mean colour)
    const view = join(out(), 'eval', 'views', '00000003_cam02.png');
    const photo = await panel(view, 0, 40, 32);
    const fair = await panel(view, 3, 40, 32);
    expect(psnr(fair, photo)).toBeCloseTo(m.fairBaseline.psnr, 4);
    const oracle = await panel(view, 2, 40, 32);
    expect(psnr(oracle, photo)).toBeCloseTo(m.oracleBaseline.psnr, 4);
    const summary = JSON.parse(readFileSync(join(out(), 'demo.json'), 'utf8')) as DemoResult;
    expect(summary.metrics!.avatar.psnr).toBeCloseTo(m.avatar.psnr, 6);
    const text = demoReport(r, plan).join('\n');
    expect(text).toMatch(/fair baseline: the untrained avatar's silhouette/);
    expect(text).toMatch(/oracle baseline: the photo's own silhouette/);
    expect(text).toContain(join(out(), 'side_by_side.png'));
  });

  it('a removed marker (an interrupted animation) redoes that stage and the ones after; earlier ones are kept', async () => {
    rmSync(markerPath(out(), 'demo-animate'));
    const again = await runDemo({ out: out(), plan, ...quiet });
    expect(outcomes(again)).toMatchObject({ train: 'skipped', animate: 'run', eval: 'run' });
  });

  it('a complete stage whose outputs were removed is done again, with the ones after it', async () => {
    rmSync(join(out(), 'eval'), { recursive: true });
    const evalAgain = await runDemo({ out: out(), plan, ...quiet });
    expect(outcomes(evalAgain)).toMatchObject({ animate: 'skipped', eval: 'run' });
  });

  it("a changed setting (the animation's length) redoes its stage and the later ones; then only the summary", async () => {
    const shorter = await runDemo({ out: out(), plan: smokePlan({ animationFrames: 1 }), ...quiet });
    expect(outcomes(shorter)).toMatchObject({ train: 'skipped', animate: 'run', eval: 'run' });
    expect(readdirSync(join(out(), 'animation', 'rgb'))).toEqual(['00000000.png']);
    const done = await runDemo({ out: out(), plan: smokePlan({ animationFrames: 1 }), ...quiet });
    expect(Object.values(outcomes(done)).filter((o) => o !== 'skipped')).toEqual(['run']); // the summary only
  });

  it('refuses a folder that holds other files, before any work', async () => {
    const other = join(root, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'notes.txt'), 'mine');
    await expect(runDemo({ out: other, plan: smokePlan(), ...quiet })).rejects.toThrow(/holds other files/);
    expect(readdirSync(other)).toEqual(['notes.txt']);
  });
});
