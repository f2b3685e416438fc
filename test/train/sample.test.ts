import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canoToLive } from '../../src/body/canonical.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { readGray, readRgb } from '../../src/io/node/image.js';
import { readPoseMap } from '../../src/prep/files.js';
import { checkCapture } from '../../src/train/capture-check.js';
import { loadTrainConfig, type TrainConfig } from '../../src/avatar/config-file.js';
import { LPIPS_PATCH_FROM, lpipsCrop, maskSquareBox } from '../../src/train/crop.js';
import { SampleRng } from '../../src/tensor/rng.js';
import { frontPoseMap, type TrainSample } from '../../src/train/sample.js';
import { compositeGroundTruth } from '../../src/train/ground-truth.js';
import { TrainSampler } from '../../src/train/sampler.js';
import { FX_FRAMES, fixtureYaml, writeTrainingCapture } from './capture-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-sample-'));
const dir = join(root, 'capture');
const yaml = join(root, 'avatar.yaml');
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await writeTrainingCapture(dir);
  writeFileSync(yaml, fixtureYaml(dir));
});
const config = (): TrainConfig => loadTrainConfig(yaml, { preset: 'small' });

/** Brute force: the square box by search (the smallest offset whose centre is nearest the tight box's, ties later). */
function squareBoxBrute(mask: Uint8Array, W: number, H: number) {
  const xs: number[] = [],
    ys: number[] = [];
  for (let i = 0; i < W * H; i++) if (mask[i]) (xs.push(i % W), ys.push(Math.floor(i / W)));
  if (!xs.length) (xs.push(0, W - 1), ys.push(0, H - 1));
  const x0 = Math.min(...xs),
    x1 = Math.max(...xs),
    y0 = Math.min(...ys),
    y1 = Math.max(...ys);
  const side = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const place = (lo: number, hi: number) => {
    let best = lo,
      bestD = Infinity;
    for (let s = hi + 1 - side; s <= lo; s++) {
      const d = Math.abs(s + side / 2 - (lo + hi + 1) / 2);
      if (d <= bestD) ((best = s), (bestD = d));
    }
    return best;
  };
  return { x: place(x0, x1), y: place(y0, y1), size: side };
}

/** Brute force: the band from an 8-bit mask: a 5×5 window (clipped) holding both sides, or 5 < α < 250. */
function bandBrute(gray: Uint8Array, W: number, H: number): Float64Array {
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let fg = 0,
        bgc = 0;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          const xx = x + dx,
            yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
          if (gray[yy * W + xx]! > 128) fg++;
          else bgc++;
        }
      }
      const a = gray[y * W + x]!;
      out[y * W + x] = (fg > 0 && bgc > 0) || (a > 5 && a < 250) ? 1 : 0;
    }
  }
  return out;
}

describe('LPIPS crop', () => {
  it('square box of the mask matches a brute-force search (random masks, odd sizes)', () => {
    const rng = new SampleRng(7);
    for (let t = 0; t < 200; t++) {
      const W = 1 + 2 * rng.int(9),
        H = 1 + 2 * rng.int(9);
      const m = new Uint8Array(W * H);
      const p = t % 10 === 0 ? 0 : rng.next() * 0.3; // some empty masks
      const cx = rng.int(W),
        cy = rng.int(H);
      for (let i = 0; i < W * H; i++) if (rng.next() < p && Math.abs((i % W) - cx) < W / 3) m[i] = 1;
      if (p > 0) m[cy * W + cx] = 1;
      expect(maskSquareBox(m, W, H)).toEqual(squareBoxBrute(m, W, H));
    }
  });

  it('schedule: resized before 300k, then a random 512² patch of a larger square, else the square', () => {
    const sq = { x: -40, y: 10, size: 900 };
    expect(lpipsCrop(sq, LPIPS_PATCH_FROM - 1, [0.5, 0.5])).toEqual({ box: sq, target: 512, resize: true });
    const a = lpipsCrop(sq, LPIPS_PATCH_FROM, [0, 0.999999]);
    expect(a).toEqual({ box: { x: -40, y: 10 + 900 - 512, size: 512 }, target: 512, resize: false });
    const b = lpipsCrop(sq, 500_000, [0.5, 0.25]);
    expect(b.box).toEqual({ x: -40 + Math.floor(0.5 * 389), y: 10 + Math.floor(0.25 * 389), size: 512 });
    const small = { x: 3, y: 4, size: 300 };
    expect(lpipsCrop(small, 400_000, [0.3, 0.3])).toEqual({ box: small, target: 300, resize: false });
  });
});

