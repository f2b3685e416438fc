/**
 * Where a training step's GPU memory goes: the buffer pool's bytes in use after each phase of one eager step at the
 * reference's size (the synthetic fixture of train-step.ts: full preset, 1500×2048, L1 + D-SSIM), the three networks'
 * forwards attributed one by one, and the peak. Diagnostic only: it walks the step's phases itself, as
 * src/train/step.ts composes them. `ANIMGS_CONV_PATH=tuned` shows the same in fp32 (no f16 operand copies).
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
import { add, backward, beginScope, initEngine, scale, sub, Tensor } from '../src/tensor/index.js';
import type { BenchRow } from './table.js';
import { camera, fixture } from './train-step.js';

export async function benchTrainMemory(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const tiny = !!opts.tiny;
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
  const fx = fixture(cfg.mapSize);
  const n = fx.canonical.pixels.length;
  const rows: BenchRow[] = [];
  const st = gpu.pool.stats;
  let last = st.bytesInUse;
  const mark = async (what: string) => {
    await gpu.sync();
    const now = st.bytesInUse;
    rows.push({
      bench: 'train-memory',
      case: what,
      ms: NaN,
      note: `in use ${(now / 2 ** 30).toFixed(2)} GiB (${now >= last ? '+' : ''}${((now - last) / 2 ** 30).toFixed(2)}), peak ${(st.peakBytesInUse / 2 ** 30).toFixed(2)} GiB`,
    });
    last = now;
  };
  await mark('start');
  const keep = { persistent: true };
  const weights = Tensor.from(fx.weights, [n, 55], keep);
  const points = Tensor.from(fx.canonical.positions, [n, 3], keep);
  const normals = Tensor.from(fx.normals, [n, 3], keep);
  const net = AvatarNet.init(cfg, fx.canonical, { seed: 1 });
  await mark(`AvatarNet (${n} Gaussians): parameters and fixed buffers`);
  const opt = new Adam(net.parameters(), { lr: 5e-4 });
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
  const viewParams = createViewParams({ camPos: [0, 0, 3], noiseStd: 0.1 });
  for (let rep = 0; rep < 2; rep++) {
    const tag = rep === 0 ? 'step 1' : 'step 2';
    const sc = beginScope();
    {
      const blend = blendJointMatrices(weights, jointMats);
      const cos = viewCosines(blend, points, normals, viewParams);
      await mark(`${tag}: skinning matrices, view cosines`);
      const gs = net.forward(poseMap, cos);
      await mark(`${tag}: AvatarNet forward (three networks, view CNN, gathers)`);
      const out = renderAvatar(gs, blend, renderer);
      await mark(`${tag}: skinning + splatting forward`);
      const pred = out.color;
      const loss = add(l1Loss(pred, gt), scale(sub(1, ssim(pred, gt)), DSSIM_WEIGHT));
      await mark(`${tag}: L1 + D-SSIM`);
      backward(loss);
      await mark(`${tag}: backward (tape freed)`);
      opt.step();
      await mark(`${tag}: Adam (moments created at the first step)`);
      opt.zeroGrad();
    }
    sc.end();
    await mark(`${tag}: end of step (scope closed, gradients zeroed)`);
  }
  renderer.dispose();
  net.dispose();
  return rows;
}
