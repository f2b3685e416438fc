/**
 * `animgs demo`: the synthetic subject end to end, in stages (stages.ts) that an interrupted run resumes:
 *
 *   capture   animgs synth: the subject filmed by a ring of cameras doing a training motion, plus a held-out motion
 *   prep      animgs prep: canonical Gaussian maps, posed position maps of every frame, the pose PCA
 *   pretrain  animgs train's pretraining: the networks learn the template's base values; this untrained avatar is
 *             kept (<out>/untrained) for the fair baseline
 *   train     the main training on the training cameras and frames, for the plan's steps or its time budget
 *             (whichever ends first), with checkpoints and held-out previews (PSNR of a frame and camera it never sees)
 *   animate   animgs animate: the held-out motion (poses_test.npz) from an orbiting camera: PNG frames (+ MP4)
 *   eval      animgs eval on the held-out frames and cameras: PSNR and SSIM beside two baselines (the photo's own
 *             silhouette, an oracle; the untrained avatar's silhouette, fair), each painted the mean subject colour
 *
 * then a side-by-side image (captured photo | avatar, held-out views) and demo.json. Everything lives in `out`:
 * capture/, avatar.yaml, train_frames.txt, avatar/ (checkpoints, train_log.jsonl, previews/), untrained/,
 * animation/, eval/, side_by_side.png, demo.json and the stage markers .animgs-demo-*.json.
 */
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTrainConfig, type TrainConfig } from '../avatar/config-file.js';
import { findLatestCheckpoint, readCheckpointState } from '../avatar/checkpoint-read.js';
import { planAnimation, runAnimation } from '../animate/animate.js';
import { loadSmplxModel } from '../body/node/files.js';
import { readSmplParams } from '../data/smpl-params.js';
import { checkSynthTarget, synthesizeCapture, synthParams, type SynthOptions } from '../data/synth/capture.js';
import { evaluateAvatar } from '../eval/evaluate.js';
import type { EvalReport } from '../eval/report.js';
import { getGpu } from '../gpu/index.js';
import { InputError } from '../io/errors.js';
import { checkOutputDir, ensureDir, removeStaleTemps, tempPathFor, writeFileAtomic } from '../io/node/atomic.js';
import type { StageParams } from '../io/node/stage.js';
import { prepare } from '../prep/prep.js';
import { trainAvatar, type StepReport } from '../train/trainer.js';
import type { DemoPlan } from './plan.js';
import { DEMO_STAGES, DemoStages, type DemoStageName } from './stages.js';
import type { DemoMetrics, DemoResult, StageTime } from './result.js';
import { animatedGif, sideBySide } from './summary.js';

export type { DemoMetrics, DemoResult, StageTime } from './result.js';

/** A count with an ETA (cli/progress.ts gives a bar on a terminal, lines otherwise). */
export interface DemoProgress {
  start(label: string, total: number, done?: number): void;
  update(done: number): void;
  stop(): void;
}

export interface DemoOptions {
  out: string;
  plan: DemoPlan;
  /** Remove everything an earlier demo wrote in `out` and start again. */
  fresh?: boolean;
  log?: (line: string) => void;
  progress?: DemoProgress;
  /** Stop at the next safe point (Ctrl-C): training checkpoints, the animation keeps its frames. */
  shouldStop?: () => boolean;
}

/** What the demo writes into `out` (what --fresh removes; nothing else there is touched). */
export const DEMO_OUTPUTS = [
  'capture',
  'avatar',
  'untrained',
  'animation',
  'eval',
  'avatar.yaml',
  'train_frames.txt',
  'train_time.json',
  'animation.gif',
  'side_by_side.png',
  'demo.json',
] as const;

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

const fmtS = (s: number) => {
  const r = Math.round(s);
  return r < 60 ? `${r} s` : `${Math.floor(r / 60)} min ${r % 60} s`;
};

