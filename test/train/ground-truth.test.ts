/** The step's ground truth from 8-bit data: the GPU composite equals the CPU one; packing keeps the photo's bytes. */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { initEngine, Tensor } from '../../src/tensor/index.js';
import {
  compositeGroundTruth,
  packedSizes,
  packGroundTruth,
  PIXEL_BAND,
  PIXEL_SUBJECT,
  unpackGroundTruth,
} from '../../src/train/ground-truth.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('ground truth from bytes', () => {
  it('packs a decoded photo, mask and band into bytes and classes (odd size, padded to words)', () => {
    const [W, H] = [5, 3];
    const n = W * H;
    const r = rng(1);
    const bytes = Array.from({ length: 3 * n }, () => Math.floor(r() * 256));
    const data = new Float32Array(3 * n);
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) data[c * n + p] = bytes[3 * p + c]! / 255;
    const mask = Array.from({ length: n }, (_, p) => (p % 3 ? 1 : 0));
    const band = Array.from({ length: n }, (_, p) => (p % 5 === 0 ? 1 : 0));
    const g = packGroundTruth({ width: W, height: H, data }, mask, band);
    expect(g.photo.byteLength).toBe(packedSizes(W, H).photo);
    expect(g.photo.byteLength % 4).toBe(0);
    expect(Array.from(g.photo.subarray(0, 3 * n))).toEqual(bytes);
    for (let p = 0; p < n; p++) expect(g.classes[p]).toBe(band[p] ? PIXEL_BAND : mask[p] ? PIXEL_SUBJECT : 0);
  });

  it('the GPU composite equals the CPU composite (37×23, every class, a random background)', async () => {
    await initEngine(await getGpu());
    const [W, H] = [37, 23];
    const sizes = packedSizes(W, H);
    const r = rng(2);
    const g = {
      width: W,
      height: H,
      photo: new Uint8Array(sizes.photo).map(() => Math.floor(r() * 256)),
      classes: new Uint8Array(sizes.classes).map(() => Math.floor(r() * 3)),
    };
    const bg = [r(), r(), r()];
    const want = compositeGroundTruth(g, bg);
    const bgT = Tensor.from(bg, [3, 1, 1]);
    const photo = Tensor.from(new Float32Array(g.photo.buffer), [sizes.photo / 4]);
    const classes = Tensor.from(new Float32Array(g.classes.buffer), [sizes.classes / 4]);
    const got = unpackGroundTruth(photo.buffer, classes.buffer, bgT, W, H);
    expect(got.gt.shape).toEqual([3, H, W]);
    expect(got.band.shape).toEqual([1, H, W]);
    const [gt, band] = [await got.gt.toArray(), await got.band.toArray()];
    expect(Array.from(band)).toEqual(Array.from(want.band));
    let worst = 0;
    for (let i = 0; i < gt.length; i++) worst = Math.max(worst, Math.abs(gt[i]! - want.gt[i]!));
    expect(worst).toBeLessThan(1e-6);
    for (const t of [bgT, photo, classes, got.gt, got.band]) t.dispose();
  });
});
