/** The step's ground truth from 8-bit data: the GPU composite equals the CPU one; packing keeps the photo's bytes. */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { initEngine, Tensor } from '../../src/tensor/index.js';
import {
  checkPacked,
  compositeGroundTruth,
  packedSizes,
  packGroundTruth,
  PIXEL_BAND,
  PIXEL_SUBJECT,
  unpackGroundTruth,
  wholeImage,
  type GroundTruthBox,
} from '../../src/train/ground-truth.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('ground truth from bytes', () => {
  it('packs a decoded photo, mask and band into the bytes and classes of their box (odd size, padded to words)', () => {
    const [W, H] = [9, 7];
    const n = W * H;
    const r = rng(1);
    const bytes = Array.from({ length: 3 * n }, () => Math.floor(r() * 256));
    const data = new Float32Array(3 * n);
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) data[c * n + p] = bytes[3 * p + c]! / 255;
    // subject at columns 2..5 of rows 1..4, band pixels at (6, 2) and (3, 5): the box is x 2..6, y 1..5
    const mask = Array.from({ length: n }, (_, p) => (p % W >= 2 && p % W <= 5 && p >= W && p < 5 * W ? 1 : 0));
    const band = Array.from({ length: n }, (_, p) => (p === 2 * W + 6 || p === 5 * W + 3 ? 1 : 0));
    const g = packGroundTruth({ width: W, height: H, data }, mask, band);
    expect(g.box).toEqual([2, 1, 5, 5]);
    expect(g.photo.byteLength).toBe(packedSizes(5, 5).photo);
    expect(g.photo.byteLength % 4).toBe(0);
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 5; x++) {
        const p = (1 + y) * W + 2 + x;
        const q = y * 5 + x;
        expect(Array.from(g.photo.subarray(3 * q, 3 * q + 3))).toEqual(bytes.slice(3 * p, 3 * p + 3));
        expect(g.classes[q]).toBe(band[p] ? PIXEL_BAND : mask[p] ? PIXEL_SUBJECT : 0);
      }
    // the composite is the whole image's: the photo on the subject, the background elsewhere
    const { gt, band: painted } = compositeGroundTruth(g, [0.25, 0.5, 0.75]);
    for (let p = 0; p < n; p++) {
      expect(painted[p]).toBe(band[p] ? 1 : 0);
      for (let c = 0; c < 3; c++)
        expect(gt[c * n + p]).toBeCloseTo(!band[p] && mask[p] ? bytes[3 * p + c]! / 255 : [0.25, 0.5, 0.75][c]!, 6);
    }
    // nothing but background: an empty box and no bytes
    const empty = packGroundTruth({ width: W, height: H, data }, new Array(n).fill(0), new Array(n).fill(0));
    expect(empty.box).toEqual([0, 0, 0, 0]);
    expect(empty.photo.byteLength + empty.classes.byteLength).toBe(0);
  });

  it('refuses a box outside the image or bytes of another size', () => {
    const g = {
      width: 8,
      height: 6,
      box: [5, 0, 4, 2] as GroundTruthBox,
      photo: new Uint8Array(24),
      classes: new Uint8Array(8),
    };
    expect(() => checkPacked(g)).toThrow(/not inside the 8×6 image/);
    expect(() => checkPacked({ ...g, box: [4, 0, 4, 2] })).not.toThrow();
    expect(() => checkPacked({ ...g, box: [4, 0, 4, 3] })).toThrow(/for a 4×3 box/);
  });

  for (const [label, box] of [
    ['the whole image', wholeImage(37, 23)],
    ['a box inside it', [5, 3, 19, 11]],
    ['an empty box', [0, 0, 0, 0]],
  ] as [string, GroundTruthBox][]) {
    it(`the GPU composite equals the CPU composite (37×23, every class, a random background; ${label})`, async () => {
      await initEngine(await getGpu());
      const [W, H] = [37, 23];
      const sizes = packedSizes(box[2], box[3]);
      const r = rng(2);
      const g = {
        width: W,
        height: H,
        box,
        photo: new Uint8Array(sizes.photo).map(() => Math.floor(r() * 256)),
        classes: new Uint8Array(sizes.classes).map(() => Math.floor(r() * 3)),
      };
      const bg = [r(), r(), r()];
      const want = compositeGroundTruth(g, bg);
      const bgT = Tensor.from(bg, [3, 1, 1]);
      // the step's buffers hold a whole image; the box's bytes are written at their start
      const full = packedSizes(W, H);
      const photoBytes = new Uint8Array(full.photo);
      photoBytes.set(g.photo);
      const classBytes = new Uint8Array(full.classes);
      classBytes.set(g.classes);
      const photo = Tensor.from(new Float32Array(photoBytes.buffer), [full.photo / 4]);
      const classes = Tensor.from(new Float32Array(classBytes.buffer), [full.classes / 4]);
      const boxT = Tensor.from(new Float32Array(Uint32Array.from(box).buffer), [4]);
      const got = unpackGroundTruth(photo.buffer, classes.buffer, boxT.buffer, bgT, W, H);
      expect(got.gt.shape).toEqual([3, H, W]);
      expect(got.band.shape).toEqual([1, H, W]);
      const [gt, band] = [await got.gt.toArray(), await got.band.toArray()];
      expect(Array.from(band)).toEqual(Array.from(want.band));
      let worst = 0;
      for (let i = 0; i < gt.length; i++) worst = Math.max(worst, Math.abs(gt[i]! - want.gt[i]!));
      expect(worst).toBeLessThan(1e-6);
      for (const t of [bgT, photo, classes, boxT, got.gt, got.band]) t.dispose();
    });
  }
});
