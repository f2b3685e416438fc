/**
 * A/B of the DualStyleUNet's fused conv tails (conv2dFused: conv + noise + bias + leaky ReLU·√2 in the GEMM
 * epilogue, layers.ts setConvTailFusion) and of the inference weight cache (freezeForInference): forward (no grad)
 * unfused / fused / fused + frozen, forward + backward unfused / fused, each with its dispatch count; with tensor
 * cores also the frozen forward and the training step with the opt-in sub-pixel transposed convs.
 * On a CPU adapter the default conv path is 'direct', which has no epilogue (fused = unfused there);
 * `UNET_CONV_PATH=tc2` (or tc, tiled, …) runs every convolution on that path, as the unet bench.
 * Register in bench/run.ts as ['unet-fusion', './unet-fusion.js', 'benchUnetFusion'].
 */
import type { Gpu } from '../src/gpu/index.js';
import { setConvTailFusion } from '../src/nn/styleunet/layers.js';
import { clearTape } from '../src/tensor/index.js';
import { tensorCoresAvailable } from '../src/tensor/conv/conv2d-raw.js';
import { setDefaultConvKernel } from '../src/tensor/conv/ops.js';
import type { BenchRow } from './table.js';
import { timeWall } from './timeit.js';
import { unetFixture, withEnvConvPath } from './unet.js';

async function timed(gpu: Gpu, fn: () => void, reps: number): Promise<{ ms: number; dispatches: number }> {
  const ms = await timeWall(gpu, fn, reps);
  const d0 = gpu.dispatchCount;
  fn();
  const dispatches = gpu.dispatchCount - d0;
  await gpu.sync();
  return { ms, dispatches };
}

export async function benchUnetFusion(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  return withEnvConvPath((path) => fusionRows(gpu, !!opts.tiny, path));
}

async function fusionRows(gpu: Gpu, tiny: boolean, path: string): Promise<BenchRow[]> {
  const reps = tiny ? 2 : 7;
  const { net, forward, train, dispose } = await unetFixture(gpu, tiny);
  const size = `${tiny ? 'tiny' : 'full'}, convs ${path},`;
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
    if (tensorCoresAvailable(gpu)) {
      // A/B of the sub-pixel transposed convs (tc2-subpixel.ts, the default): the four phase GEMMs instead.
      const before = setDefaultConvKernel(null);
      setDefaultConvKernel({ ...(before ?? { path: 'fast' }), subpixelTranspose: false });
      try {
        net.freezeForInference();
        row(
          'forward (no grad), fused tails + frozen weights, four-phase transposed convs',
          await timed(gpu, forward, reps),
        );
        net.unfreeze();
        row('forward + backward, fused tails, four-phase transposed convs', await timed(gpu, train, reps));
      } finally {
        setDefaultConvKernel(before);
      }
    }
  } finally {
    setConvTailFusion(prev);
    net.unfreeze();
    clearTape();
    dispose();
  }
  return rows;
}
