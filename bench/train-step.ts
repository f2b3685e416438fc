/**
 * One training step at the reference's size, on a synthetic fixture (no capture needed): AvatarNet of the full
 * preset on canonical maps of 1024² per side with ~320k Gaussians as the reference has (an ellipse of pixels on each
 * side, points on an ellipsoid, each skinned to one random joint; `TRAIN_STEP_GAUSSIANS=N` sets another count, e.g.
 * 632512 as measured before 2026-12-02 evening), a 1500×2048 photo of random colours, a camera 3 m in front.
 * Measures (after warm-up):
 *  - the replayed step, back to back (throughput: what the training loop gets) and its CPU time per step;
 *  - the step's per-step uploads alone (pose map, photo bytes, pixel classes: what the loop writes before each replay);
 *  - where the GPU time goes: one eager step under the kernel profiler, kernels grouped by stage
 *    (their sum is an upper bound: one pass per dispatch forbids overlap);
 *  - the buffer pool's bytes held while the step replays (parameters, gradients, Adam's moments, the step's buffers).
 * Two losses: L1 + D-SSIM (ours without LPIPS weights) and L1 + LPIPS-VGG with random weights (the reference's
 * loss; the same work as real weights); `TRAIN_STEP_LOSS=dssim|lpips` runs one.
 */
import { AvatarNet } from '../src/avatar/net.js';
import { AVATAR_PRESETS, type AvatarNetConfig } from '../src/avatar/config.js';
import type { CanonicalGaussians } from '../src/avatar/gaussian-map.js';
import type { Camera } from '../src/data/camera.js';
import { KernelProfiler, type Gpu } from '../src/gpu/index.js';
import { Lpips, lpipsLinEntries } from '../src/nn/lpips.js';
import { vggEntries, VGG16_WIDTHS } from '../src/nn/vgg.js';
import { Adam } from '../src/nn/optim.js';
import { initEngine, Tensor } from '../src/tensor/index.js';
import { packedSizes, PIXEL_SUBJECT, type GroundTruthBox } from '../src/train/ground-truth.js';
import { TrainStep, type CanonicalTensors, type StepInput } from '../src/train/step.js';
import type { BenchRow } from './table.js';
import { throughputDetail } from './timeit.js';
import { seededRandom as rng } from '../src/tensor/rng.js';

const J = 55;

/**
 * Canonical Gaussians on an ellipse of pixels per side (front z > 0, back z < 0): semi-axes 0.2·k and 0.48·k of the
 * map, i.e. ~0.603·k²·S² of them; k from the wanted count (default ~320k, the reference's), at most 1.
 */
export function fixture(
  S: number,
  count = Number(process.env.TRAIN_STEP_GAUSSIANS ?? 320_000),
): { canonical: CanonicalGaussians; weights: Float32Array; normals: Float32Array } {
  const k = Math.min(1, Math.sqrt(count / (Math.PI * 0.2 * 0.48 * 2 * S * S)));
  const pixels: number[] = [];
  const pos: number[] = [];
  const nml: number[] = [];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < 2 * S; x++) {
      const side = x < S ? 1 : -1;
      const u = ((x % S) + 0.5) / S - 0.5;
      const v = (y + 0.5) / S - 0.5;
      const r2 = (u / (0.2 * k)) ** 2 + (v / (0.48 * k)) ** 2;
      if (r2 >= 1) continue;
      pixels.push(y * 2 * S + x);
      const z = side * 0.12 * Math.sqrt(1 - r2);
      pos.push((2 * u) / k, (-2 * v) / k, z);
      nml.push(0, 0, side);
    }
  const n = pixels.length;
  const r = rng(7);
  const weights = new Float32Array(n * J);
  for (let i = 0; i < n; i++) weights[i * J + Math.floor(r() * 22)] = 1;
  return {
    canonical: { positions: Float32Array.from(pos), pixels: Uint32Array.from(pixels), mapSize: S },
    weights,
    normals: Float32Array.from(nml),
  };
}

export function camera(width: number, height: number): Camera {
  const f = 1.1 * height;
  return {
    name: 'bench',
    width,
    height,
    K: Float64Array.from([f, 0, width / 2, 0, f, height / 2, 0, 0, 1]),
    R: Float64Array.from([1, 0, 0, 0, -1, 0, 0, 0, -1]),
    T: Float64Array.from([0, 0, 3]),
  };
}