it('front pose map: the front half, every k-th pixel, as CHW (odd size)', () => {
  const S = 3,
    h = 6;
  const data = Float32Array.from({ length: h * 2 * h * 3 }, (_, i) => i * 0.5);
  const out = frontPoseMap({ width: 2 * h, height: h, data }, S);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) expect(out[c * S * S + y * S + x]).toBe(data[(2 * y * 2 * h + 2 * x) * 3 + c]);
  expect(() => frontPoseMap({ width: 2 * h, height: h, data }, 4)).toThrow(/animgs prep --size 8/);
});

describe('capture check', () => {
  it('passes a ready capture and lists everything missing with what to run', () => {
    const ok = checkCapture(config());
    expect(ok.dataset.items).toHaveLength(FX_FRAMES * 2);
    expect(ok.maps.size).toBe(256);
    const img = join(dir, 'images', 'cam01', '00000002.jpg');
    const map = join(dir, 'smpl_pos_map', '00000003.exr');
    renameSync(img, `${img}.away`);
    renameSync(map, `${map}.away`);
    try {
      expect(() => checkCapture(config())).toThrow(
        new RegExp(
          `1 image/mask files .* missing: ${img}[^]*1 of 4 posed position maps are missing: ` +
            `smpl_pos_map/00000003.exr: run \`animgs prep --config ${yaml} --size 256\``,
        ),
      );
    } finally {
      renameSync(`${img}.away`, img);
      renameSync(`${map}.away`, map);
    }
    // the full preset needs 1024² canonical maps; a wrong dataset type names the right one
    expect(() => checkCapture(loadTrainConfig(yaml))).toThrow(/are 256² per side but preset 'full' needs 1024²/);
    writeFileSync(join(root, 'rex.yaml'), fixtureYaml(dir).replace('MvRgbDatasetTHuman4', 'MvRgbDatasetAvatarReX'));
    expect(() => checkCapture(loadTrainConfig(join(root, 'rex.yaml'), { preset: 'small' }))).toThrow(
      /set train.dataset: MvRgbDatasetTHuman4/,
    );
  });
});

