/**
 * Where a training step's GPU memory goes: the buffer pool's bytes in use after each phase of one eager step at the
 * reference's size (the synthetic fixture of train-step.ts: full preset, 1500×2048), the tape's saved activations
 * by op and dtype after the forward and after the loss, the peak, and what the real captured step (TrainStep, as
 * training runs it) holds while it replays. The phases are walked here as src/train/step.ts composes them (each
 * stage in its own scope, so what no backward needs is released when the stage ends).
 *
 *   node dist-bench/bench/run.js --only train-memory                      (on the GPU)
 *   TRAIN_MEMORY_DRY=1 node dist-bench/bench/run.js --only train-memory   (anywhere: a stand-in H200 that runs no
 *                                                                          kernels, dry-gpu.ts; same pool figures)
 * `TRAIN_MEMORY_LOSS=lpips|dssim` picks the loss (default lpips: L1 + LPIPS-VGG with random weights on the 512²
 * crop, the reference's; dssim: L1 + D-SSIM on the full image); `ANIMGS_CONV_PATH=tuned` shows fp32.
 */
import { AVATAR_PRESETS } from '../src/avatar/config.js';
import { AvatarNet } from '../src/avatar/net.js';
import { renderAvatar, SplatRenderer } from '../src/avatar/render.js';
import { blendJointMatrices } from '../src/avatar/skinning.js';
import { createViewParams, viewCosines } from '../src/avatar/skinning-view.js';
import type { Gpu } from '../src/gpu/index.js';
import { l1Loss } from '../src/nn/losses.js';
import { Adam } from '../src/nn/optim.js';
import { DSSIM_WEIGHT, ssim } from '../src/nn/ssim.js';
import { VGG16_WIDTHS } from '../src/nn/vgg.js';
import {
  add,
  backward,
  beginScope,
  cropResize,
  initEngine,
  noGrad,
  reshape,
  scale,
  scope,
  sub,
  Tensor,
} from '../src/tensor/index.js';
import { tapeSavedBytes } from '../src/tensor/tape.js';
import type { CanonicalTensors } from '../src/train/step.js';
import { dryGpu } from './dry-gpu.js';
import type { BenchRow } from './table.js';
import { benchStep, camera, fixture, randomLpips } from './train-step.js';

const GiB = 2 ** 30;
const gib = (b: number) => (b / GiB).toFixed(3);