/** LPIPS-VGG with random weights (the same work as the real ones). */
export function randomLpips(widths: readonly number[]): Lpips {
  const r = rng(11);
  const dict = (entries: Array<{ name: string; shape: number[] }>, s: number) =>
    new Map(
      entries.map((e) => [e.name, new Float32Array(e.shape.reduce((a, b) => a * b, 1)).map(() => s * (r() - 0.5))]),
    );
  return Lpips.fromStateDicts(dict(vggEntries(widths), 0.1), dict(lpipsLinEntries(widths), 1), widths);
}

/** Stage of a kernel, from its name (the profile's rows, grouped). */
function stageOf(name: string): string {
  const n = name.toLowerCase();
  if (/adam/.test(n)) return 'Adam';
  if (/splat|raster|tile|blend|project|sort|scan|radix|pair|overflow/.test(n)) return 'splatting (fwd+bwd)';
  if (/skin|lbs|viewcos|view-noise|joint/.test(n)) return 'skinning + view cosines';
  if (/conv|gemm|tc2|modul|demod|upfirdn|fir|haar|bias|lrelu|epilogue|style|noise|mapping|linear|torgb/.test(n))
    return 'networks (fwd+bwd)';
  return 'other (gathers, losses, elementwise)';
}

export async function benchTrainStep(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const tiny = !!opts.tiny;
  await initEngine(gpu);
  const cfg: AvatarNetConfig = tiny
    ? {
        ...AVATAR_PRESETS.small,
        poseMapSize: 64,
        mapSize: 128,
        channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
        styleDim: 8,
        viewdirHidden: 4,
      }
    : AVATAR_PRESETS.full;
  const [W, H] = tiny ? [48, 64] : [1500, 2048];
  const fx = fixture(cfg.mapSize);
  const n = fx.canonical.pixels.length;
  const keep = { persistent: true };
  const canon: CanonicalTensors = {
    weights: Tensor.from(fx.weights, [n, J], keep),
    points: Tensor.from(fx.canonical.positions, [n, 3], keep),
    normals: Tensor.from(fx.normals, [n, 3], keep),
  };
  const net = AvatarNet.init(cfg, fx.canonical, { seed: 1 });
  const opt = new Adam(net.parameters(), { lr: 5e-4 });
  const rows: BenchRow[] = [];
  const variants = process.env.TRAIN_STEP_LOSS ? [process.env.TRAIN_STEP_LOSS] : ['dssim', 'lpips'];
  for (const variant of variants) {
    const useLpips = variant === 'lpips';
    rows.push(...(await variantRows(gpu, net, opt, canon, cfg, { W, H, n, tiny, useLpips })));
  }
  net.dispose();
  return rows;
}