/** The avatar.yaml of the demo (the reference's keys; our network sizes are set in code: plan.ts). */
function configYaml(plan: DemoPlan, p: { data: string; ckpt: string; frames: string; untrained: string }): string {
  const heldOutView = [plan.evalFrames[0]!, plan.evalCams[0]!];
  const trainView = [plan.trainFrames[0]!, plan.trainCams[0]!];
  return `# written by \`animgs demo\` (network sizes: ${plan.netName}, set in src/demo/plan.ts)
mode: train
train:
  dataset: MvRgbDatasetTHuman4
  data:
    subject_name: synthetic
    data_dir: ${JSON.stringify(p.data)}
    frame_range: ${JSON.stringify(p.frames)}
    used_cam_ids: [${plan.trainCams.join(', ')}]
  net_ckpt_dir: ${JSON.stringify(p.ckpt)}
  prev_ckpt: ${JSON.stringify(p.untrained)}
  eval_training_ids: [${trainView.join(', ')}]
  eval_testing_ids: [${heldOutView.join(', ')}]
  eval_interval: ${plan.previewEvery}
  ckpt_interval: {epoch: 10, batch: ${plan.checkpointEvery}}
  lr_init: ${plan.lr}
  loss_weight: {l1: 1.0, lpips: ${plan.lpips ? 0.1 : 0}, offset: 0.005}
  random_bg_color: true
  num_workers: 0
  pretrain_iterations: ${plan.pretrainSteps}
  iterations: ${plan.trainSteps}
  seed: 1
model:
  with_viewdirs: ${plan.net.withViewdirs}
  random_style: false
  preset: ${plan.kind === 'gpu' ? 'full' : 'small'}
`;
}

