import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rodrigues } from '../../src/body/rotation.js';
import {
  cameraCenter,
  formatActorsHqCsv,
  parseActorsHqCsv,
  projectPoint,
  writeCalibrationJson,
  type Camera,
} from '../../src/data/camera.js';
import { CaptureDataset, frameIds, LAYOUTS, type CaptureLayout } from '../../src/data/dataset.js';
import { boundaryBand, boundaryBandReference, morph, threshold } from '../../src/data/mask.js';
import { Prefetcher, shuffledEpochs } from '../../src/data/prefetch.js';
import { readSmplParams, writeSmplParams } from '../../src/data/smpl-params.js';
import { writeImage8 } from '../../src/io/node/image.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const W = 16,
  H = 12;

function camera(name: string, angle: number): Camera {
  const R = rodrigues(0, angle, 0);
  return {
    name,
    K: Float64Array.of(20, 0, 8, 0, 21, 6, 0, 0, 1),
    R,
    T: Float64Array.of(0.1, -0.2, 3),
    width: W,
    height: H,
  };
}

/** Image pixel value encodes (frame, cam, x, y) so the loaded pixels can be checked exactly (PNG) or roughly (JPEG). */
function pixels(frame: number, cam: number): Uint8Array {
  const p = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      p[i] = 40 + frame * 100;
      p[i + 1] = 60 + cam * 120;
      p[i + 2] = 200;
    }
  }
  return p;
}

function maskPixels(): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = 3; y < 9; y++) for (let x = 4; x < 12; x++) m[y * W + x] = 255;
  return m;
}

