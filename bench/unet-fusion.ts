/**
 * A/B of the DualStyleUNet's fused conv tails (conv2dFused: conv + noise + bias + leaky ReLU·√2 in the GEMM
 * epilogue, layers.ts setConvTailFusion) and of the inference weight cache (freezeForInference): forward (no grad)
 * unfused / fused / fused + frozen, forward + backward unfused / fused, each with its dispatch count.
 * On a CPU adapter the default conv path is 'direct', which has no epilogue (fused = unfused there);
 * `UNET_CONV_PATH=tc2` (or tc, tiled, …) runs every convolution on that path, as the unet bench.
 * Register in bench/run.ts as ['unet-fusion', './unet-fusion.js', 'benchUnetFusion'].
 */
import type { Gpu } from '../src/gpu/index.js';
import { setConvTailFusion } from '../src/nn/styleunet/layers.js';
import { clearTape } from '../src/tensor/index.js';
import { setDefaultConvKernel } from '../src/tensor/conv/ops.js';
import type { ConvKernelOptions } from '../src/tensor/conv/conv2d-raw.js';
import { median, type BenchRow } from './table.js';
import { unetFixture, warmUp } from './unet.js';

async function timed(gpu: Gpu, fn: () => void, reps: number): Promise<{ ms: number; dispatches: number }> {
  await warmUp(gpu, fn);
  const d0 = gpu.dispatchCount;
  fn();
  const dispatches = gpu.dispatchCount - d0;
  await gpu.sync();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    await gpu.sync();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), dispatches };
}

export async function benchUnetFusion(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const path = process.env.UNET_CONV_PATH as ConvKernelOptions['path'] | undefined;
  const prevKernel = path ? setDefaultConvKernel({ path }) : null;
  const reps = opts.tiny ? 2 : 7;
  const { net, forward, train, dispose } = await unetFixture(gpu, !!opts.tiny);
  const size = `${opts.tiny ? 'tiny' : 'full'}, convs ${path ?? 'default'},`;
  const rows: BenchRow[] = [];
  const row = (c: string, r: { ms: number; dispatches: number }) =>
    rows.push({ bench: 'unet-fusion', case: `${size} ${c}`, ms: r.ms, note: `${r.dispatches} dispatches` });
  const prev = setConvTailFusion(false);
  try {
    row('forward (no grad), unfused tails', await timed(gpu, forward, reps));
    setConvTailFusion(true);
    row('forward (no grad), fused tails', await timed(gpu, forward, reps));
    net.freezeForInference();
    row('forward (no grad), fused tails + frozen weights', await timed(gpu, forward, reps));
    net.unfreeze();
    setConvTailFusion(false);
    row('forward + backward, unfused tails', await timed(gpu, train, reps));
    setConvTailFusion(true);
    row('forward + backward, fused tails', await timed(gpu, train, reps));
  } finally {
    setConvTailFusion(prev);
    net.unfreeze();
    clearTape();
    dispose();
    if (path) setDefaultConvKernel(prevKernel);
  }
  return rows;
}