describe('sample stream', () => {
  const summary = (s: TrainSample) => [s.iteration, s.frame, s.cam, ...s.bg, s.photo[17], s.classes[17]];

  it('a sample: photo bytes and pixel classes (GT on the background, band painted), crop, pose map, joints (vs brute force)', async () => {
    const cfg = config();
    const checked = checkCapture(cfg);
    const model = loadSmplxModel(cfg.train.smplxModel);
    const sampler = TrainSampler.fromConfig(cfg, checked, model, { workers: 0 });
    expect(sampler.threaded).toBe(false);
    for (let k = 0; k < 3; k++) {
      const s = await sampler.next();
      expect(s.iteration).toBe(k);
      const W = s.width,
        H = s.height,
        n = W * H;
      const name = `${String(s.frame).padStart(8, '0')}.jpg`;
      const gray = (await readGray(join(dir, 'masks', s.camName, name))).data;
      const rgb = (await readRgb(join(dir, 'images', s.camName, name))).data;
      const band = bandBrute(gray, W, H);
      const { gt, band: painted } = compositeGroundTruth(s, s.bg);
      expect(Array.from(painted)).toEqual(Array.from(band));
      for (let i = 0; i < n; i++) {
        const photo = gray[i]! > 128 && !band[i];
        for (let c = 0; c < 3; c++) expect(gt[c * n + i]).toBe(photo ? rgb[c * n + i] : s.bg[c]);
      }
      const bin = Uint8Array.from(gray, (a) => (a > 128 ? 1 : 0));
      expect(s.crop).toEqual({ box: squareBoxBrute(bin, W, H), target: 512, resize: true });
      expect(Array.from(s.cropParams)).toEqual([s.crop.box.x, s.crop.box.y, s.crop.box.size, 512]);
      const pm = readPoseMap(join(dir, 'smpl_pos_map'), s.frame);
      expect(s.poseMap).toHaveLength(3 * 128 * 128);
      expect(s.poseMap[128 * 128 + 5 * 128 + 7]).toBe(pm.data[(5 * 256 + 7) * 3 + 1]);
      const ref = canoToLive(model, checked.dataset.smpl.frame(s.frame)).jointMats;
      expect(Array.from(s.jointMats)).toEqual(Array.from(Float32Array.from(ref)));
      expect(s.camera.name).toBe(s.camName);
      expect(s.bg.every((v) => v >= 0 && v < 1)).toBe(true);
    }
    await sampler.close();
  });

  it('seeded: the same sequence again; a resume from getState continues it; white without random_bg_color', async () => {
    const cfg = config();
    const checked = checkCapture(cfg);
    const model = loadSmplxModel(cfg.train.smplxModel);
    const a = TrainSampler.fromConfig(cfg, checked, model, { workers: 0 });
    const seq: unknown[] = [];
    let state;
    for (let k = 0; k < 8; k++) {
      seq.push(summary(await a.next()));
      if (k === 3) state = a.getState(); // taken while later steps are already queued
    }
    const pairs = new Set(seq.map((s) => `${(s as number[])[1]}/${(s as number[])[2]}`));
    expect(pairs.size).toBeGreaterThan(2);
    const b = TrainSampler.fromConfig(cfg, checked, model, { workers: 0 });
    expect(summary(await b.next())).toEqual(seq[0]);
    b.setState(state!);
    for (let k = 4; k < 8; k++) expect(summary(await b.next())).toEqual(seq[k]);
    expect(b.getState().iteration).toBe(8);
    const white = TrainSampler.fromConfig({ ...cfg, train: { ...cfg.train, randomBgColor: false } }, checked, model, {
      workers: 0,
    });
    const w = await white.next();
    expect(Array.from(w.bg)).toEqual([1, 1, 1]);
    expect([w.frame, w.cam]).toEqual([(seq[0] as number[])[1], (seq[0] as number[])[2]]);
    await Promise.all([a.close(), b.close(), white.close()]);
  });

  it('worker threads decode the same samples as the main thread', async () => {
    const cfg = config();
    const checked = checkCapture(cfg);
    const model = loadSmplxModel(cfg.train.smplxModel);
    const threaded = TrainSampler.fromConfig(cfg, checked, model, {
      workers: 1,
      workerUrl: new URL('../../src/train/sample-worker.ts', import.meta.url),
      execArgv: ['--import', pathToFileURL(join(__dirname, 'ts-worker-register.mjs')).href],
    });
    const local = TrainSampler.fromConfig(cfg, checked, model, { workers: 0 });
    expect(threaded.threaded).toBe(true);
    try {
      for (let k = 0; k < 4; k++) {
        const [t, l] = await Promise.all([threaded.next(), local.next()]);
        expect(summary(t)).toEqual(summary(l));
        expect(t.photo).toEqual(l.photo);
        expect(t.classes).toEqual(l.classes);
        expect(t.poseMap).toEqual(l.poseMap);
        expect(t.camera.K).toEqual(l.camera.K);
      }
    } finally {
      await Promise.all([threaded.close(), local.close()]);
    }
  });
});
