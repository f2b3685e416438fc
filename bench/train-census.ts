/**
 * Dispatch census of one full-size training step, on any machine: the step of bench/train-step.ts (full preset,
 * ~320k Gaussians, 1500×2048, L1 + LPIPS with random weights, Adam) recorded on the stand-in H200 of dry-gpu.ts
 * (same features, limits and code paths; nothing runs). On the H200 a dispatch costs ~10 µs of the step beyond its
 * own work (bench/RESULTS.md, 2026-12-02), so the count is the step's fixed overhead, measurable without the GPU.
 * Rows: the step's dispatches by kernel family (the label's first word), pass-ending copies and clears, the total.
 * `CENSUS_WHERE=copy:4` also prints who records the kernels whose names start so (CENSUS_DEPTH caller frames, 3).
 *   node dist-bench/bench/run.js --only train-census
 */
import { AvatarNet } from '../src/avatar/net.js';
import { AVATAR_PRESETS } from '../src/avatar/config.js';
import type { Gpu } from '../src/gpu/index.js';
import { Adam } from '../src/nn/optim.js';
import { initEngine, Tensor } from '../src/tensor/index.js';
import type { CanonicalTensors } from '../src/train/step.js';
import { VGG16_WIDTHS } from '../src/nn/vgg.js';
import { dryGpu } from './dry-gpu.js';
import type { BenchRow } from './table.js';
import { benchStep, fixture, randomLpips } from './train-step.js';

export async function benchTrainCensus(_gpu: Gpu): Promise<BenchRow[]> {
  const census = new Map<string, number>();
  const gpu = dryGpu(census);
  await initEngine(gpu);
  const cfg = AVATAR_PRESETS.full;
  const [W, H] = [1500, 2048];
  const fx = fixture(cfg.mapSize);
  const n = fx.canonical.pixels.length;
  const keep = { persistent: true };
  const canon: CanonicalTensors = {
    weights: Tensor.from(fx.weights, [n, 55], keep),
    points: Tensor.from(fx.canonical.positions, [n, 3], keep),
    normals: Tensor.from(fx.normals, [n, 3], keep),
  };
  const net = AvatarNet.init(cfg, fx.canonical, { seed: 1 });
  const opt = new Adam(net.parameters(), { lr: 5e-4 });
  const { step, input } = benchStep(net, opt, canon, cfg, W, H, randomLpips(VGG16_WIDTHS), 512);
  step.run(input); // the first step makes Adam's moments and the capacity buffers: count the second
  census.clear();
  const where = process.env.CENSUS_WHERE; // e.g. copy:4: who records that kernel (the callers' frames, counted)
  const callers = new Map<string, number>();
  if (where) {
    const dispatch = gpu.dispatch.bind(gpu);
    gpu.dispatch = (k, ...rest) => {
      if (k.name.startsWith(where)) {
        const frames = (new Error().stack ?? '')
          .split('\n')
          .slice(2, 12)
          .map((l) =>
            l
              .trim()
              .replace(/^at /, '')
              .replace(/\(?file:\/\/.*?dist-bench\//, '('),
          );
        const key = frames
          .filter((f) => !/gpu\/gpu\.js|tensor\/kernels\//.test(f)) // past the generic layers
          .slice(0, Number(process.env.CENSUS_DEPTH ?? 3))
          .join(' < ');
        callers.set(key, (callers.get(key) ?? 0) + 1);
      }
      dispatch(k, ...rest);
    };
  }
  step.run(input, true);
  for (const [c, k] of [...callers].sort((a, b) => b[1] - a[1])) console.log(`${String(k).padStart(5)}  ${c}`);
  const families = new Map<string, number>();
  for (const [name, c] of census) {
    const f = name.split(/[ |]/)[0]!;
    families.set(f, (families.get(f) ?? 0) + c);
  }
  const total = [...census.values()].reduce((a, b) => a + b, 0);
  const rows: BenchRow[] = [...families]
    .sort((a, b) => b[1] - a[1])
    .map(([f, c]) => ({ bench: 'train-census', case: f, ms: NaN, note: `${c} dispatches` }));
  rows.push({ bench: 'train-census', case: 'TOTAL (one eager step, dry H200)', ms: NaN, note: `${total}` });
  return rows;
}
