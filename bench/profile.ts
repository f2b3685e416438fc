/**
 * Where the GPU time goes: per-kernel GPU time (KernelProfiler: one timed pass per dispatch) of one DualStyleUNet
 * forward, one forward + backward, one frozen forward (freezeForInference), and one rasterizer forward and forward + backward of the 618k-Gaussian scene.
 * Rows are kernel families, slowest first; the sum of a workload is an upper bound of its batched time (a pass per
 * dispatch forbids overlap). `UNET_CONV_PATH` picks the network's conv path as in the unet bench; `PROFILE_ONLY=unet|splat` runs one
 * workload; `PROFILE_TOP` sets the rows per workload. `tiny` shrinks everything for a lavapipe smoke run.
 */
import { KernelProfiler, type Gpu } from '../src/gpu/index.js';
import { GaussianRasterizer, uploadScene } from '../src/splat/rasterizer.js';
import { avatarScene, benchCamera, imageGradient } from './splat.js';
import type { BenchRow } from './table.js';
import { warmUp } from './timeit.js';
import { unetFixture, withEnvConvPath } from './unet.js';

const TOP = Number(process.env.PROFILE_TOP ?? 20); // kernels listed per workload
const ONLY = process.env.PROFILE_ONLY; // 'unet' or 'splat': profile one workload only

/** Rows of one workload's per-kernel GPU times (warmed up first), the costliest PROFILE_TOP kernel families and the total. */
export async function profiled(gpu: Gpu, what: string, run: () => Promise<void> | void): Promise<BenchRow[]> {
  await warmUp(gpu, run); // compile, fill the pool and raise the clocks outside the profile
  const p = new KernelProfiler(gpu);
  gpu.profile(p);
  try {
    await run();
    await p.collect();
  } finally {
    gpu.profile(null);
  }
  const all = p.report();
  const rows: BenchRow[] = all.slice(0, TOP).map((t) => ({
    bench: `profile ${what}`,
    case: t.name,
    ms: t.ms,
    note: `${t.count} dispatches, ${((100 * t.ms) / p.totalMs).toFixed(1)}%`,
  }));
  const dispatches = all.reduce((s, t) => s + t.count, 0);
  rows.push({
    bench: `profile ${what}`,
    case: 'TOTAL (sum of kernel GPU times)',
    ms: p.totalMs,
    note: `${dispatches} dispatches`,
  });
  return rows;
}

export async function benchProfile(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const tiny = !!opts.tiny;
  const rows: BenchRow[] = [];
  if (ONLY !== 'splat')
    await withEnvConvPath(async (path) => {
      const unet = await unetFixture(gpu, tiny);
      rows.push(...(await profiled(gpu, `unet forward (convs ${path})`, unet.forward)));
      rows.push(...(await profiled(gpu, `unet forward+backward (convs ${path})`, unet.train)));
      unet.net.freezeForInference(); // animation: parameter-only tensors kept
      rows.push(...(await profiled(gpu, `unet frozen forward (convs ${path})`, unet.forward)));
      unet.net.unfreeze();
      unet.dispose();
    });

  if (ONLY === 'unet') return rows;
  const [W, H] = tiny ? [64, 48] : [1500, 2048];
  const scene = uploadScene(gpu, tiny ? avatarScene(2000, 0.01) : avatarScene(618_000, 0.0025));
  const r = new GaussianRasterizer(gpu);
  const cam = benchCamera(W, H);
  const dImage = gpu.pool.acquire(20 * W * H);
  gpu.upload(dImage, imageGradient(5 * W * H)); // not zeros: a zero gradient would let the backward skip work
  rows.push(
    ...(await profiled(gpu, 'splat 618k forward', async () => {
      await r.forward(scene, cam, { background: [1, 1, 1] });
    })),
  );
  rows.push(
    ...(await profiled(gpu, 'splat 618k forward+backward', async () => {
      await r.forward(scene, cam, { background: [1, 1, 1] });
      r.backward(dImage);
    })),
  );
  gpu.pool.release(dImage);
  r.release();
  scene.free();
  gpu.pool.trim();
  return rows;
}
