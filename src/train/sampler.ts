/**
 * The training sample stream. Each step draws, by a seeded RNG on the main thread, one (frame, camera) pair
 * uniformly from all pairs of the configured frames × cameras minus the missing images, a background colour
 * (uniform RGB when `random_bg_color`, else white: the original's test-time background) and two uniforms for the
 * LPIPS patch. Worker threads decode the steps ahead (a bounded queue), so the GPU never waits on JPEGs.
 *
 * The state saved in a checkpoint is the RNG state and iteration of the next step not yet handed out (not of the
 * steps already queued ahead), so a resumed run draws exactly the steps the uninterrupted run would have.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { canoToLive } from '../body/canonical.js';
import type { SmplxModel } from '../body/model.js';
import { Prefetcher } from '../data/prefetch.js';
import type { CheckedCapture } from './capture-check.js';
import type { TrainConfig } from '../avatar/config-file.js';
import { SampleRng, type RngState } from '../tensor/rng.js';
import {
  SampleContext,
  type DecodedSample,
  type SampleContextSpec,
  type SampleJob,
  type TrainSample,
} from './sample.js';
import { WorkerPool } from '../io/node/worker-pool.js';

export interface SamplerState {
  rng: RngState;
  /** The iteration of the next sample `next()` returns. */
  iteration: number;
}

export interface SamplerOptions {
  seed?: number;
  /** Iteration of the first sample (default 0). */
  iteration?: number;
  randomBg: boolean;
  /** Decoding threads; 0 decodes on the main thread (sharp still decodes JPEGs on libuv's threads). Default 4. */
  workers?: number;
  /** Steps decoded ahead (default 2 per worker, at least 2). */
  depth?: number;
  /** The worker entry (default sample-worker.js beside this module; absent when running from sources → main thread). */
  workerUrl?: URL;
  execArgv?: string[];
}

interface Draw {
  job: SampleJob;
  /** The sampler state after this step's draws (what a checkpoint taken after this step stores). */
  after: SamplerState;
}

const WHITE: [number, number, number] = [1, 1, 1];

export class TrainSampler {
  private readonly rng: SampleRng;
  private iteration: number;
  private handedOut: SamplerState;
  private queue: Prefetcher<Draw, DecodedSample> | undefined;
  private readonly pool: WorkerPool<SampleJob, DecodedSample> | undefined;
  /** The main thread's view of the capture: the item list (each worker builds the same from the same spec), the
   * SMPL-X fits, and the decoder when there are no worker threads. */
  private readonly ctx: SampleContext;
  private readonly jointCache = new Map<number, Float32Array>();
  readonly depth: number;
  /** The number of (frame, camera) pairs drawn from. */
  readonly items: number;

  constructor(
    readonly spec: SampleContextSpec,
    private readonly model: SmplxModel,
    private readonly opts: SamplerOptions,
  ) {
    this.rng = new SampleRng(opts.seed ?? 1);
    this.iteration = opts.iteration ?? 0;
    this.handedOut = this.getLiveState();
    this.ctx = new SampleContext(spec);
    this.items = this.ctx.dataset.items.length;
    if (this.items === 0) throw new Error(`no (frame, camera) pairs to train on in ${spec.capture.dataDir}`);
    const workers = opts.workers ?? 4;
    const url = opts.workerUrl ?? new URL('./sample-worker.js', import.meta.url);
    if (workers > 0 && existsSync(fileURLToPath(url))) {
      this.pool = new WorkerPool(url, workers, spec, opts.execArgv ? { execArgv: opts.execArgv } : {});
    }
    this.depth = opts.depth ?? Math.max(2, 2 * (this.pool?.size ?? 1));
  }

  /** A sampler for a checked config (see checkCapture). */
  static fromConfig(
    cfg: TrainConfig,
    checked: CheckedCapture,
    model: SmplxModel,
    options: Partial<SamplerOptions> = {},
  ): TrainSampler {
    const d = cfg.train.data;
    const spec: SampleContextSpec = {
      capture: {
        layout: cfg.train.layout,
        dataDir: d.dataDir,
        frameRange: d.frameRange,
        ...(d.usedCamIds ? { usedCamIds: d.usedCamIds } : {}),
      },
      posMapDir: checked.posMapDir,
      poseMapSize: cfg.net.poseMapSize,
      lpipsSize: cfg.train.lpipsSize,
    };
    return new TrainSampler(spec, model, {
      seed: cfg.train.seed,
      randomBg: cfg.train.randomBgColor,
      workers: cfg.train.numWorkers,
      ...options,
    });
  }

  /** Whether decoding runs on worker threads. */
  get threaded(): boolean {
    return this.pool !== undefined;
  }

  private getLiveState(): SamplerState {
    return { rng: this.rng.getState(), iteration: this.iteration };
  }

  /** One step's draws, always in the same order and number: item, background (3), patch (2). */
  private draw(): Draw {
    const item = this.rng.int(this.items);
    const rgb: [number, number, number] = [this.rng.next(), this.rng.next(), this.rng.next()];
    const patch: [number, number] = [this.rng.next(), this.rng.next()];
    const job: SampleJob = { iteration: this.iteration, item, bg: this.opts.randomBg ? rgb : WHITE, patch };
    this.iteration++;
    return { job, after: this.getLiveState() };
  }

  private open(): Prefetcher<Draw, DecodedSample> {
    const self = this;
    const keys = (function* () {
      for (;;) yield self.draw();
    })();
    const decode = (d: Draw) => (this.pool ? this.pool.run(d.job) : this.ctx.decode(d.job));
    return new Prefetcher<Draw, DecodedSample>(keys, decode, this.depth);
  }

  /** The next step's sample (waits only when decoding has fallen behind). */
  async next(): Promise<TrainSample> {
    this.queue ??= this.open();
    const n = await this.queue.next();
    if (!n) throw new Error('TrainSampler: the sample stream ended');
    this.handedOut = n.key.after;
    return { ...n.value, jointMats: this.jointMats(n.value.frame) };
  }

  /** Canonical → live joint transforms (with the root) of a frame, as float32; computed once per frame. */
  jointMats(frame: number): Float32Array {
    let m = this.jointCache.get(frame);
    if (!m) {
      m = Float32Array.from(canoToLive(this.model, this.ctx.dataset.smpl.frame(frame)).jointMats);
      this.jointCache.set(frame, m);
    }
    return m;
  }

  /** The state to store in a checkpoint: resuming from it yields the sample after the last one handed out. */
  getState(): SamplerState {
    return { rng: [...this.handedOut.rng] as RngState, iteration: this.handedOut.iteration };
  }

  /** Continue from a checkpoint's state; samples already decoded ahead are dropped. */
  setState(state: SamplerState): void {
    if (!Number.isInteger(state.iteration) || state.iteration < 0) {
      throw new Error(`TrainSampler.setState: bad iteration ${state.iteration}`);
    }
    this.rng.setState(state.rng);
    this.iteration = state.iteration;
    this.handedOut = this.getLiveState();
    this.queue = undefined; // in-flight decodes finish and are discarded
  }

  async close(): Promise<void> {
    this.queue = undefined;
    await this.pool?.close();
  }
}
