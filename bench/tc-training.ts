/**
 * Is training on the tensor cores numerically sound? The same DualStyleUNet (same initial weights, same inputs,
 * same target) is trained with Adam on an L1 loss twice: every convolution in fp32 ('tuned') and every
 * convolution on the tensor cores ('tc2', the default on such GPUs: f16 operands, f32 accumulation, f32 master
 * weights and Adam state). The
 * rows are the two loss curves and their relative gap; a sound mixed-precision path tracks the fp32 curve to within
 * the noise of training (a few %), and never diverges. On a CPU adapter ('tiny') the tensor-core twin 'tc2-sw' runs.
 * (Only the GEMM operands are rounded to f16; gradients are rounded as gy·s with a per-tensor power of two s that
 * keeps them in f16's range whatever the loss's scale: f16-range.ts.)
 */
import type { Gpu } from '../src/gpu/index.js';
import { DualStyleUNet } from '../src/nn/styleunet/network.js';
import { Adam } from '../src/nn/optim.js';
import { l1Loss } from '../src/nn/losses.js';
import type { StyleUnetConfig } from '../src/nn/styleunet/spec.js';
import { setDefaultConvKernel } from '../src/tensor/conv/ops.js';
import { tensorCoresAvailable } from '../src/tensor/conv/conv2d-raw.js';
import { backward, beginScope, clearTape, initEngine, Tensor, zeroGrad } from '../src/tensor/index.js';
import type { BenchRow } from './table.js';

/** 128² pose map → 2 × 3 × 256², full-width channels down to 32² (the layers that dominate the real network). */
const MEDIUM: StyleUnetConfig = {
  inpSize: 128,
  inpCh: 3,
  outSize: 256,
  outCh: 3,
  styleDim: 512,
  nMlp: 2,
  channels: { 1: 512, 2: 512, 4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64 },
};

const TINY: StyleUnetConfig = {
  inpSize: 64,
  inpCh: 3,
  outSize: 128,
  outCh: 3,
  styleDim: 8,
  nMlp: 1,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4, 128: 4 },
};

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A smooth target: sums of a few sinusoids per channel, values in about [−1, 1]. */
function smoothTarget(shape: [number, number, number, number]): Float32Array {
  const [, C, H, W] = shape;
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        out[(c * H + y) * W + x] =
          0.5 * Math.sin((2 * Math.PI * (c + 1) * x) / W) * Math.cos((2 * Math.PI * (c + 2) * y) / H) +
          0.3 * Math.sin((2 * Math.PI * (x + y)) / (W + H));
      }
    }
  }
  return out;
}

async function trainCurve(
  config: StyleUnetConfig,
  path: 'tuned' | 'tc2' | 'tc2-sw' | 'direct',
  steps: number,
  every: number,
) {
  // lavapipe's 32 KiB of workgroup storage only fits a smaller tensor-core tile.
  const prev = setDefaultConvKernel(
    path === 'tc2-sw' ? { path, tc2Tile: { bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 2 } } : { path },
  );
  try {
    const net = DualStyleUNet.init(config, 7);
    const S = config.inpSize;
    const x = Tensor.randn([1, config.inpCh, S, S], seeded(1), { persistent: true });
    const yShape: [number, number, number, number] = [1, 2 * config.outCh, config.outSize, config.outSize];
    const target = Tensor.from(smoothTarget(yShape), yShape, { persistent: true });
    const params = net.parameters();
    const opt = new Adam(params, { lr: 2e-3 });
    const losses: number[] = [];
    for (let step = 1; step <= steps; step++) {
      const s = beginScope();
      const loss = l1Loss(net.forward(x), target);
      backward(loss);
      opt.step();
      if (step === 1 || step % every === 0) losses.push((await loss.toArray())[0]!);
      s.end();
      zeroGrad(params);
    }
    clearTape();
    net.dispose();
    x.dispose();
    target.dispose();
    return losses;
  } finally {
    setDefaultConvKernel(prev);
  }
}

export async function benchTcTraining(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  await initEngine(gpu);
  const tiny = !!opts.tiny;
  const config = tiny ? TINY : MEDIUM;
  const steps = tiny ? 6 : 300;
  const every = tiny ? 2 : 25;
  const tcPath = tensorCoresAvailable(gpu) ? 'tc2' : 'tc2-sw'; // tc2: the default path on tensor-core GPUs
  const t0 = performance.now();
  const fp32 = await trainCurve(config, tiny ? 'direct' : 'tuned', steps, every);
  const t1 = performance.now();
  const tc = await trainCurve(config, tcPath, steps, every);
  const t2 = performance.now();
  const rows: BenchRow[] = fp32.map((l, i) => {
    const step = i === 0 ? 1 : i * every;
    const gap = (tc[i]! - l) / l;
    return {
      bench: 'tc training',
      case: `step ${step}`,
      ms: NaN,
      note: `L1 fp32 ${l.toFixed(5)} | ${tcPath} ${tc[i]!.toFixed(5)} | gap ${(100 * gap).toFixed(2)}%`,
    };
  });
  rows.push({
    bench: 'tc training',
    case: `${tiny ? 'tiny' : 'medium (128²→2×3×256², 512 ch)'}: ${steps} Adam steps each`,
    ms: (t1 - t0) / steps,
    note: `ms per step fp32; ${tcPath} ${((t2 - t1) / steps).toFixed(2)} ms per step; final loss drop fp32 ${(fp32[0]! / fp32.at(-1)!).toFixed(2)}x, ${tcPath} ${(tc[0]! / tc.at(-1)!).toFixed(2)}x`,
  });
  gpu.pool.trim();
  return rows;
}
