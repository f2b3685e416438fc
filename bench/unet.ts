/**
 * One full-size DualStyleUNet (512² pose map → 2 × 3 × 1024², 74.5M parameters): forward (animation, no grad) and
 * forward + backward (training) time, and peak GPU memory from the buffer pool. `tiny` runs a small configuration
 * so the bench itself can be smoke-tested on the CPU adapter.
 */
import type { Gpu } from '../src/gpu/index.js';
import { DualStyleUNet } from '../src/nn/styleunet/network.js';
import { Adam } from '../src/nn/optim.js';
import { avatarUnetConfig, type StyleUnetConfig } from '../src/nn/styleunet/spec.js';
import {
  backward,
  beginScope,
  clearTape,
  initEngine,
  mul,
  noGrad,
  sum,
  Tensor,
  zeroGrad,
} from '../src/tensor/index.js';
import type { BenchRow } from './table.js';
import { seededRandom } from '../src/tensor/reference/conv-check.js';
import { throughputDetail, timeWall } from './timeit.js';
import { setDefaultConvKernel } from '../src/tensor/conv/ops.js';
import type { ConvKernelOptions } from '../src/tensor/conv/conv2d-raw.js';
import { checkConvOptions } from './conv-paths.js';

const TINY: StyleUnetConfig = {
  inpSize: 64,
  inpCh: 3,
  outSize: 128,
  outCh: 3,
  styleDim: 16,
  nMlp: 2,
  channels: { 1: 8, 2: 8, 4: 8, 8: 8, 16: 8, 32: 8, 64: 4, 128: 4 },
};

/** The full-size (or tiny) network with random inputs, and the two workloads the benches time or profile. */
export async function unetFixture(gpu: Gpu, tiny: boolean) {
  await initEngine(gpu);
  const config = tiny ? TINY : avatarUnetConfig(3);
  const net = DualStyleUNet.init(config, 1);
  const S = config.inpSize;
  const rand = seededRandom(7); // the same inputs every call, so unet-check's per-tensor figures compare across calls
  const x = Tensor.randn([1, 3, S, S], rand, { persistent: true });
  const viewCh = net.spec.viewCh;
  const views = [0, 1].map(() => Tensor.randn([1, viewCh, S / 2, S / 2], rand, { persistent: true })) as [
    Tensor,
    Tensor,
  ];
  const r = Tensor.randn([1, 6, 2 * S, 2 * S], rand, { persistent: true });
  const params = net.parameters();
  const forward = () =>
    noGrad(() => {
      const s = beginScope();
      net.forward(x, views);
      s.end();
    });
  /** Forward, backward (and an optimizer's step, where given), gradients released. */
  const train = (opt?: Adam) => {
    const s = beginScope();
    const y = net.forward(x, views);
    backward(sum(mul(y, r)));
    s.end();
    opt?.step();
    zeroGrad(params);
  };
  const dispose = () => {
    clearTape();
    net.dispose();
    for (const t of [x, r, ...views]) t.dispose();
    gpu.pool.trim();
  };
  return { net, forward, train, dispose, inputs: { x, views, r } };
}

/**
 * `UNET_CONV_PATH=tc2` (or tc, tiled, …) runs every convolution of the network on that path while `run` runs;
 * `UNET_CONV_OPTS` adds kernel options as JSON (e.g. '{"splits":2}' or a tc2Tile) for tuning runs.
 */
export async function withEnvConvPath<T>(run: (path: string) => Promise<T>): Promise<T> {
  const path = process.env.UNET_CONV_PATH as ConvKernelOptions['path'] | undefined;
  const more = process.env.UNET_CONV_OPTS ? (JSON.parse(process.env.UNET_CONV_OPTS) as ConvKernelOptions) : null;
  if (more) checkConvOptions(more, 'UNET_CONV_OPTS');
  const set = path !== undefined || more !== null;
  const prev = set ? setDefaultConvKernel({ ...more, path: path ?? 'fast' }) : null;
  try {
    return await run(`${path ?? 'default'}${more ? ` ${JSON.stringify(more)}` : ''}`);
  } finally {
    if (set) setDefaultConvKernel(prev);
  }
}

