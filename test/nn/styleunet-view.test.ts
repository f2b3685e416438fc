import { beforeAll, describe, expect, it } from 'vitest';
import { DualStyleUNet } from '../../src/nn/styleunet/network.js';
import { styleUnetForwardRef, type F64 } from '../../src/nn/styleunet/reference.js';
import { add, backward, initEngine, mul, noGrad, sum, Tensor } from '../../src/tensor/index.js';
import { resizeBilinear } from '../../src/tensor/ops/resize.js';
import { addUpsampled2x } from '../../src/nn/styleunet/view-add.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { TINY, tinyParams } from './tiny-unet.js';

beforeAll(async () => {
  await initEngine();
});

const S = TINY.inpSize;
const Q = S / 4; // the view CNN's output size

describe('DualStyleUNet view features', () => {
  it('takes view features at a quarter of the input size, resizes them on the tape, and passes gradients to them', async () => {
    const rand = seededRandom(11);
    const params = tinyParams(4);
    const net = DualStyleUNet.fromStateDict(TINY, params);
    const viewCh = net.spec.viewCh;
    const xa = randomF32(3 * S * S, rand);
    const va = [randomF32(viewCh * Q * Q, rand, -2, 2), randomF32(viewCh * Q * Q, rand, -2, 2)];
    const x = Tensor.from(xa, [1, 3, S, S]);
    const views = va.map((v) => Tensor.from(v, [1, viewCh, Q, Q], { requiresGrad: true })) as [Tensor, Tensor];
    const y = net.forward(x, views);
    expect(y.shape).toEqual([1, 2 * TINY.outCh, 2 * S, 2 * S]);

    const f64 = (d: ArrayLike<number>, c: number, h: number): F64 => ({ data: Float64Array.from(d), n: 1, c, h, w: h });
    const ref = (v: ArrayLike<number>[]) =>
      styleUnetForwardRef(TINY, params, f64(xa, 3, S), [f64(v[0]!, viewCh, Q), f64(v[1]!, viewCh, Q)]);
    const yr = ref(va);
    expect(relError(await y.toArray(), yr.data)).toBeLessThan(1e-4);
    // The view features matter: without them the output differs.
    const y0 = styleUnetForwardRef(TINY, params, f64(xa, 3, S));
    expect(relError(y0.data, yr.data)).toBeGreaterThan(1e-3);

    // L = ⟨r, y⟩: dL/dview (through the bilinear resize) against central differences of the float64 twin.
    const r = randomF32(y.size, rand);
    backward(sum(mul(y, Tensor.from(r, y.shape))));
    const L = (v: ArrayLike<number>[]) => ref(v).data.reduce((s, a, i) => s + a * r[i]!, 0);
    for (const side of [0, 1]) {
      const g = await views[side]!.grad!.toArray();
      for (const i of [0, 7, viewCh * Q * Q - 1, Q * Q + 5]) {
        const eps = 1e-5;
        const plus = va.map((v) => Float64Array.from(v));
        const minus = va.map((v) => Float64Array.from(v));
        plus[side]![i]! += eps;
        minus[side]![i]! -= eps;
        const fd = (L(plus) - L(minus)) / (2 * eps);
        expect(Math.abs(g[i]! - fd), `view ${side}[${i}]: GPU ${g[i]}, finite difference ${fd}`).toBeLessThan(
          2e-3 * Math.max(1, Math.abs(fd)),
        );
      }
    }
    net.dispose();
  });

  it('without gradients the same forward adds the view features in one pass (view-add.ts), to f32 rounding', async () => {
    const rand = seededRandom(12);
    const net = DualStyleUNet.fromStateDict(TINY, tinyParams(4));
    const viewCh = net.spec.viewCh;
    const x = Tensor.from(randomF32(3 * S * S, rand), [1, 3, S, S]);
    const va = [0, 1].map(() => randomF32(viewCh * Q * Q, rand, -2, 2));
    const views = (grad: boolean) =>
      va.map((d) => Tensor.from(d, [1, viewCh, Q, Q], { requiresGrad: grad })) as [Tensor, Tensor];
    const recorded = await net.forward(x, views(true)).toArray();
    const inferred = await noGrad(() => net.forward(x, views(false))).toArray();
    expect(relError(inferred, recorded)).toBeLessThan(1e-6);
    // the kernel alone on odd sizes and a batch: add(out, resizeBilinear(v)) to f32 rounding (the same taps and
    // weights; the compiler may fuse the final add differently)
    const v = Tensor.from(randomF32(2 * 3 * 5 * 7, rand), [2, 3, 5, 7]);
    const out = Tensor.from(randomF32(2 * 3 * 10 * 14, rand), [2, 3, 10, 14]);
    const fused = noGrad(() => addUpsampled2x(out, v))!;
    expect(relError(await fused.toArray(), await add(out, resizeBilinear(v, [10, 14])).toArray())).toBeLessThan(2e-7);
    expect(addUpsampled2x(out, Tensor.from(randomF32(2 * 3 * 5 * 6, rand), [2, 3, 5, 6]))).toBeNull();
    net.dispose();
  });

  it('refuses view features with the wrong channel count, naming the expected shape', () => {
    const net = DualStyleUNet.fromStateDict(TINY, tinyParams(1));
    const x = Tensor.zeros([1, 3, S, S]);
    const v = Tensor.zeros([1, net.spec.viewCh + 1, Q, Q]);
    expect(() => net.forward(x, [v, v])).toThrow(/view features must be \[1, 3, h, w\]/);
    net.dispose();
  });
});
