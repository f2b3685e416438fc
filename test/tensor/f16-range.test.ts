/**
 * Gradients at training scale on the f16-operand (tc2) paths: the range scale (f16-range.ts) against its float64
 * definition, and conv2d / conv_transpose2d backward through autograd with output gradients far below f16's
 * normal range (a mean loss over a megapixel image) and far above its largest value, against the float64
 * reference. The operands are multiples of 2⁻¹⁰ times a power of two, so the scaled values are exact in f16 and
 * the results must match to f32 summation accuracy; without the scale they lose most bits or overflow.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { backward, initEngine, mul, sum, Tensor } from '../../src/tensor/index.js';
import { conv2d, conv2dFused, convTranspose2d } from '../../src/tensor/conv/ops.js';
import type { ConvKernelOptions } from '../../src/tensor/conv/conv2d-raw.js';
import { f16RangeScale, f16RangeScaleRef } from '../../src/tensor/conv/f16-range.js';
import { conv2dGeometry, convTranspose2dGeometry } from '../../src/tensor/conv/geometry.js';
import { conv2dBackwardRef, convTranspose2dBackwardRef } from '../../src/tensor/reference/conv.js';
import { relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import { TC2_TEST_TILE, q10, withBuffers } from '../helpers/raw-buffers.js';

beforeAll(async () => {
  await initEngine();
});

const TC2SW: ConvKernelOptions = { path: 'tc2-sw', tc2Tile: TC2_TEST_TILE };
const scaled = (a: Float32Array, s: number) => a.map((v) => v * s);

describe('f16 range scale', () => {
  it('is the power of two that puts max |x| in [2^14, 2^15); 1 for zeros and non-finite inputs', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(5);
    const cases: Array<[string, Float32Array]> = [
      ['tiny', scaled(q10(1001, rand), 3e-7)],
      ['large', scaled(q10(77, rand), 1e6)],
      ['many partials', scaled(q10(4096 * 300 + 17, rand), 0.02)],
      ['exact power of two', new Float32Array([0.25, -0.5, 0.125])],
      ['zeros', new Float32Array(33)],
      ['infinity', new Float32Array([1, -Infinity, 2])],
      ['NaN', new Float32Array([1, NaN, 2])],
    ];
    for (const [name, x] of cases) {
      await withBuffers(gpu, async (up) => {
        const s = f16RangeScale(gpu, up(x), x.length);
        const got = await gpu.readF32(s, 2);
        gpu.pool.release(s);
        const want = f16RangeScaleRef(x);
        expect(got[0], name).toBe(want);
        expect(got[1], name).toBe(1 / want);
      });
    }
    // 16-byte loads with the last one masked: values past `count` (here huge) must not count
    const data = scaled(q10(4 * 1000, rand), 1e-3);
    data.fill(1e30, 3998);
    const buf = gpu.pool.acquire(4 * data.length);
    expect(buf.size % 16).toBe(0);
    gpu.upload(buf, data);
    const s = f16RangeScale(gpu, buf, 3998);
    expect(Array.from(await gpu.readF32(s, 2))).toEqual([
      f16RangeScaleRef(data.subarray(0, 3998)),
      1 / f16RangeScaleRef(data.subarray(0, 3998)),
    ]);
    gpu.pool.release(s);
    gpu.pool.release(buf);
    expect(f16RangeScaleRef([0.5])).toBe(2 ** 15);
    expect(f16RangeScaleRef([65504])).toBe(1 / 2);
  });
});

describe('conv gradients at training scale on the tc2 path', () => {
  for (const [what, mag] of [
    ['mean loss over a megapixel (gy ~ 2⁻²² ≈ 2.4e-7)', 2 ** -22],
    ['beyond f16 (gy ~ 2²⁰ ≈ 1e6)', 2 ** 20],
  ] as const) {
    it(`conv2d (stride 2, padded) and conv_transpose2d: ${what}`, async () => {
      const rand = seededRandom(9);
      // conv2d, 3×3, stride 2: input and weight gradients (the sub-pixel input gradient needs no padding: both kinds)
      for (const padding of [1, 0]) {
        const xs: [number, number, number, number] = [1, 6, 9, 11];
        const ws: [number, number, number, number] = [5, 6, 3, 3];
        const g = conv2dGeometry(xs, ws, { stride: 2, padding });
        const xa = q10(6 * 9 * 11, rand);
        const wa = q10(5 * 6 * 9, rand);
        const x = Tensor.from(xa, xs, { requiresGrad: true });
        const w = Tensor.from(wa, ws, { requiresGrad: true });
        const y = conv2d(x, w, null, { stride: 2, padding, kernel: TC2SW });
        const r = scaled(q10(y.size, rand), mag);
        backward(sum(mul(y, Tensor.from(r, y.shape))));
        const ref = conv2dBackwardRef(g, xa, wa, r);
        expect(relError(await x.grad!.toArray(), ref.gx), `conv2d gx, padding ${padding}`).toBeLessThan(1e-5);
        expect(relError(await w.grad!.toArray(), ref.gw), `conv2d gw, padding ${padding}`).toBeLessThan(1e-5);
      }
      // conv_transpose2d, stride 2: gx is a conv2d forward of gy; in gw the gradient is the GEMM's other operand
      // (4 output channels: that conv2d has Cin·kh·kw = 36, so it runs on the tensor cores, not shallow.ts)
      const xs: [number, number, number, number] = [1, 4, 5, 6];
      const ws: [number, number, number, number] = [4, 4, 3, 3];
      const t = convTranspose2dGeometry(xs, ws, { stride: 2 });
      const xa = q10(4 * 5 * 6, rand);
      const wa = q10(4 * 4 * 9, rand);
      const x = Tensor.from(xa, xs, { requiresGrad: true });
      const w = Tensor.from(wa, ws, { requiresGrad: true });
      const y = convTranspose2d(x, w, null, { stride: 2, kernel: TC2SW });
      const r = scaled(q10(y.size, rand), mag);
      backward(sum(mul(y, Tensor.from(r, y.shape))));
      const ref = convTranspose2dBackwardRef(t, xa, wa, r);
      expect(relError(await x.grad!.toArray(), ref.gx), 'conv_transpose2d gx').toBeLessThan(1e-5);
      expect(relError(await w.grad!.toArray(), ref.gw), 'conv_transpose2d gw').toBeLessThan(1e-5);
    });
  }

  it('conv2dFused (noise, bias, leaky ReLU): the range comes out of the bias-gradient pass; gy ~ 2⁻²²', async () => {
    const rand = seededRandom(10);
    const xs: [number, number, number, number] = [1, 6, 9, 11];
    const ws: [number, number, number, number] = [5, 6, 3, 3];
    const xa = q10(6 * 9 * 11, rand);
    const wa = q10(5 * 6 * 9, rand);
    const ba = q10(5, rand);
    const noise = q10(9 * 11, rand);
    const r = scaled(q10(5 * 9 * 11, rand), 2 ** -22);
    const grads = async (kernel: ConvKernelOptions) => {
      const x = Tensor.from(xa, xs, { requiresGrad: true });
      const w = Tensor.from(wa, ws, { requiresGrad: true });
      const b = Tensor.from(ba, [5], { requiresGrad: true });
      const strength = Tensor.from(new Float32Array([0.5]), [1], { requiresGrad: true });
      const y = conv2dFused(x, w, b, {
        padding: 1,
        kernel,
        lrelu: true,
        noise: { noise: Tensor.from(noise, [1, 1, 9, 11]), strength },
      });
      backward(sum(mul(y, Tensor.from(r, y.shape))));
      return Promise.all([x, w, b, strength].map((t) => t.grad!.toArray()));
    };
    const ref = await grads({ path: 'tiled', tile: { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 } }); // fp32
    const got = await grads(TC2SW);
    // gt = gy·lrelu'·√2 is not exact in f16: ~2⁻¹¹ relative, not the 7% of an unscaled 2⁻²² gradient
    for (const [i, name] of ['x', 'w', 'bias', 'strength'].entries())
      expect(relError(got[i]!, ref[i]!), name).toBeLessThan(2e-3);
  });
});
