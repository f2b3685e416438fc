/**
 * `animgs train`: the avatar's training run. Checks the capture against the config before any work, builds the
 * AvatarNet from the canonical maps (or a checkpoint: ours to resume, the reference's `net.pt` or one of ours as a
 * starting point), pretrains the networks towards the canonical base values, then runs the main loop: one random
 * (frame, camera) per step, random background, L1 + LPIPS (or D-SSIM without its weights) + offset regularizer,
 * Adam with cosine decay. Each step is recorded once and replayed. Losses are read one step late (no stall); a
 * NaN or Inf loss stops the run without writing a checkpoint, so the last one on disk is the last good state.
 * Checkpoints at the configured interval, on stop (Ctrl-C) and at the end; a JSONL log; held-out previews.
 */
import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleTemps } from '../io/node/atomic.js';
import { canonicalGaussians, canonicalTensors } from '../avatar/canonical.js';
import { AvatarNet } from '../avatar/net.js';
import type { CanonicalGaussians } from '../avatar/gaussian-map.js';
import type { SmplxModel } from '../body/model.js';
import { loadSmplxModel } from '../body/node/files.js';
import { readBytes } from '../io/node/files.js';
import { resolveLpipsWeights, loadLpips } from '../nn/lpips-weights.js';
import type { Lpips } from '../nn/lpips.js';
import { Adam } from '../nn/optim.js';
import { readPoseMap } from '../prep/files.js';
import { gpu, initEngine } from '../tensor/index.js';
import { checkCapture, type CheckedCapture } from './capture-check.js';
import {
  findLatestCheckpoint,
  loadCheckpoint,
  removeCheckpoints,
  restoreAdam,
  saveCheckpoint,
  settingsMismatch,
  type CheckpointSettings,
  type CheckpointState,
} from './checkpoint.js';
import type { TrainConfig } from '../avatar/config-file.js';
import {
  HeldOutRenderer,
  meanColorImage,
  meanSubjectColor,
  previewPath,
  psnr,
  writeSideBySide,
  type HeldOutView,
} from './preview.js';
import { SampleRng } from '../tensor/rng.js';
import { frontPoseMap } from './sample.js';
import { TrainSampler, type SamplerState } from './sampler.js';
import { TrainStep, type StepInput } from './step.js';

/** lr at iteration `it` of `total`: cosine from lr0 down to 5% of it. */
export function cosineLr(lr0: number, it: number, total: number): number {
  return lr0 * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * Math.min(it, total)) / total)));
}

/** Memory for the pretraining stage's decoded pose maps (3·S² floats each: 3 MiB at the full size). */
const POSE_MAP_CACHE_BYTES = 1 << 30;

/** The pretraining stage's constant learning rate. */
export const PRETRAIN_LR = 5e-4;

export interface TrainOptions {
  config: TrainConfig;
  /** Continue from the latest checkpoint in net_ckpt_dir. */
  resume?: boolean;
  /** Start afresh even where net_ckpt_dir holds checkpoints (they are removed). */
  force?: boolean;
  /** Steps between log lines (default: about every 2 s of work, at least 1). */
  logEvery?: number;
  /** Progress and messages. */
  log?: (line: string) => void;
  /** Per-step report (progress bars): stage, iteration, total, last losses. */
  onStep?: (s: StepReport) => void;
  /** Stop (with a checkpoint) when this resolves or returns true: Ctrl-C. */
  shouldStop?: () => boolean;
  /** Run each step eagerly instead of replaying a captured one (tests: both must agree). */
  eager?: boolean;
  /** Stop after this many steps of this call, with a checkpoint (tests of resume). */
  maxSteps?: number;
  /** Decoding threads (default: the config's num_workers). */
  workers?: number;
}

export interface StepReport {
  stage: 'pretrain' | 'train';
  iteration: number;
  total: number;
  losses: Record<string, number> | null;
  lr: number;
}

