/**
 * The template fit's GPU work per step at the reference's sizes: the positional encoding, the SDF MLP over the
 * ray samples and eikonal points (1024 × 64 + 4 × 4096 = 81,920 points), the colour MLP over the ray samples, and
 * their backward pass from given output gradients (what the fit's volume rendering seeds);
 * Adam is not included. Counted work: ~0.98 MFLOP a point through the SDF MLP and ~0.39 through the colour MLP
 * forward, twice that backward: ~315 GFLOP a step.
 * With timestamps, the per-kernel GPU time of one step follows (PROFILE_TOP rows, as the profile bench).
 *   node dist-bench/bench/run.js --only template-mlp
 */
import type { Gpu } from '../src/gpu/index.js';
import { encodePoints, REFERENCE_TEMPLATE_NET, TemplateNet } from '../src/prep/template/sdf-net.js';
import { add, backward, beginScope, initEngine, mul, slice, sum, Tensor } from '../src/tensor/index.js';
import { seededRandom } from '../src/tensor/rng.js';
import { profiled } from './profile.js';
import type { BenchRow } from './table.js';
import { timeGpu } from './timeit.js';

/** Multiply-adds per point of a config's SDF and colour MLPs (forward). */
function macs(cfg: typeof REFERENCE_TEMPLATE_NET): { sdf: number; color: number } {
  const enc = 3 + 6 * cfg.multires;
  let sdf = 0;
  let w = enc;
  const widths = [...cfg.sdfHidden, 1 + cfg.features];
  widths.forEach((out, l) => {
    const inp = l === cfg.skipAt ? w + enc : w;
    sdf += inp * out;
    w = out;
  });
  let color = 0;
  w = cfg.features;
  for (const out of [...cfg.colorHidden, 3]) {
    color += w * out;
    w = out;
  }
  return { sdf, color };
}

export async function benchTemplateMlp(gpu: Gpu, opts: { tiny: boolean }): Promise<BenchRow[]> {
  await initEngine(gpu);
  const cfg = opts.tiny
    ? { ...REFERENCE_TEMPLATE_NET, sdfHidden: [64, 64, 64], skipAt: 2, features: 16, colorHidden: [32] }
    : REFERENCE_TEMPLATE_NET;
  const N = opts.tiny ? 256 * 8 : 1024 * 64;
  const M = opts.tiny ? 128 : 4096;
  const P = N + 4 * M;
  const r = seededRandom(5);
  const net = TemplateNet.create(cfg, r);
  const pts = Float64Array.from({ length: 3 * P }, () => r() - 0.5);
  const gSdf = Tensor.from(
    Float32Array.from({ length: P }, () => r() - 0.5),
    [P, 1],
    { persistent: true },
  );
  const gCol = Tensor.from(
    Float32Array.from({ length: 3 * N }, () => r() - 0.5),
    [N, 3],
    { persistent: true },
  );
  const center = [0, 0, 0];
  const step = () => {
    const s = beginScope();
    try {
      const out = net.sdfForward(encodePoints(pts, center, cfg.multires));
      const sdf = slice(out, 1, 0, 1);
      const col = net.colorForward(slice(slice(out, 0, 0, N), 1, 1, 1 + cfg.features));
      for (const p of net.parameters().values()) {
        p.grad?.dispose();
        p.grad = null;
      }
      backward(add(sum(mul(sdf, gSdf)), sum(mul(col, gCol))));
    } finally {
      s.end();
    }
  };
  const ms = await timeGpu(gpu, step, { reps: opts.tiny ? 1 : 5, samples: opts.tiny ? 2 : 5, warmup: 2 });
  const m = macs(cfg);
  const flop = 3 * 2 * (P * m.sdf + N * m.color);
  // where the step's time goes (the products by tile shape, the elementwise work): one timed pass per dispatch
  const profile = gpu.features.timestamps ? await profiled(gpu, 'template-mlp', step) : [];
  net.dispose();
  gSdf.dispose();
  gCol.dispose();
  return [
    {
      bench: 'template-mlp',
      case: `SDF MLP on ${P} points + colour MLP on ${N}, forward + backward (${(flop / 1e9).toFixed(0)} GFLOP)`,
      ms,
      rate: flop / (ms * 1e-3) / 1e12,
      unit: 'TFLOP/s',
    },
    ...profile,
  ];
}