async function writeCapture(layout: CaptureLayout, dir: string, cams: Camera[], frames: number[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const spec = LAYOUTS[layout];
  const calib = join(dir, spec.calibration);
  mkdirSync(dirname(calib), { recursive: true });
  if (layout === 'actorshq') writeFileSync(calib, formatActorsHqCsv(cams));
  else writeCalibrationJson(calib, cams);
  for (const f of frames) {
    for (let c = 0; c < cams.length; c++) {
      const img = spec.image(dir, cams[c]!.name, f);
      const msk = spec.mask(dir, cams[c]!.name, f);
      mkdirSync(dirname(img), { recursive: true });
      mkdirSync(dirname(msk), { recursive: true });
      await writeImage8(img, W, H, 3, pixels(f, c), { quality: 100 });
      await writeImage8(msk, W, H, 1, maskPixels(), { quality: 100 });
    }
  }
  const body = Array.from({ length: 3 }, (_, i) => ({
    bodyPose: Float32Array.from({ length: 63 }, (_, k) => 0.01 * (k + i)),
    globalOrient: [0, 0.1 * i, 0],
    transl: [i, 0, 0],
  }));
  writeSmplParams(
    join(dir, 'smpl_params.npz'),
    body,
    Array.from({ length: 10 }, (_, k) => k / 10),
  );
}

describe('capture layouts', () => {
  const cams = [camera('cam00', 0), camera('cam01', 0.7)];
  for (const layout of ['thuman4', 'avatarrex', 'actorshq'] as const) {
    it(`${layout}: cameras, items and images round-trip`, async () => {
      const dir = join(root, layout);
      const names =
        layout === 'actorshq'
          ? ['Cam001', 'Cam002']
          : layout === 'avatarrex'
            ? ['22010708', '22010710']
            : ['cam00', 'cam01'];
      const cs = cams.map((c, i) => ({ ...c, name: names[i]! }));
      await writeCapture(layout, dir, cs, [0, 1]);
      const ds = new CaptureDataset({ layout, dataDir: dir, frameRange: [0, 2] });
      expect(ds.cameras.map((c) => c.name)).toEqual(names);
      for (let c = 0; c < 2; c++) {
        const a = ds.cameras[c]!,
          b = cs[c]!;
        for (let k = 0; k < 9; k++) {
          expect(a.K[k]).toBeCloseTo(b.K[k]!, 9);
          expect(a.R[k]).toBeCloseTo(b.R[k]!, 9);
        }
        for (let k = 0; k < 3; k++) expect(a.T[k]).toBeCloseTo(b.T[k]!, 9);
        expect([a.width, a.height]).toEqual([W, H]);
      }
      expect(ds.items.map((i) => [i.frame, i.camName])).toEqual([
        [0, names[0]],
        [0, names[1]],
        [1, names[0]],
        [1, names[1]],
      ]);
      expect(ds.missingFiles()).toEqual([]);
      const it3 = await ds.load(ds.items[3]!, { bg: [0, 0, 1] });
      expect(it3.image.width).toBe(W);
      const n = W * H;
      const fg = 5 * W + 6; // inside the mask
      expect(it3.mask[fg]).toBe(1);
      expect(it3.mask[0]).toBe(0);
      expect(it3.image.data[fg]).toBeCloseTo((40 + 100) / 255, 1);
      expect(it3.image.data[n + fg]).toBeCloseTo((60 + 120) / 255, 1);
      // background composited blue
      expect([it3.image.data[0], it3.image.data[n], it3.image.data[2 * n]]).toEqual([0, 0, 1]);
      expect(it3.boundary[fg]).toBe(0); // 2 px inside the 6-row mask: 5x5 erode keeps row 5, col 6
      expect(it3.boundary[3 * W + 4]).toBe(1);
      expect(it3.boundary[0]).toBe(0);
      // smpl params
      expect(ds.smpl.length).toBe(3);
      expect(ds.smpl.frame(2).transl![0]).toBe(2);
      // the prefetching stream yields the same items in the requested order, with the chosen background
      const got: number[] = [];
      for await (const { key, value } of ds.stream([3, 0, 2], { depth: 2, bg: (i) => [i / 3, 0, 0] })) {
        got.push(value.item.frame * 10 + value.item.cam);
        expect(value.bg).toEqual([key / 3, 0, 0]);
        expect(value.image.data[0]).toBeCloseTo(key / 3, 6);
      }
      expect(got).toEqual([11, 0, 10]);
    });
  }

  it('camera subsets, frame ranges with a step, the missing-file list', async () => {
    const dir = join(root, 'thuman4');
    writeFileSync(join(dir, 'missing_img_files.txt'), '/some/where/images/cam01/00000000.jpg\n');
    const ds = new CaptureDataset({ layout: 'thuman4', dataDir: dir, frameRange: [0, 3, 2], usedCamIds: [1] });
    expect(ds.items.map((i) => [i.frame, i.camName])).toEqual([[2, 'cam01']]);
    rmSync(join(dir, 'missing_img_files.txt'));
    expect(frameIds([2, 9, 3], 10)).toEqual([2, 5, 8]);
  });

  it('errors name the file, frame and camera', async () => {
    const dir = join(root, 'thuman4');
    expect(() => new CaptureDataset({ layout: 'thuman4', dataDir: dir, usedCamIds: [0, 5] })).toThrow(
      /calibration.json has no camera #5/,
    );
    expect(() => new CaptureDataset({ layout: 'thuman4', dataDir: dir, usedCamNames: ['cam07'] })).toThrow(
      /has no camera 'cam07'/,
    );
    const ds = new CaptureDataset({ layout: 'thuman4', dataDir: dir });
    const last = ds.items[ds.items.length - 1]!; // frame 2 has no images
    await expect(ds.load(last)).rejects.toThrow(/missing image .*00000002\.jpg \(frame 2, camera cam01\)/);
    const bad = ds.items[0]!;
    writeFileSync(bad.imagePath, 'not a jpeg');
    await expect(ds.load(bad)).rejects.toThrow(
      new RegExp(`${bad.imagePath.replace(/[/.]/g, '\\$&')}: cannot decode the image`),
    );
    expect(() => new CaptureDataset({ layout: 'thuman4', dataDir: dir, frameRange: [0, 5] })).toThrow(/frame 3/);
  });

  it('ActorsHQ csv: camera-to-world pose and normalised intrinsics', () => {
    const csv =
      'name,w,h,rx,ry,rz,tx,ty,tz,fx,fy,px,py\nCam001,100,200,0,1.5707963267948966,0,1,2,3,0.9,0.45,0.5,0.25\n';
    const [c] = parseActorsHqCsv(csv, 'x.csv');
    expect(Array.from(c!.K)).toEqual([90, 0, 50, 0, 90, 50, 0, 0, 1]);
    const ctr = cameraCenter(c!);
    expect(ctr[0]).toBeCloseTo(1, 12);
    expect(ctr[1]).toBeCloseTo(2, 12);
    expect(ctr[2]).toBeCloseTo(3, 12);
    // the camera looks along its z axis = the world direction R_c2w · (0,0,1) = (1, 0, 0) for a +90° turn about y
    const [u, v, z] = projectPoint(c!, 1 + 5, 2, 3);
    expect([u, v, z].map((x) => +x.toFixed(9))).toEqual([50, 50, 5]);
  });
});

describe('masks', () => {
  it('threshold is > 128; the band is dilate5 − erode5 OR a soft alpha', () => {
    const w = 9,
      h = 9;
    const data = new Uint8Array(w * h);
    data[4 * w + 4] = 255;
    data[0] = 128; // not foreground, but soft
    data[8] = 5; // not soft
    const g = { width: w, height: h, data };
    const bin = threshold(g);
    expect(bin.reduce((a, b) => a + b, 0)).toBe(1);
    const band = boundaryBand(g);
    let count = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = Math.abs(x - 4) <= 2 && Math.abs(y - 4) <= 2;
        expect(band[y * w + x]).toBe(inside || (x === 0 && y === 0) ? 1 : 0);
        count += band[y * w + x]!;
      }
    }
    expect(count).toBe(26);
    // the summed-area band equals dilate − erode on random soft masks of odd sizes
    let seed = 9;
    for (const [ww, hh] of [
      [17, 13],
      [40, 3],
    ]) {
      const d = Uint8Array.from({ length: ww! * hh! }, () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const v = seed % 1000;
        return v < 450 ? 0 : v < 900 ? 255 : v % 256;
      });
      const img = { width: ww!, height: hh!, data: d };
      expect(boundaryBand(img)).toEqual(boundaryBandReference(img));
      expect(boundaryBand(img, false)).toEqual(boundaryBandReference(img, false));
    }
    const ero = morph(new Uint8Array(w * h).fill(1), w, h, 5, 'erode');
    expect(ero.every((v) => v === 1)).toBe(true); // the image border does not erode
  });
});