/**
 * A whole training step — forward, backward and Adam — recorded each time, and captured once and replayed (Adam's
 * per-step scalars reach the replay through Gpu.perRun): one step to completion, and 10 back to back.
 */
async function adamSteps(
  gpu: Gpu,
  params: Tensor[],
  train: (opt?: Adam) => void,
  reps: number,
  name: string,
): Promise<BenchRow[]> {
  const opt = new Adam(params, { lr: 1e-7 }); // tiny steps: the weights stay where the other rows measured them
  const step = () => train(opt);
  const recorded = await timeWall(gpu, step, reps);
  const recordedBatch = await throughputDetail(gpu, step, THROUGHPUT_RUNS);
  const replay = gpu.capture(step);
  const r0 = performance.now();
  replay.run();
  const replayCpu = performance.now() - r0;
  await gpu.sync();
  const replayed = await timeWall(gpu, () => replay.run(), reps);
  const replayedBatch = await throughputDetail(gpu, () => replay.run(), THROUGHPUT_RUNS);
  replay.dispose();
  opt.dispose();
  const what = `${name} training step (forward + backward + Adam)`;
  return [
    { bench: 'unet', case: `${what}, recorded`, ms: recorded, note: 'one step, to completion' },
    {
      bench: 'unet',
      case: `${what}, recorded, ${THROUGHPUT_RUNS} back to back (per step)`,
      ms: recordedBatch.ms,
      note: `CPU ${recordedBatch.cpuMs.toFixed(2)} ms per step before the wait`,
    },
    {
      bench: 'unet',
      case: `${what}, replayed`,
      ms: replayed,
      note: `Gpu.capture: one step, to completion; CPU ${replayCpu.toFixed(2)} ms per replay (${replay.dispatches} dispatches)`,
    },
    {
      bench: 'unet',
      case: `${what}, replayed, ${THROUGHPUT_RUNS} back to back (per step)`,
      ms: replayedBatch.ms,
      note: `CPU ${replayedBatch.cpuMs.toFixed(2)} ms per step before the wait`,
    },
  ];
}

export async function benchUnet(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  return withEnvConvPath((path) => benchUnetRows(gpu, opts, path));
}