/** Run (or resume) the demo. Throws InputError for what a user can fix; returns 'interrupted' after Ctrl-C. */
export async function runDemo(opt: DemoOptions): Promise<DemoResult> {
  const plan = opt.plan;
  const out = resolve(opt.out);
  const rawLog = opt.log ?? console.log;
  const bar = opt.progress;
  // a message ends the current bar's line; its next update starts the bar again where it was
  let barState: { label: string; total: number; done: number; shown: boolean } | null = null;
  const log = (line: string) => {
    if (barState?.shown) {
      bar!.stop();
      barState.shown = false;
    }
    rawLog(line);
  };
  const count = {
    start(label: string, total: number, done = 0) {
      if (barState?.shown) bar?.stop();
      barState = { label, total, done, shown: !!bar };
      bar?.start(label, total, done);
    },
    update(done: number) {
      if (!barState || !bar) return;
      barState.done = done;
      if (!barState.shown) {
        bar.start(barState.label, barState.total, done);
        barState.shown = true;
      } else bar.update(done);
    },
    stop() {
      if (barState?.shown) bar?.stop();
      barState = null;
    },
  };
  const stopRequested = () => !!opt.shouldStop?.();

  const paths = {
    capture: join(out, 'capture'),
    ckpt: join(out, 'avatar'),
    untrained: join(out, 'untrained'),
    animation: join(out, 'animation'),
    eval: join(out, 'eval'),
    yaml: join(out, 'avatar.yaml'),
    frames: join(out, 'train_frames.txt'),
    time: join(out, 'train_time.json'),
    sideBySide: join(out, 'side_by_side.png'),
    gif: join(out, 'animation.gif'),
    summary: join(out, 'demo.json'),
  };

  // the folder: new, empty, or an earlier demo's (its markers or outputs); never anything else
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new InputError(`--out ${out}: not a folder`);
    const entries = readdirSync(out);
    const ours = (n: string) => (DEMO_OUTPUTS as readonly string[]).includes(n) || n.startsWith('.animgs-demo-');
    if (entries.length && !entries.some(ours)) {
      throw new InputError(
        `--out ${out} holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}) ` +
          `and no demo: choose a new or empty folder`,
      );
    }
  }
  checkOutputDir(out, 'demo folder');
  removeStaleTemps(out);
  const stages = new DemoStages(out);
  if (opt.fresh) {
    for (const n of DEMO_OUTPUTS) rmSync(join(out, n), { recursive: true, force: true });
    stages.clearAll();
  }

  const synthOpt: SynthOptions = {
    out: paths.capture,
    ...plan.capture,
    force: false,
    forceFlag: '--fresh',
  };
  const params: Record<DemoStageName, StageParams> = {
    capture: { ...synthParams(synthOpt) },
    prep: {
      size: plan.mapSize,
      pca: plan.pcaComponents,
      frames: plan.capture.frames,
      pcaFrames: plan.trainFrames,
    },
    pretrain: {
      net: plan.net,
      steps: plan.pretrainSteps,
      cams: plan.trainCams,
      frames: plan.trainFrames,
      seed: 1,
    },
    train: {
      steps: plan.trainSteps,
      minutes: plan.minutes,
      lr: plan.lr,
      lpips: plan.lpips,
      checkpointEvery: plan.checkpointEvery,
      previewEvery: plan.previewEvery,
    },
    animate: {
      size: plan.animationSize,
      frames: plan.animationFrames,
      step: plan.animationStep,
      fps: plan.fps,
      view: 'free',
    },
    eval: { frames: plan.evalFrames, cams: plan.evalCams, lpips: plan.lpips },
  };
  // a capture folder the markers do not vouch for is replaced; anything else in it is checked before any work
  const captureState = stages.state('capture', params.capture);
  if (captureState.kind !== 'complete' && captureState.kind !== 'partial' && existsSync(paths.capture)) {
    if (captureState.changed.length) rmSync(paths.capture, { recursive: true, force: true });
  }
  checkSynthTarget(synthOpt);

  const gpu = await getGpu();
  const result: DemoResult = {
    status: 'done',
    out,
    stages: [],
    curve: [],
    trainSteps: null,
    metrics: null,
    files: {
      video: null,
      gif: null,
      frames: null,
      sideBySide: null,
      metrics: null,
      checkpoint: null,
      summary: null,
    },
  };
  const t0 = performance.now();
  log(
    `demo: ${plan.kind === 'cpu' ? 'CPU adapter' : 'GPU'} plan: ${plan.capture.cameras} cameras of ` +
      `${plan.capture.width}×${plan.capture.height}, ${plan.capture.frames} frames (training: cameras ` +
      `${plan.trainCams.join(',')}, ${plan.trainFrames.length} frames; held out: cameras ${plan.evalCams.join(',')}, ` +
      `every 4th frame); avatar ${plan.netName}; training ≤ ${plan.trainSteps} steps or ${plan.minutes} min`,
  );

  /** What a complete stage must have left (else it is done again). */
  const keyOutputs: Record<DemoStageName, string[]> = {
    capture: [join(paths.capture, 'synth.json')],
    prep: [join(paths.capture, 'smpl_pos_map', 'cano_smpl_pos_map.exr')],
    pretrain: [join(paths.untrained, 'state.json')],
    train: [join(paths.ckpt, 'latest.json')],
    animate: [join(paths.animation, 'animation.json'), paths.gif],
    eval: [join(paths.eval, 'metrics.json'), join(paths.eval, 'views')],
  };

  /**
   * Run one stage: skipped when complete with the same parameters and its outputs there, else run (or resumed)
   * and timed.
   */
  const stage = async (
    name: DemoStageName,
    what: string,
    body: (resume: boolean, changed: string[]) => Promise<Record<string, unknown> | void>,
  ): Promise<void> => {
    let st = stages.state(name, params[name]);
    const n = DEMO_STAGES.indexOf(name) + 1;
    const head = `demo [${n}/${DEMO_STAGES.length}] ${what}`;
    const gone = st.kind === 'complete' ? keyOutputs[name].filter((p) => !existsSync(p)) : [];
    if (gone.length) st = { kind: 'new', changed: [`${gone.join(', ')} missing`] };
    if (st.kind === 'complete') {
      log(`${head}: done earlier (kept)`);
      result.stages.push({ stage: name, outcome: 'skipped', wallSeconds: 0, cpuSeconds: 0 });
      return;
    }
    const resume = st.kind === 'partial';
    const changed = st.kind === 'new' ? st.changed : [];
    log(
      `${head}${resume ? ': resuming the interrupted run' : changed.length ? `: again (${changed.join('; ')})` : ''}`,
    );
    if (stopRequested()) throw new Interrupted();
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    if (!resume) stages.begin(name, params[name]);
    const info = await body(resume, changed);
    count.stop();
    const c = process.cpuUsage(c0);
    const time: StageTime = {
      stage: name,
      outcome: resume ? 'resumed' : 'run',
      wallSeconds: (performance.now() - w0) / 1000,
      cpuSeconds: (c.user + c.system) / 1e6,
    };
    result.stages.push(time);
    stages.complete(name, params[name], {
      ...(info ?? {}),
      wallSeconds: time.wallSeconds,
      cpuSeconds: time.cpuSeconds,
    });
    log(
      `${head}: ${fmtS(time.wallSeconds)} (CPU ${fmtS(time.cpuSeconds)}; ${fmtS((performance.now() - t0) / 1000)} in all)`,
    );
  };

  let cfg: TrainConfig | null = null;
  const config = (): TrainConfig => {
    if (cfg) return cfg;
    cfg = loadTrainConfig(paths.yaml, { preset: plan.kind === 'gpu' ? 'full' : 'small' });
    cfg.net = { ...plan.net };
    return cfg;
  };
  const trainTime = (): { pretrain: number; train: number } => {
    try {
      return JSON.parse(readFileSync(paths.time, 'utf8')) as { pretrain: number; train: number };
    } catch {
      return { pretrain: 0, train: 0 };
    }
  };
  const saveTrainTime = (t: { pretrain: number; train: number }) => writeFileAtomic(paths.time, JSON.stringify(t));
  const quiet = (line: string) =>
    /^train: checkpoint |^avatar: using the network sizes|^train: resuming|^train: starting from/.test(line);
  const trainLog = (line: string) => {
    if (!quiet(line)) log(`  ${line}`);
  };

  try {
    await stage('capture', 'synthetic capture', async () => {
      count.start('capture: frames', plan.capture.frames);
      const r = await synthesizeCapture(gpu, { ...synthOpt, onFrame: (d) => count.update(d) });
      count.stop();
      log(
        `  ${r.cameras.length} cameras × ${r.frames} frames (${r.rendered} views rendered) and a held-out motion ` +
          `of ${r.testFrames} frames in ${paths.capture}`,
      );
      return { rendered: r.rendered };
    });

    await stage('prep', 'preprocessing: canonical Gaussian maps, posed maps, pose PCA', async (resume) => {
      if (!resume) rmSync(join(paths.capture, 'smpl_pos_map'), { recursive: true, force: true });
      const model = loadSmplxModel(join(paths.capture, 'smplx_model.npz'));
      const smpl = readSmplParams(join(paths.capture, 'smpl_params.npz'));
      count.start('prep: posed maps', plan.capture.frames);
      const r = await prepare(gpu, {
        dataDir: paths.capture,
        model,
        smpl,
        size: plan.mapSize,
        pcaFrames: plan.trainFrames,
        pcaComponents: plan.pcaComponents,
        forceFlag: '--fresh',
        onFrame: (d) => count.update(d),
      });
      count.stop();
      log(`  ${r.gaussians} Gaussians (canonical maps ${plan.mapSize}² per side), ${plan.capture.frames} posed maps`);
      return { gaussians: r.gaussians };
    });

    // the config the later stages read (deterministic: rewritten each run)
    writeFileAtomic(paths.frames, plan.trainFrames.join('\n') + '\n');
    writeFileAtomic(
      paths.yaml,
      configYaml(plan, { data: paths.capture, ckpt: paths.ckpt, frames: paths.frames, untrained: paths.untrained }),
    );

    const onStep = (label: string) => {
      let started = false;
      return (s: StepReport) => {
        if (!started) {
          count.start(label, s.total, s.iteration - 1);
          started = true;
        }
        count.update(s.iteration);
      };
    };

    await stage('pretrain', 'pretraining: the networks learn the template (the untrained avatar)', async (resume) => {
      const c = config();
      let remaining = plan.pretrainSteps;
      const latest = resume && existsSync(paths.ckpt) ? findLatestCheckpoint(paths.ckpt) : null;
      const st = latest ? readCheckpointState(latest) : null;
      if (st?.stage === 'pretrain') remaining = Math.max(0, plan.pretrainSteps - st.iteration);
      else if (st?.stage === 'train' && st.iteration === 0)
        remaining = -1; // done: only the copy is missing
      else {
        rmSync(paths.ckpt, { recursive: true, force: true });
        saveTrainTime({ pretrain: 0, train: 0 });
      }
      let ckpt = latest;
      if (remaining >= 0) {
        const w0 = performance.now();
        const spent = trainTime();
        const r = await trainAvatar({
          config: { ...c, train: { ...c.train, prevCkpt: null } },
          ...(st ? { resume: true } : { force: true }),
          maxSteps: remaining,
          log: trainLog,
          onStep: onStep('pretrain: steps'),
          shouldStop: stopRequested,
        });
        saveTrainTime({ ...spent, pretrain: spent.pretrain + (performance.now() - w0) / 1000 });
        if (r.stopped === 'interrupted') throw new Interrupted();
        ckpt = r.checkpoint;
      }
      if (!ckpt) throw new Error('demo: pretraining wrote no checkpoint');
      const tmp = tempPathFor(paths.untrained);
      cpSync(ckpt, tmp, { recursive: true });
      rmSync(paths.untrained, { recursive: true, force: true });
      renameSync(tmp, paths.untrained);
      return { checkpoint: paths.untrained };
    });

    await stage('train', 'training', async (resume, changed) => {
      const c = config();
      // after this run's pretraining the latest checkpoint is its end: continue from it (the log keeps the
      // step-0 preview); a training redone with other settings starts again from the untrained avatar
      const again = !resume && changed.length > 0;
      if (again) {
        rmSync(paths.ckpt, { recursive: true, force: true });
        saveTrainTime({ ...trainTime(), train: 0 });
      }
      const spent = trainTime();
      const budget = plan.minutes * 60 - spent.pretrain - spent.train;
      log(
        `  up to ${plan.trainSteps} steps within ${fmtS(Math.max(0, budget))} of the ${plan.minutes} min budget ` +
          `(${fmtS(spent.pretrain + spent.train)} used); held-out PSNR every ${plan.previewEvery} steps`,
      );
      const w0 = performance.now();
      let outOfTime = false;
      let lastSave = w0;
      const r = await trainAvatar({
        config: c,
        ...(again ? { force: true } : { resume: true }),
        log: trainLog,
        onStep: (() => {
          // the count's total is the steps the budget will allow at the rate so far (the plan's steps at most)
          let total = 0;
          let first: { it: number; t: number } | null = null;
          return (s: StepReport) => {
            const now = performance.now();
            first ??= { it: s.iteration, t: now };
            let est = s.total;
            if (s.iteration - first.it >= 5) {
              const perStep = (now - first.t) / 1000 / (s.iteration - first.it);
              const left = budget - (now - w0) / 1000;
              est = Math.min(s.total, s.iteration + Math.max(0, Math.floor(left / perStep)));
            }
            if (!total || Math.abs(est - total) > 0.05 * total) {
              total = est;
              count.start('train: steps', total, s.iteration - 1);
            }
            count.update(Math.min(s.iteration, total));
            if (now - lastSave > 5000) {
              lastSave = now;
              saveTrainTime({ ...spent, train: spent.train + (now - w0) / 1000 });
            }
          };
        })(),
        shouldStop: () => {
          if (stopRequested()) return true;
          outOfTime = (performance.now() - w0) / 1000 >= budget;
          return outOfTime;
        },
      });
      saveTrainTime({ ...spent, train: spent.train + (performance.now() - w0) / 1000 });
      if (r.stopped === 'interrupted' && !outOfTime) throw new Interrupted();
      log(
        `  ${outOfTime ? 'time budget used' : 'done'} at step ${r.iteration}` +
          (outOfTime ? ` of ${plan.trainSteps}` : '') +
          `; checkpoint ${r.checkpoint}`,
      );
      return { steps: r.iteration, checkpoint: r.checkpoint, stoppedBy: outOfTime ? 'time budget' : 'steps' };
    });

    await stage('animate', 'animating the held-out motion from an orbiting camera', async () => {
      const anim = await planAnimation({
        config: config(),
        poses: join(paths.capture, 'poses_test.npz'),
        frames: `0:${plan.animationFrames}:${plan.animationStep}`,
        view: 'free',
        size: `${plan.animationSize}x${plan.animationSize}`,
        out: paths.animation,
        fps: plan.fps,
        force: true,
        log: trainLog,
      });
      count.start('animate: frames', anim.poses.count);
      const r = await runAnimation(anim, {
        log: trainLog,
        onFrame: (f) => count.update(f.done),
        shouldStop: stopRequested,
      });
      count.stop();
      if (r.stopped) throw new Interrupted();
      await animatedGif(join(paths.animation, 'rgb'), paths.gif, plan.fps);
      log(
        `  ${r.frames} frames of ${plan.animationSize}² at ${r.fps.toFixed(1)} frames/s` +
          `${r.video ? `, ${r.video}` : ' (no MP4 encoder: PNG frames)'} and ${paths.gif}`,
      );
      return { frames: r.frames, video: r.video };
    });

    await stage('eval', 'evaluating on held-out frames and cameras', async () => {
      const views = plan.evalFrames.length * plan.evalCams.length;
      count.start('eval: views', views);
      let done = 0;
      await evaluateAvatar({
        config: config(),
        frames: plan.evalFrames,
        cams: plan.evalCams,
        out: paths.eval,
        force: true,
        saveImages: true,
        silhouetteBaseline: paths.untrained,
        ...(plan.lpips ? {} : { lpips: null }),
        log: (line) => {
          if (/^eval: \d+\/\d+ /.test(line)) count.update(++done);
          else if (!/^eval: mean over/.test(line)) trainLog(line);
        },
      });
      count.stop();
    });
  } catch (e) {
    count.stop();
    if (e instanceof Interrupted) {
      result.status = 'interrupted';
      log(`demo: interrupted; run the same command again to resume from the last complete stage`);
      return result;
    }
    throw e;
  }

  // the summary: read back from the files, so a rerun of a complete demo prints it too
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  const report = JSON.parse(readFileSync(join(paths.eval, 'metrics.json'), 'utf8')) as EvalReport;
  const m = report.mean;
  result.metrics = {
    views: report.views.length,
    avatar: { psnr: m.psnr, ssim: m.ssim, lpips: m.lpips },
    fairBaseline: m.silhouetteBaseline!,
    oracleBaseline: m.baseline,
  };
  result.curve = heldOutCurve(join(paths.ckpt, 'train_log.jsonl'));
  const latest = findLatestCheckpoint(paths.ckpt);
  result.files.checkpoint = latest;
  result.trainSteps = latest ? readCheckpointState(latest).iteration : null;
  const animJson = JSON.parse(readFileSync(join(paths.animation, 'animation.json'), 'utf8')) as {
    outputs: { video: string | null };
  };
  result.files.video = animJson.outputs.video ? join(paths.animation, animJson.outputs.video) : null;
  result.files.frames = join(paths.animation, 'rgb');
  result.files.gif = existsSync(paths.gif) ? paths.gif : null;
  result.files.metrics = join(paths.eval, 'metrics.csv');
  result.files.sideBySide = await sideBySide(join(paths.eval, 'views'), paths.sideBySide, {
    frames: plan.evalFrames,
    cams: report.views.map((v) => v.camera).filter((c, i, a) => a.indexOf(c) === i),
    width: plan.capture.width,
  });
  const c = process.cpuUsage(c0);
  result.stages.push({
    stage: 'summary',
    outcome: 'run',
    wallSeconds: (performance.now() - w0) / 1000,
    cpuSeconds: (c.user + c.system) / 1e6,
  });
  result.files.summary = paths.summary;
  ensureDir(out);
  writeFileAtomic(
    paths.summary,
    JSON.stringify(
      { format: 'animgs demo v1', plan, ...result, writtenAt: new Date().toISOString() },
      (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      1,
    ) + '\n',
  );
  return result;
}

/** The held-out preview PSNR of each logged step (train_log.jsonl 'preview' events of the main training). */
export function heldOutCurve(logFile: string): Array<[number, number]> {
  if (!existsSync(logFile)) return [];
  const pts = new Map<number, number>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as { event?: string; stage?: string; iteration?: number; psnr_test_pose?: number };
      if (e.event === 'preview' && e.stage === 'train' && typeof e.psnr_test_pose === 'number')
        pts.set(e.iteration!, e.psnr_test_pose);
    } catch {
      // a line cut short by a kill: skip it
    }
  }
  return [...pts].sort((a, b) => a[0] - b[0]);
}