export async function benchTrainMemory(gpuIn: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const tiny = !!opts.tiny;
  const dry = process.env.TRAIN_MEMORY_DRY === '1';
  const gpu = dry ? dryGpu() : gpuIn;
  const useLpips = (process.env.TRAIN_MEMORY_LOSS ?? 'lpips') === 'lpips';
  await initEngine(gpu);
  const cfg = tiny
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
  const lpipsSize = tiny ? 32 : 512;
  const fx = fixture(cfg.mapSize);
  const n = fx.canonical.pixels.length;
  const rows: BenchRow[] = [];
  const st = gpu.pool.stats;
  let last = st.bytesInUse;
  const tag = `${dry ? 'dry, ' : ''}${useLpips ? 'L1 + LPIPS' : 'L1 + D-SSIM'}`;
  const mark = async (what: string) => {
    await gpu.sync();
    const now = st.bytesInUse;
    rows.push({
      bench: 'train-memory',
      case: what,
      ms: NaN,
      note: `in use ${gib(now)} GiB (${now >= last ? '+' : ''}${gib(now - last)}), peak ${gib(st.peakBytesInUse)} GiB`,
    });
    last = now;
  };
  const tapeRows = (when: string) => {
    const t = tapeSavedBytes(held);
    const total = (k: string) => t.filter((r) => r.kind === k).reduce((a, r) => a + r.bytes, 0);
    rows.push({
      bench: 'train-memory tape',
      case: `${when}: all saved`,
      ms: NaN,
      note: `activations ${gib(total('activation'))} GiB; parameters and constants ${gib(total('persistent'))} GiB (held anyway)`,
    });
    for (const r of t.filter((r) => r.bytes >= 2 ** 20 && r.kind === 'activation'))
      rows.push({
        bench: 'train-memory tape',
        case: `${when}: ${r.name} (${r.dtype})`,
        ms: NaN,
        note: `${gib(r.bytes)} GiB in ${r.buffers} buffers`,
      });
  };
  await mark(`start (${tag})`);
  const keep = { persistent: true };
  const canon: CanonicalTensors = {
    weights: Tensor.from(fx.weights, [n, 55], keep),
    points: Tensor.from(fx.canonical.positions, [n, 3], keep),
    normals: Tensor.from(fx.normals, [n, 3], keep),
  };
  await mark(`canonical tensors (${n} Gaussians)`);
  const net = AvatarNet.init(cfg, fx.canonical, { seed: 1 });
  const params = net.parameters();
  const paramBytes = params.reduce((a, p) => a + p.buffer.size, 0);
  await mark(`AvatarNet: parameters (${gib(paramBytes)} GiB in ${params.length}) and fixed buffers`);
  // parameters and the networks' constant buffers (noise maps), which nodes may save through reshape views
  const held = new Set<GPUBuffer>(params.map((p) => p.buffer));
  for (const u of Object.values(net.nets)) for (const t of u.tensors.values()) held.add(t.buffer);
  const lpips = useLpips ? randomLpips(tiny ? [4, 4, 4, 4, 4] : VGG16_WIDTHS) : null;
  await mark('LPIPS-VGG weights');
  const opt = new Adam(params, { lr: 5e-4 });
  const S = cfg.poseMapSize;
  const poseMap = Tensor.from(
    new Float32Array(3 * S * S).map((_, i) => Math.sin(i) * 0.5),
    [1, 3, S, S],
    keep,
  );
  const joints = new Float32Array(55 * 16);
  for (let j = 0; j < 55; j++) for (let k = 0; k < 4; k++) joints[j * 16 + k * 5] = 1;
  const jointMats = Tensor.from(joints, [55, 4, 4], keep);
  const renderer = new SplatRenderer(W, H);
  renderer.setCamera(camera(W, H), [0.2, 0.5, 0.7]);
  const gt = Tensor.from(new Float32Array(3 * W * H).fill(0.5), [3, H, W], keep);
  const box = Math.min(W, H) * 0.8;
  const crop = Tensor.from([(W - box) / 2, (H - box) / 2, box, lpipsSize], [4], keep);
  const fill = Tensor.from([0.2, 0.5, 0.7], [3], keep);
  const viewParams = createViewParams({ camPos: [0, 0, 3], noiseStd: 0.1 });
  {
    const sc = beginScope();
    const blend = blendJointMatrices(canon.weights, jointMats);
    const cos = viewCosines(blend, canon.points, canon.normals, viewParams);
    await mark('step: skinning matrices, view cosines');
    const gs = scope(() => net.forward(poseMap, cos));
    await mark('step: AvatarNet forward (three networks, view CNN, gathers)');
    tapeRows('after the forward');
    const pred = scope(() => renderAvatar(gs, blend, renderer).color);
    await mark('step: skinning + splatting forward');
    const loss = scope(() => {
      if (!lpips) return add(l1Loss(pred, gt), scale(sub(1, ssim(pred, gt)), DSSIM_WEIGHT));
      const gtCrop = noGrad(() => cropResize(gt, crop, fill, lpipsSize));
      return add(l1Loss(pred, gt), reshape(lpips.distance(cropResize(pred, crop, fill, lpipsSize), gtCrop), []));
    });
    await mark(`step: ${useLpips ? 'L1 + LPIPS on the crop' : 'L1 + D-SSIM on the full image'}`);
    tapeRows('after the loss');
    backward(loss);
    await mark('step: backward (the tape freed as it goes; parameter gradients made)');
    opt.step();
    await mark('step: Adam (moments made at the first step)');
    opt.zeroGrad();
    sc.end();
    await mark('step: end (scope closed, gradients zeroed)');
  }
  rows.push({ bench: 'train-memory', case: 'eager step: peak in use', ms: NaN, note: `${gib(st.peakBytesInUse)} GiB` });
  renderer.dispose();
  for (const t of [poseMap, jointMats, gt, crop, fill, viewParams]) t.dispose();

  // The captured step as training runs it: what the pool holds while it replays.
  gpu.pool.trim();
  gpu.pool.resetPeak();
  const { step, input } = benchStep(net, opt, canon, cfg, W, H, lpips, lpipsSize);
  step.run(input);
  await gpu.sync();
  gpu.pool.trim();
  rows.push({
    bench: 'train-memory',
    case: `captured TrainStep (${tag}): held while replaying`,
    ms: NaN,
    note: `${gib(st.bytesInUse)} GiB in use, ${gib(st.bytesAllocated)} allocated (parameters, gradients, Adam's moments, the step's buffers); peak during the capture ${gib(st.peakBytesInUse)}`,
  });
  step.dispose();
  net.dispose();
  lpips?.vgg.dispose();
  for (const t of Object.values(canon)) t.dispose();
  return rows;
}
