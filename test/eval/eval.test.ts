/**
 * `animgs eval` end to end on a tiny synthetic capture (3 cameras of 40×32, 3 frames, canonical maps of 128² per
 * side, networks of 4 channels as in the training test) with an untrained avatar's checkpoint: the held-out views
 * chosen by default, CSV and JSON whose numbers match PSNR / SSIM / LPIPS recomputed from the images it saved, the
 * photo on white, the baseline painted with the training photos' mean colour, no overwrite without --force, and
 * one-line errors before any work.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalGaussians } from '../../src/avatar/canonical.js';
import { loadTrainConfig, type TrainConfig } from '../../src/avatar/config-file.js';
import { AvatarNet } from '../../src/avatar/net.js';
import { registerEval } from '../../src/cli/eval.js';
import { CaptureDataset } from '../../src/data/dataset.js';
import { lpipsEvalBox, squareCropResize } from '../../src/eval/crop.js';
import { evaluateAvatar } from '../../src/eval/evaluate.js';
import { psnr, ssim } from '../../src/eval/metrics.js';
import type { EvalReport } from '../../src/eval/report.js';
import { getGpu } from '../../src/gpu/index.js';
import { readRgb } from '../../src/io/node/image.js';
import { Lpips, lpipsLinEntries } from '../../src/nn/lpips.js';
import { Adam } from '../../src/nn/optim.js';
import { vggEntries } from '../../src/nn/vgg.js';
import { readCanonicalMaps } from '../../src/prep/files.js';
import { initEngine, noGrad, scope, Tensor } from '../../src/tensor/index.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { randomF32, seededRandom } from '../helpers/numeric.js';
import { tinyCapture } from '../helpers/tiny-capture.js';

let root: string;
let data: string;
let yaml: string;
let cfg: TrainConfig;
const env = { lpips: process.env.ANIMGS_LPIPS_DIR, torch: process.env.TORCH_HOME };

const TINY = {
  poseMapSize: 64,
  mapSize: 128,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
  styleDim: 8,
  viewdirHidden: 4,
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'animgs-eval-'));
  data = join(root, 'capture');
  // no LPIPS weights anywhere the lookup goes
  delete process.env.ANIMGS_LPIPS_DIR;
  process.env.TORCH_HOME = join(root, 'no-torch');
  const gpu = await getGpu();
  await tinyCapture(gpu, data, { frames: 3, mapSize: 128, pcaK: 0, cameras: 3, testFrames: 1 });
  yaml = join(root, 'avatar.yaml');
  writeFileSync(
    yaml,
    `train:
  dataset: MvRgbDatasetTHuman4
  data: {data_dir: ${data}, frame_range: [0, 2], used_cam_ids: [0, 1]}
  net_ckpt_dir: ${join(root, 'ckpt')}
model: {preset: small}
`,
  );
  cfg = loadTrainConfig(yaml);
  cfg.net = { ...cfg.net, ...TINY };
  // an untrained avatar's checkpoint, as training writes it (its settings carry the tiny network sizes)
  await initEngine();
  const maps = readCanonicalMaps(join(data, 'smpl_pos_map'));
  const net = AvatarNet.init(cfg.net, canonicalGaussians(maps), { seed: 3 });
  const opt = new Adam(net.parameters());
  await saveCheckpoint(cfg.train.netCkptDir, net, opt, {
    format: 'animgs-avatar-checkpoint',
    version: 1,
    stage: 'train',
    iteration: 0,
    sampler: { rng: [1, 2, 3, 4], iteration: 0 },
    adamSteps: {},
    settings: { net: cfg.net, dataDir: data, frames: [0, 1], cameras: [], seed: 1, gaussians: maps.pixels.length },
    savedAt: new Date().toISOString(),
  });
  opt.dispose();
  net.dispose();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (env.lpips !== undefined) process.env.ANIMGS_LPIPS_DIR = env.lpips;
  if (env.torch !== undefined) process.env.TORCH_HOME = env.torch;
  else delete process.env.TORCH_HOME;
});

/** Runs `animgs eval ...args`, collecting its lines. */
async function cli(args: string[]): Promise<string[]> {
  const program = new Command().exitOverride();
  registerEval(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await program.parseAsync(['eval', '-c', yaml, ...args], { from: 'user' });
  } finally {
    console.log = log;
  }
  return lines;
}