describe('prefetcher', () => {
  it('keeps a bounded number of loads ahead and yields in order', async () => {
    let inflight = 0,
      maxInflight = 0,
      started = 0;
    const load = async (k: number) => {
      started++;
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      await new Promise((r) => setTimeout(r, 2 + (k % 3)));
      inflight--;
      return k * 10;
    };
    const p = new Prefetcher([5, 3, 8, 1, 9, 2][Symbol.iterator](), load, 3);
    expect(started).toBe(3);
    const out: number[] = [];
    for await (const { value } of p) out.push(value);
    expect(out).toEqual([50, 30, 80, 10, 90, 20]);
    expect(maxInflight).toBeLessThanOrEqual(3);
  });

  it('reports a failed load when it is consumed', async () => {
    const p = new Prefetcher([1, 2][Symbol.iterator](), async (k) => {
      if (k === 2) throw new Error('bad 2');
      return k;
    });
    expect((await p.next())!.value).toBe(1);
    await expect(p.next()).rejects.toThrow('bad 2');
  });

  it('shuffled epochs are permutations', () => {
    const g = shuffledEpochs(7, 3);
    const a = Array.from({ length: 14 }, () => g.next().value as number);
    expect([...a.slice(0, 7)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([...a.slice(7)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('smpl_params round trip', () => {
    const path = join(root, 'sp.npz');
    writeSmplParams(path, [{ bodyPose: new Float32Array(63).fill(0.5), jawPose: [1, 2, 3] }], [1, 2]);
    const s = readSmplParams(path);
    expect(s.length).toBe(1);
    expect(Array.from(s.betas)).toEqual([1, 2]);
    expect(Array.from(s.frame(0).jawPose!)).toEqual([1, 2, 3]);
    expect(() => s.frame(1)).toThrow(/frame 1 is out of range/);
  });
});