export interface TrainResult {
  stage: 'pretrain' | 'train';
  iteration: number;
  /** Every step's loss components, in order, of this call. */
  history: Array<{ stage: string; iteration: number; losses: Record<string, number> }>;
  checkpoint: string | null;
  stopped: 'done' | 'interrupted' | 'max-steps';
  previews: string[];
}

/** A step seed for the view-direction noise: a hash of the run's seed, the stage and the iteration. */
function stepSeed(seed: number, stage: number, it: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stage + 1, 0xc2b2ae35) ^ Math.imul(it, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

export function checkpointSettings(cfg: TrainConfig, checked: CheckedCapture): CheckpointSettings {
  return {
    net: cfg.net,
    dataDir: cfg.train.data.dataDir,
    frames: checked.dataset.frames,
    cameras: checked.dataset.cameras.map((c) => c.name),
    seed: cfg.train.seed,
    gaussians: checked.maps.pixels.length,
  };
}

/** Run (or continue) a training run to its configured length, or until stopped. */
export async function trainAvatar(opts: TrainOptions): Promise<TrainResult> {
  const cfg = opts.config;
  const log = opts.log ?? console.log;
  const ckptDir = cfg.train.netCkptDir;
  for (const n of cfg.notes) log(n);
  // Everything that can be wrong with the inputs is found before any GPU work.
  const checked = checkCapture(cfg);
  const settings = checkpointSettings(cfg, checked);
  let resumeFrom = existsSync(ckptDir) ? findLatestCheckpoint(ckptDir) : null;
  if (resumeFrom && !opts.resume && !opts.force) {
    throw new Error(
      `${ckptDir} holds a checkpoint (${resumeFrom}): pass --resume to continue it or --force to start afresh`,
    );
  }
  if (opts.resume && !resumeFrom) log(`train: no checkpoint in ${ckptDir} to resume; starting afresh`);
  if (opts.force && resumeFrom && !opts.resume) {
    rmSync(join(ckptDir, 'latest.json'), { force: true });
    rmSync(join(ckptDir, 'train_log.jsonl'), { force: true });
    removeCheckpoints(ckptDir); // a resume looks for the newest complete folder: none of the discarded run's
    resumeFrom = null;
  }
  const ck = resumeFrom && opts.resume ? loadCheckpoint(resumeFrom) : null;
  if (ck) {
    const why = settingsMismatch(ck.state.settings, settings);
    if (why) throw new Error(`${resumeFrom}: made with other settings (${why}); use --force to start afresh`);
  }
  const model = loadSmplxModel(cfg.train.smplxModel);
  let lpips: Lpips | null = null;
  const lpipsPaths =
    cfg.train.lossWeight.lpips > 0
      ? resolveLpipsWeights({ ...(cfg.train.lpipsDir ? { dir: cfg.train.lpipsDir } : {}), warn: (m) => log(m) })
      : null;
  if (cfg.train.lossWeight.lpips > 0 && !lpipsPaths) log('train: without LPIPS weights the loss is L1 + 0.2·D-SSIM');

  await initEngine();
  const g = gpu();
  const maps = checked.maps;
  const canonical = canonicalGaussians(maps);
  const canon = canonicalTensors(maps, canonical);
  let net: AvatarNet;
  let stage: 'pretrain' | 'train' = 'pretrain';
  let iteration = 0;
  if (ck) {
    net = AvatarNet.fromStateDict(cfg.net, canonical, ck.weights);
    stage = ck.state.stage;
    iteration = ck.state.iteration;
    log(`train: resuming ${stage} at iteration ${iteration} from ${ck.dir}`);
  } else {
    const start = cfg.train.prevCkpt ?? cfg.train.pretrainedDir;
    net = start ? loadStart(start, cfg, canonical) : AvatarNet.init(cfg.net, canonical, { seed: cfg.train.seed });
    if (start) {
      stage = 'train';
      log(`train: starting from ${start} (no pretraining)`);
    }
  }
  if (stage === 'pretrain' && cfg.train.pretrainIterations === 0) {
    stage = 'train';
    iteration = 0;
  }
  if (lpipsPaths) lpips = loadLpips(lpipsPaths);
  const opt = new Adam(net.parameters(), { lr: stage === 'pretrain' ? PRETRAIN_LR : cfg.train.lrInit });
  if (ck) restoreAdam(net, opt, ck);

  const sampler = TrainSampler.fromConfig(cfg, checked, model, {
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
  });
  if (ck && ck.state.stage === 'train') sampler.setState(ck.state.sampler);
  // Pretraining draws only frames (pose maps), from its own seeded stream. Decoding a full-size posed map (a 24 MB
  // EXR) on this thread bounded pretraining at 5.3 steps/s on the H200: the network inputs are kept, up to 1 GiB.
  const poseMaps = new Map<number, Float32Array>();
  const pretrainPoseMap = (frame: number, S: number): Float32Array => {
    let m = poseMaps.get(frame);
    if (!m) {
      m = frontPoseMap(readPoseMap(checked.posMapDir, frame), S, `posed map of frame ${frame}`);
      if ((poseMaps.size + 1) * m.byteLength <= POSE_MAP_CACHE_BYTES) poseMaps.set(frame, m);
    }
    return m;
  };
  const pretrainRng = new SampleRng(cfg.train.seed + 0x5eed);
  if (ck && ck.state.stage === 'pretrain') pretrainRng.setState(ck.state.sampler.rng);

  mkdirSync(ckptDir, { recursive: true });
  const previewDir = join(ckptDir, 'previews');
  removeStaleTemps(previewDir); // a preview a killed run was writing (saveCheckpoint cleans ckptDir)
  const logFile = join(ckptDir, 'train_log.jsonl');
  const steps = new Map<string, TrainStep>();
  const lossOpts = {
    weights: { l1: cfg.train.lossWeight.l1, lpips: cfg.train.lossWeight.lpips, offset: cfg.train.lossWeight.offset },
    lpips,
    lpipsSize: cfg.train.lpipsSize,
  };
  const stepFor = (kind: 'pretrain' | 'train', w: number, h: number) => {
    const key = kind === 'pretrain' ? 'pretrain' : `${w}x${h}`;
    let s = steps.get(key);
    if (!s)
      steps.set(
        key,
        (s = new TrainStep(net, opt, canon, kind, kind === 'train' ? { width: w, height: h } : null, lossOpts)),
      );
    return s;
  };
  const heldOut = new HeldOutRenderer(
    net,
    canon,
    model,
    { layout: cfg.train.layout, dataDir: cfg.train.data.dataDir },
    checked.posMapDir,
  );
  const result: TrainResult = { stage, iteration, history: [], checkpoint: null, stopped: 'done', previews: [] };
  const state = (losses?: Record<string, number>): CheckpointState => ({
    format: 'animgs-avatar-checkpoint',
    version: 1,
    stage,
    iteration,
    sampler: stage === 'pretrain' ? { rng: pretrainRng.getState(), iteration } : sampler.getState(),
    adamSteps: {},
    settings,
    ...(losses ? { losses } : {}),
    savedAt: new Date().toISOString(),
  });

  // One step's losses are read while the next step runs; `pending` is the read of the last step run.
  let pending: {
    stage: 'pretrain' | 'train';
    iteration: number;
    names: readonly string[];
    read: Promise<Float32Array>;
  } | null = null;
  let lastLosses: Record<string, number> | undefined;
  const settle = async () => {
    if (!pending) return;
    const p = pending;
    pending = null;
    const v = await p.read;
    const losses = Object.fromEntries(p.names.map((n, i) => [n, v[i]!]));
    if (!Number.isFinite(v[0]!)) {
      throw new Error(
        `train: the loss became ${v[0]} at ${p.stage} step ${p.iteration} (${JSON.stringify(losses)}); ` +
          'no checkpoint was written after it, the last one on disk is the last good state: lower train.lr_init or check the capture',
      );
    }
    lastLosses = losses;
    result.history.push({ stage: p.stage, iteration: p.iteration, losses });
  };
  // The state on disk (stage, iteration): saving it again would replace the folder latest.json points at, and a
  // kill in between would leave no complete checkpoint.
  let saved = ck ? { key: `${ck.state.stage}:${ck.state.iteration}`, dir: ck.dir } : null;
  const checkpoint = async () => {
    await settle();
    if (saved?.key === `${stage}:${iteration}`) {
      result.checkpoint = saved.dir;
      return;
    }
    result.checkpoint = await saveCheckpoint(ckptDir, net, opt, state(lastLosses));
    saved = { key: `${stage}:${iteration}`, dir: result.checkpoint };
    log(`train: checkpoint ${result.checkpoint}`);
  };
  let lastPreview = -1;
  const preview = async () => {
    if (lastPreview === iteration) return;
    lastPreview = iteration;
    mkdirSync(previewDir, { recursive: true });
    const views: Array<[string, HeldOutView]> = [
      ['train_pose', { frame: cfg.train.evalTrainingIds[0], camId: cfg.train.evalTrainingIds[1] }],
      ['test_pose', { frame: cfg.train.evalTestingIds[0], camId: cfg.train.evalTestingIds[1] }],
    ];
    const line: Record<string, number> = {};
    for (const [which, v] of views) {
      try {
        const r = await heldOut.view(v);
        const file = previewPath(previewDir, iteration, which);
        await writeSideBySide(file, r);
        result.previews.push(file);
        line[`psnr_${which}`] = r.psnr;
        if (which === 'train_pose') Object.assign(line, { mean_opacity: r.meanOpacity, mean_scale: r.meanScale });
        // the baseline: the subject's silhouette painted with its mean colour (the photo's own, so a generous one)
        line[`psnr_${which}_meancolor`] = psnr(meanColorImage(r, meanSubjectColor(r)), r.photo);
      } catch (e) {
        log(`train: preview ${which} (frame ${v.frame}, camera ${v.camId}) skipped: ${(e as Error).message}`);
      }
    }
    // the eager renders' temporaries cannot reuse the captured step's reserved buffers: free them for the device
    gpu().pool.trim();
    if (Object.keys(line).length) {
      appendFileSync(logFile, JSON.stringify({ event: 'preview', stage, iteration, ...line }) + '\n');
      log(
        `train: previews at ${stage} step ${iteration}: ${Object.entries(line)
          .map(([k, v]) => (k.startsWith('psnr') ? `${k} ${v.toFixed(2)} dB` : `${k} ${v.toPrecision(3)}`))
          .join(', ')}`,
      );
    }
  };

  const startedAt = performance.now();
  let done = 0;
  let windowStart = performance.now();
  let windowSteps = 0;
  let logEvery = opts.logEvery ?? 0;
  try {
    for (;;) {
      const total = stage === 'pretrain' ? cfg.train.pretrainIterations : cfg.train.iterations;
      if (iteration >= total) {
        if (stage === 'pretrain') {
          await checkpoint();
          // the reference resets the optimiser after pretraining
          await settle();
          opt.reset();
          for (const s of steps.values()) s.invalidate();
          // the pretraining step's buffers (its own activations and gradients) are not the main step's: give them
          // back to the device rather than keep both sets (21.5 GiB held on the H200 at full size, against ~12)
          steps.get('pretrain')?.dispose();
          steps.delete('pretrain');
          gpu().pool.trim();
          stage = 'train';
          iteration = 0;
          opt.lr = cfg.train.lrInit;
          log(`train: pretraining done; main training for ${cfg.train.iterations} steps`);
          if (cfg.train.evalInterval > 0) await preview();
          continue;
        }
        break;
      }
      if (opts.shouldStop?.()) {
        result.stopped = 'interrupted';
        break;
      }
      if (opts.maxSteps !== undefined && done >= opts.maxSteps) {
        result.stopped = 'max-steps';
        break;
      }
      let step: TrainStep;
      let input: StepInput;
      if (stage === 'pretrain') {
        const frames = checked.dataset.frames;
        const frame = frames[pretrainRng.int(frames.length)]!;
        const S = cfg.net.poseMapSize;
        input = {
          poseMap: pretrainPoseMap(frame, S),
          jointMats: sampler.jointMats(frame),
          camera: checked.dataset.cameras[0]!,
          bg: [1, 1, 1],
          photo: new Uint8Array(0),
          classes: new Uint8Array(0),
          box: [0, 0, 0, 0],
          cropParams: new Float32Array(4),
          seed: stepSeed(cfg.train.seed, 0, iteration),
        };
        step = stepFor('pretrain', 0, 0);
        opt.lr = PRETRAIN_LR;
      } else {
        const s = await sampler.next();
        if (s.iteration !== iteration) throw new Error(`train: sample stream at ${s.iteration}, loop at ${iteration}`);
        input = { ...s, seed: stepSeed(cfg.train.seed, 1, iteration) };
        step = stepFor('train', s.width, s.height);
        opt.lr = cosineLr(cfg.train.lrInit, iteration, cfg.train.iterations);
      }
      step.run(input, opts.eager);
      const read = step.readLosses();
      await settle();
      pending = { stage, iteration, names: step.lossNames, read };
      iteration++;
      done++;
      windowSteps++;
      const now = performance.now();
      if (logEvery === 0 && now - startedAt > 2000) logEvery = Math.max(1, done);
      const logNow = (logEvery > 0 && iteration % logEvery === 0) || iteration === total;
      opts.onStep?.({ stage, iteration, total, losses: lastLosses ?? null, lr: opt.lr });
      if (logNow) {
        await settle();
        const rate = (windowSteps / (now - windowStart)) * 1000;
        windowStart = now;
        windowSteps = 0;
        appendFileSync(
          logFile,
          JSON.stringify({
            stage,
            iteration,
            lr: opt.lr,
            ...lastLosses,
            steps_per_s: rate,
            elapsed_s: (now - startedAt) / 1000,
          }) + '\n',
        );
        for (const s of steps.values()) {
          if (await s.checkOverflow())
            log(`train: the rasterizer's pair buffers grew at step ${iteration} (step re-captured)`);
        }
      }
      if (stage === 'train' && cfg.train.ckptInterval.batch > 0 && iteration % cfg.train.ckptInterval.batch === 0) {
        await checkpoint();
      }
      if (stage === 'train' && cfg.train.evalInterval > 0 && iteration % cfg.train.evalInterval === 0) await preview();
    }
    await checkpoint();
    if (stage === 'train') await preview();
  } catch (e) {
    throw explainOutOfMemory(e, cfg);
  } finally {
    await sampler.close();
    heldOut.dispose();
    for (const s of steps.values()) s.dispose();
    opt.dispose();
    lpips?.dispose();
    net.dispose();
    for (const t of Object.values(canon)) t.dispose();
    await g.sync();
  }
  result.stage = stage;
  result.iteration = iteration;
  return result;
}

/** Running out of GPU memory says what to lower (the error itself surfaces at the next read-back or sync). */
function explainOutOfMemory(e: unknown, cfg: TrainConfig): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/out ?of ?memory/i.test(msg)) return e;
  const lower =
    cfg.preset === 'full'
      ? '--preset small (quarter-resolution maps, fewer channels)'
      : 'smaller images (the capture at a lower resolution)';
  return new Error(`train: the GPU ran out of memory (${msg}); try ${lower}, or a GPU with more memory`);
}

/** A starting point: our checkpoint folder, or the reference's net.pt (a file, or a folder holding one). */
function loadStart(path: string, cfg: TrainConfig, canonical: CanonicalGaussians): AvatarNet {
  if (existsSync(join(path, 'state.json'))) {
    return AvatarNet.fromStateDict(cfg.net, canonical, loadCheckpoint(path).weights);
  }
  const pt = existsSync(join(path, 'net.pt')) ? join(path, 'net.pt') : path;
  if (!existsSync(pt)) throw new Error(`train.prev_ckpt: ${path} is neither our checkpoint folder nor a net.pt`);
  return AvatarNet.fromReferenceCheckpoint(readBytes(pt, 'checkpoint'), canonical, {
    config: cfg.net,
    seed: cfg.train.seed,
    source: pt,
  });
}