async function benchUnetRows(gpu: Gpu, opts: { tiny?: boolean }, path: string): Promise<BenchRow[]> {
  const reps = opts.tiny ? 2 : 5;
  const { net, forward, train, dispose } = await unetFixture(gpu, !!opts.tiny);
  const base = gpu.pool.stats.bytesInUse;
  gpu.pool.resetPeak();

  const fwdMs = await timeWall(gpu, forward, reps);
  const fwdPeak = gpu.pool.stats.peakBytesInUse - base;

  gpu.pool.resetPeak();
  const trainMs = await timeWall(gpu, train, reps);
  const trainPeak = gpu.pool.stats.peakBytesInUse - base;
  clearTape();
  const created = gpu.pool.stats.created;
  const d0 = gpu.dispatchCount;
  const bg0 = gpu.bindGroupsCreated;
  const r0 = performance.now();
  train();
  const trainRecord = performance.now() - r0;
  const dispatches = gpu.dispatchCount - d0;
  const bindGroups = gpu.bindGroupsCreated - bg0;
  await gpu.sync();
  const newBuffers = gpu.pool.stats.created - created;
  const f0 = performance.now();
  forward();
  const fwdRecord = performance.now() - f0;
  await gpu.sync();

  const name = `${opts.tiny ? 'tiny' : 'full (512²→2×3×1024², 74.5M params)'}, convs ${path}`;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const rows: BenchRow[] = [
    {
      bench: 'unet',
      case: `${name} forward (no grad)`,
      ms: fwdMs,
      note: `peak ${mib(fwdPeak)} beyond weights; CPU recording ${fwdRecord.toFixed(1)} ms`,
    },
    {
      bench: 'unet',
      case: `${name} forward + backward`,
      ms: trainMs,
      note: `peak ${mib(trainPeak)} beyond weights; weights ${mib(base)}; new buffers in a warm step: ${newBuffers}; ${dispatches} dispatches and ${bindGroups} new bind groups per step; CPU recording ${trainRecord.toFixed(1)} ms`,
    },
  ];
  const fwdBatch = await throughputDetail(gpu, forward, THROUGHPUT_RUNS);
  const trainBatch = await throughputDetail(gpu, train, THROUGHPUT_RUNS);
  rows.push(
    {
      bench: 'unet',
      case: `${name} forward, ${THROUGHPUT_RUNS} back to back (per run)`,
      ms: fwdBatch.ms,
      note: `one wait at the end: animation throughput; CPU ${fwdBatch.cpuMs.toFixed(2)} ms per run before the wait`,
    },
    {
      bench: 'unet',
      case: `${name} forward + backward, ${THROUGHPUT_RUNS} back to back (per step)`,
      ms: trainBatch.ms,
      note: `one wait at the end: training throughput; CPU ${trainBatch.cpuMs.toFixed(2)} ms per step before the wait`,
    },
  );
  rows.push(...(await adamSteps(gpu, net.parameters(), train, reps, name)));
  // animation: weights frozen (modulated, transposed and converted once), as the avatar runtime runs them
  net.freezeForInference();
  try {
    const frozenWall = await timeWall(gpu, forward, reps);
    const frozenBatch = await throughputDetail(gpu, forward, THROUGHPUT_RUNS);
    rows.push(
      {
        bench: 'unet',
        case: `${name} forward, frozen weights`,
        ms: frozenWall,
        note: 'freezeForInference: one run, to completion',
      },
      {
        bench: 'unet',
        case: `${name} forward, frozen weights, ${THROUGHPUT_RUNS} back to back (per run)`,
        ms: frozenBatch.ms,
        note: `one wait at the end: animation throughput; CPU ${frozenBatch.cpuMs.toFixed(2)} ms per run before the wait`,
      },
    );
    // the same forward captured once and replayed (Gpu.capture): the CPU re-encodes recorded dispatches only
    const f0 = performance.now();
    forward();
    const frozenRecord = performance.now() - f0;
    await gpu.sync();
    const replay = gpu.capture(forward);
    await gpu.sync();
    const r0 = performance.now();
    replay.run();
    const replayRecord = performance.now() - r0;
    await gpu.sync();
    rows.push({
      bench: 'unet',
      case: `${name} forward, frozen weights, replayed`,
      ms: await timeWall(gpu, () => replay.run(), reps),
      note: `Gpu.capture: one run, to completion; CPU ${replayRecord.toFixed(2)} ms per replay against ${frozenRecord.toFixed(1)} ms recording the frozen forward (${replay.dispatches} dispatches)`,
    });
    const replayBatch = await throughputDetail(gpu, () => replay.run(), THROUGHPUT_RUNS);
    rows.push({
      bench: 'unet',
      case: `${name} forward, frozen weights, replayed, ${THROUGHPUT_RUNS} back to back (per run)`,
      ms: replayBatch.ms,
      note: `one wait at the end; CPU ${replayBatch.cpuMs.toFixed(2)} ms per run before the wait`,
    });
    replay.dispose();
  } finally {
    net.unfreeze();
  }
  dispose();
  // what "one run, to completion" pays beyond the GPU work: submit + wait for a 4-byte copy
  const a = gpu.pool.acquire(16);
  const b = gpu.pool.acquire(16);
  rows.push({
    bench: 'unet',
    case: 'sync round trip (one 4-byte copy, submitted and waited for)',
    ms: await timeWall(gpu, () => gpu.copy(a, 0, b, 0, 4), 20),
    note: 'the floor under every one-run figure above',
  });
  gpu.pool.release(a);
  gpu.pool.release(b);
  return rows;
}

/** Runs per back-to-back measurement. */
const THROUGHPUT_RUNS = 10;