/** The saved photo | avatar | baseline image of a view, split into its three planar [3, H, W] parts. */
async function savedParts(out: string, frame: number, cam: string, W: number, H: number): Promise<Float32Array[]> {
  const img = await readRgb(join(out, 'views', `${String(frame).padStart(8, '0')}_${cam}.png`));
  expect(img.width).toBe(3 * W);
  const n = W * H;
  return [0, 1, 2].map((k) => {
    const part = new Float32Array(3 * n);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++)
        part.set(img.data.subarray(c * 3 * n + y * 3 * W + k * W, c * 3 * n + y * 3 * W + (k + 1) * W), c * n + y * W);
    return part;
  });
}

const readJson = (out: string) => JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as EvalReport;

describe('animgs eval (tiny synthetic capture, untrained avatar)', () => {
  it('scores the held-out view by default; the numbers are those of the saved images; photo on white; baseline colour', async () => {
    const out = join(root, 'out1');
    const lines = await cli(['--out', out, '--save-images']);
    expect(lines.filter((l) => /LPIPS skipped/.test(l)).length).toBe(1);
    expect(lines.some((l) => /1\/1 frame 2 .*PSNR .* dB, SSIM .*\| baseline PSNR/.test(l))).toBe(true);
    const r = readJson(out);
    expect(r.checkpoint.kind).toBe('ours');
    expect(r.views.map((v) => [v.frame, v.camId, v.novelPose, v.novelView])).toEqual([[2, 2, true, true]]);
    const v = r.views[0]!;
    expect(v.lpips).toBeNull();
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^frame,camera,cam_id,novel_pose,novel_view,psnr,ssim,lpips,baseline_psnr/);
    expect(csv.length).toBe(3);
    expect(csv[2]).toMatch(/^mean,/);
    expect(Number(csv[1]!.split(',')[5])).toBeCloseTo(v.psnr, 3);

    const ds = new CaptureDataset({ layout: 'thuman4', dataDir: data, frameRange: [2, 3], usedCamIds: [2] });
    const gt = await ds.load(ds.items[0]!, { bg: [1, 1, 1] });
    const { width: W, height: H } = gt.image;
    const [photo, render, baseline] = await savedParts(out, 2, v.camera, W, H);
    expect(photo).toEqual(gt.image.data); // the photo on white, as scored
    expect(psnr(render!, photo!)).toBeCloseTo(v.psnr, 9);
    expect(ssim(render!, photo!, W, H)).toBeCloseTo(v.ssim, 9);
    expect(psnr(baseline!, photo!)).toBeCloseTo(v.baseline.psnr, 9);
    expect(ssim(baseline!, photo!, W, H)).toBeCloseTo(v.baseline.ssim, 9);
    // the baseline: the mean subject colour of the 4 training photos on this view's mask, white elsewhere
    const train = new CaptureDataset({ layout: 'thuman4', dataDir: data, frameRange: [0, 2], usedCamIds: [0, 1] });
    const sum = [0, 0, 0];
    let count = 0;
    for (const it of train.items) {
      const l = await train.load(it);
      const n = l.image.width * l.image.height;
      for (let p = 0; p < n; p++)
        if (l.mask[p]) {
          count++;
          for (let c = 0; c < 3; c++) sum[c]! += l.image.data[c * n + p]!;
        }
    }
    const color = sum.map((s) => s / count);
    r.baselineColor!.forEach((c, i) => expect(c).toBeCloseTo(color[i]!, 9));
    const n = W * H;
    for (let p = 0; p < n; p++)
      for (let c = 0; c < 3; c++)
        expect(baseline![c * n + p]).toBeCloseTo(gt.mask[p] ? Math.round(color[c]! * 255) / 255 : 1, 6);
  });

  it('refuses to overwrite without --force; chosen frames and cameras (ids or names) with --force', async () => {
    const out = join(root, 'out1');
    await expect(cli(['--out', out])).rejects.toThrow(/metrics\.json .*already exist.*--force/);
    const names = new CaptureDataset({ layout: 'thuman4', dataDir: data }).allCameras.map((c) => c.name);
    await cli(['--out', out, '--force', '--frames', '1:3', '--cams', `0,${names[2]}`]);
    const r = readJson(out);
    expect(r.views.map((v) => [v.frame, v.camId, v.novelPose, v.novelView])).toEqual([
      [1, 0, false, false],
      [1, 2, false, true],
      [2, 0, true, false],
      [2, 2, true, true],
    ]);
    expect(r.mean.psnr).toBeCloseTo(r.views.reduce((s, v) => s + v.psnr, 0) / 4, 9);
    expect(r.mean.baseline.ssim).toBeCloseTo(r.views.reduce((s, v) => s + v.baseline.ssim, 0) / 4, 9);
  });

  it('LPIPS on the padded mask box resized to the crop side, RGB by default, BGR on request', async () => {
    const rand = seededRandom(5);
    const widths = [4, 5, 6, 5, 5];
    const vgg = new Map(
      vggEntries(widths).map((e) => [
        e.name,
        randomF32(
          e.shape.reduce((a, b) => a * b, 1),
          rand,
          -0.3,
          0.3,
        ),
      ]),
    );
    const lin = new Map(lpipsLinEntries(widths).map((e) => [e.name, randomF32(e.shape[1]!, rand, 0.05, 1)]));
    const lpips = Lpips.fromStateDicts(vgg, lin, widths);
    const quiet = { log: () => undefined, lpips, lpipsSize: 24, frames: [2], cams: [2], saveImages: true, config: cfg };
    const rgb = await evaluateAvatar({ ...quiet, out: join(root, 'rgb') });
    const bgr = await evaluateAvatar({ ...quiet, out: join(root, 'bgr'), lpipsBgr: true });
    const v = rgb.views[0]!;
    const ds = new CaptureDataset({ layout: 'thuman4', dataDir: data, frameRange: [2, 3], usedCamIds: [2] });
    const gt = await ds.load(ds.items[0]!, { bg: [1, 1, 1] });
    const { width: W, height: H } = gt.image;
    const [photo, render] = await savedParts(join(root, 'rgb'), 2, v.camera, W, H);
    const box = lpipsEvalBox(gt.mask, W, H, 50);
    const crop = (img: Float32Array, swap: boolean) => {
      const c = squareCropResize(img, W, H, 3, box, 24);
      if (!swap) return Tensor.from(c, [1, 3, 24, 24]);
      const n = 24 * 24;
      return Tensor.from(
        Float32Array.from([...c.subarray(2 * n), ...c.subarray(n, 2 * n), ...c.subarray(0, n)]),
        [1, 3, 24, 24],
      );
    };
    for (const [swap, want] of [
      [false, v.lpips],
      [true, bgr.views[0]!.lpips],
    ] as const) {
      const d = noGrad(() => scope(() => lpips.distance(crop(render!, swap), crop(photo!, swap))));
      expect((await d.toArray())[0]).toBeCloseTo(want!, 6);
      d.dispose();
    }
    expect(v.lpips).not.toBeCloseTo(bgr.views[0]!.lpips!, 6);
    expect(bgr.protocol.lpips).toMatch(/BGR/);
    expect(rgb.mean.lpips).toBe(v.lpips);
    lpips.dispose();
  });

  it('one-line errors before any work: unknown camera, frame outside the capture, no checkpoint', async () => {
    await expect(cli(['--out', join(root, 'e'), '--cams', '7'])).rejects.toThrow(/--cams: no camera #7 .*ids 0\.\.2/);
    await expect(cli(['--out', join(root, 'e'), '--frames', '2:9'])).rejects.toThrow(
      /frames 3, 4, .* not in .*smpl_params/,
    );
    await expect(cli(['--out', join(root, 'e'), '--frames', 'x'])).rejects.toThrow(
      /--frames 'x': the frame 'x' is not a frame number/,
    );
    await expect(cli(['--out', join(root, 'e'), '--checkpoint', join(root, 'nothing')])).rejects.toThrow(
      /checkpoint: .*nothing does not exist/,
    );
    const empty = { ...cfg, train: { ...cfg.train, netCkptDir: join(root, 'none') } };
    await expect(evaluateAvatar({ config: empty, out: join(root, 'e'), log: () => undefined })).rejects.toThrow(
      /no trained avatar: .*none .*animgs train -c/,
    );
  });
});
