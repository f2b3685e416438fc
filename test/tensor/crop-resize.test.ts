/**
 * cropResize (a window read from a GPU buffer, bilinear to a fixed side, fill outside the image) against its
 * float64 twin, whose adjoint is checked by finite differences; one kernel pair serves every window. The backward is
 * a gather (no float atomics): two runs give the same bits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { backward, gpu, initEngine, mul, sum, Tensor } from '../../src/tensor/index.js';
import { cropResize } from '../../src/tensor/ops/crop-resize.js';
import { cropResizeBackwardRef, cropResizeRef, type CropWindow } from '../../src/tensor/reference/crop-resize.js';
import { finiteDiffError, randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';

beforeAll(async () => {
  await initEngine();
});

describe('cropResize', () => {
  it('matches the float64 twin: downscale, window past the edges, upscale, pixels as they are; gradients', async () => {
    const rand = seededRandom(61);
    const [C, H, W] = [3, 13, 17];
    const img = randomF32(C * H * W, rand);
    const fill = Float32Array.of(0.25, -0.5, 0.75);
    const cases: Array<[CropWindow, number]> = [
      [{ x: 2, y: 1, size: 11 }, 5],
      [{ x: -3, y: 8, size: 11 }, 7],
      [{ x: 14, y: -2, size: 4 }, 7],
      [{ x: 5, y: 3, size: 6 }, 6],
      // a strong upscale and a strong downscale: many outputs reach one pixel (the backward's run-time bounds)
      [{ x: 6, y: 4, size: 3 }, 16],
      [{ x: -7, y: -9, size: 30 }, 5],
    ];
    const win = Tensor.zeros([4], { persistent: true });
    const fillT = Tensor.from(fill, [3], { persistent: true });
    for (const [w, out] of cases) {
      gpu().upload(win.buffer, Float32Array.of(w.x, w.y, w.size, out));
      const x = Tensor.from(img, [C, H, W], { requiresGrad: true });
      const gyArr = randomF32(C * out * out, rand);
      const y = cropResize(x, win, fillT, out);
      backward(sum(mul(y, Tensor.from(gyArr, y.shape))));
      const tag = JSON.stringify([w, out]);
      expect(relError(await y.toArray(), cropResizeRef(img, C, H, W, w, fill, out)), tag).toBeLessThan(1e-6);
      const gref = cropResizeBackwardRef(gyArr, C, H, W, w, out);
      expect(relError(await x.grad!.toArray(), gref), tag).toBeLessThan(1e-5);
      expect(
        finiteDiffError((v) => cropResizeRef(v, C, H, W, w, fill, out), img, gyArr, gref, rand),
        tag,
      ).toBeLessThan(1e-7);
      x.dispose();
    }
  });

  it('gives the same gradient bits on every run (the backward sums in a fixed order)', async () => {
    const rand = seededRandom(62);
    const [C, H, W] = [2, 40, 37];
    const img = Tensor.from(randomF32(C * H * W, rand), [C, H, W], { persistent: true });
    const fillT = Tensor.from(Float32Array.of(0.5, -0.5), [2], { persistent: true });
    const win = Tensor.from(Float32Array.of(3, -2, 35, 0), [4], { persistent: true });
    const out = 23;
    const gy = Tensor.from(randomF32(C * out * out, rand), [C, out, out], { persistent: true });
    const run = async () => {
      const x = Tensor.from(await img.toArray(), [C, H, W], { requiresGrad: true });
      backward(sum(mul(cropResize(x, win, fillT, out), gy)));
      const g = new Uint32Array((await x.grad!.toArray()).buffer);
      x.dispose();
      return g;
    };
    const a = await run();
    const b = await run();
    expect(a.some((v) => v !== 0)).toBe(true);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    for (const t of [img, fillT, win, gy]) t.dispose();
  });
});