async function variantRows(
  gpu: Gpu,
  net: AvatarNet,
  opt: Adam,
  canon: CanonicalTensors,
  cfg: AvatarNetConfig,
  o: { W: number; H: number; n: number; tiny: boolean; useLpips: boolean },
): Promise<BenchRow[]> {
  const { W, H, n, tiny, useLpips } = o;
  const rows: BenchRow[] = [];
  const lpips = useLpips ? randomLpips(tiny ? [4, 4, 4, 4, 4] : VGG16_WIDTHS) : null;
  const lpipsSize = tiny ? 32 : 512;
  const { step, input, photo, classes, poseMap } = benchStep(net, opt, canon, cfg, W, H, lpips, lpipsSize);
  const loss = useLpips ? 'L1 + LPIPS (random VGG weights)' : 'L1 + D-SSIM';
  const what = `${tiny ? 'tiny' : 'full preset'}, ${n} Gaussians, ${W}×${H}, ${loss}`;

  // first run records (and compiles), then replays; a capacity growth re-records
  step.run(input);
  await gpu.sync();
  for (let i = 0; i < 3; i++) {
    step.run(input);
    await step.checkOverflow();
  }
  const replay = await throughputDetail(gpu, () => step.run(input), tiny ? 2 : 30);
  rows.push({
    bench: 'train-step',
    case: `replayed step (${what})`,
    ms: replay.ms,
    note: `CPU ${replay.cpuMs.toFixed(2)} ms/step`,
  });
  // Adam alone, replayed over every parameter with a gradient (its share of the step, barriers included)
  {
    const params = net.parameters();
    for (const p of params) p.grad = Tensor.zeros(p.shape, { persistent: true, label: 'bench grad' });
    const adamOnly = gpu.capture(() => opt.step());
    const adam = await throughputDetail(gpu, () => adamOnly.run(), tiny ? 2 : 30);
    adamOnly.dispose();
    opt.zeroGrad();
    rows.push({
      bench: 'train-step',
      case: `Adam alone, replayed (${params.length} parameter tensors)`,
      ms: adam.ms,
      note: `CPU ${adam.cpuMs.toFixed(2)} ms/step`,
    });
  }
  // what training holds while it replays: parameters, gradients, Adam's moments, the step's reserved buffers
  // (free pool buffers left by earlier work are given back first, as the training loop does)
  gpu.pool.trim();
  const st = gpu.pool.stats;
  rows.push({
    bench: 'train-step memory',
    case: `held while replaying (${loss})`,
    ms: NaN,
    note: `${(st.bytesInUse / 2 ** 30).toFixed(2)} GiB in use, ${(st.bytesAllocated / 2 ** 30).toFixed(2)} GiB allocated`,
  });

  const targets = [photo, classes, poseMap].map((a) => gpu.pool.acquire(a.byteLength));
  const up = await throughputDetail(
    gpu,
    () => {
      gpu.upload(targets[0]!, photo);
      gpu.upload(targets[1]!, classes);
      gpu.upload(targets[2]!, poseMap);
    },
    tiny ? 2 : 30,
  );
  for (const b of targets) gpu.pool.release(b);
  rows.push({
    bench: 'train-step',
    case: 'per-step uploads alone (photo bytes, pixel classes, pose map)',
    ms: up.ms,
    note: `${((photo.byteLength + classes.byteLength + poseMap.byteLength) / 2 ** 20).toFixed(1)} MiB`,
  });

  if (gpu.features.timestamps) {
    const p = new KernelProfiler(gpu);
    gpu.profile(p);
    try {
      step.run(input, true);
      await p.collect();
    } finally {
      gpu.profile(null);
    }
    const stages = new Map<string, { ms: number; count: number }>();
    for (const k of p.report()) {
      const s = stages.get(stageOf(k.name)) ?? { ms: 0, count: 0 };
      s.ms += k.ms;
      s.count += k.count;
      stages.set(stageOf(k.name), s);
    }
    for (const [name, s] of [...stages].sort((a, b) => b[1].ms - a[1].ms))
      rows.push({ bench: 'train-step profile', case: name, ms: s.ms, note: `${s.count} dispatches` });
    rows.push({ bench: 'train-step profile', case: 'TOTAL (sum of kernel GPU times)', ms: p.totalMs, note: '' });
    for (const k of p.report().slice(0, Number(process.env.PROFILE_TOP ?? 12)))
      rows.push({ bench: 'train-step kernels', case: k.name, ms: k.ms, note: `${k.count} dispatches` });
  }
  step.dispose();
  if (lpips) lpips.vgg.dispose();
  return rows;
}

/**
 * The bench's TrainStep (L1 + LPIPS when given + the offset term, the reference's weights) and the inputs of one step:
 * a random pose map and photo, identity joints, a centred crop.
 */
export function benchStep(
  net: AvatarNet,
  opt: Adam,
  canon: CanonicalTensors,
  cfg: AvatarNetConfig,
  W: number,
  H: number,
  lpips: Lpips | null,
  lpipsSize: number,
): { step: TrainStep; input: StepInput; photo: Uint8Array; classes: Uint8Array; poseMap: Float32Array } {
  const step = new TrainStep(
    net,
    opt,
    canon,
    'train',
    { width: W, height: H },
    {
      weights: { l1: 1, lpips: 0.1, offset: 0.005 },
      lpips,
      lpipsSize,
    },
  );
  const r = rng(3);
  const S = cfg.poseMapSize;
  const poseMap = new Float32Array(3 * S * S).map(() => r() - 0.5);
  const jointMats = new Float32Array(J * 16);
  for (let j = 0; j < J; j++) for (let k = 0; k < 4; k++) jointMats[j * 16 + k * 5] = 1;
  // the subject's box as a standing person fills a portrait frame (40 % of its width, 90 % of its height): only the
  // box's bytes travel each step
  const gtBox: GroundTruthBox = [Math.round(0.3 * W), Math.round(0.05 * H), Math.round(0.4 * W), Math.round(0.9 * H)];
  const photo = new Uint8Array(packedSizes(gtBox[2], gtBox[3]).photo).map(() => Math.floor(256 * r()));
  const classes = new Uint8Array(packedSizes(gtBox[2], gtBox[3]).classes).fill(PIXEL_SUBJECT);
  const box = Math.min(W, H) * 0.8;
  const input: StepInput = {
    poseMap,
    jointMats,
    camera: camera(W, H),
    bg: [0.2, 0.5, 0.7],
    box: gtBox,
    photo,
    classes,
    cropParams: Float32Array.from([(W - box) / 2, (H - box) / 2, box, lpipsSize]),
    seed: 1,
  };
  return { step, input, photo, classes, poseMap };
}
