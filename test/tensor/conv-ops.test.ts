import { beforeAll, describe, expect, it } from 'vitest';
import { backward, initEngine, mul, sum, Tensor } from '../../src/tensor/index.js';
import { conv2d, convTranspose2d, haarDwt, haarIwt, modulate, upfirdn2d } from '../../src/tensor/conv/ops.js';
import { conv2dGeometry, convTranspose2dGeometry } from '../../src/tensor/conv/geometry.js';
import { upfirdnGeometry } from '../../src/tensor/conv/upfirdn-geometry.js';
import { upsampleSpec } from '../../src/tensor/conv/fir.js';
import {
  conv2dBackwardRef,
  conv2dRef,
  convTranspose2dBackwardRef,
  convTranspose2dRef,
  modulateBackwardRef,
  modulateRef,
} from '../../src/tensor/reference/conv.js';
import { haarDwtRef, upfirdn2dAdjointRef, upfirdn2dRef } from '../../src/tensor/reference/upfirdn.js';
import { randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';

beforeAll(async () => {
  await initEngine();
});

/** L = Σ op(x…)·r: the gradient reaching the inputs is the op's backward applied to r. */
function lossWith(y: Tensor, r: Float32Array): Tensor {
  return sum(mul(y, Tensor.from(r, y.shape)));
}

describe('conv ops through autograd', () => {
  it('conv2d: output and x/w/bias gradients match the float64 reference', async () => {
    const rand = seededRandom(11);
    const [xs, ws] = [
      [2, 3, 9, 7],
      [5, 3, 3, 3],
    ];
    const xa = randomF32(2 * 3 * 9 * 7, rand);
    const wa = randomF32(5 * 27, rand);
    const ba = randomF32(5, rand);
    const x = Tensor.from(xa, xs, { requiresGrad: true });
    const w = Tensor.from(wa, ws, { requiresGrad: true });
    const b = Tensor.from(ba, [5], { requiresGrad: true });
    const y = conv2d(x, w, b, { stride: 2, padding: [1, 0, 2, 1] });
    const g = conv2dGeometry(xs, ws, { stride: 2, padding: [1, 0, 2, 1] });
    expect(y.shape).toEqual([2, 5, g.ho, g.wo]);
    expect(relError(await y.toArray(), conv2dRef(g, xa, wa, ba))).toBeLessThan(1e-5);
    const r = randomF32(y.size, rand);
    backward(lossWith(y, r));
    const ref = conv2dBackwardRef(g, xa, wa, r);
    expect(relError(await x.grad!.toArray(), ref.gx)).toBeLessThan(1e-5);
    expect(relError(await w.grad!.toArray(), ref.gw)).toBeLessThan(1e-5);
    const gb = new Float64Array(5);
    for (let i = 0; i < r.length; i++) gb[Math.floor(i / (g.ho * g.wo)) % 5]! += r[i]!;
    expect(relError(await b.grad!.toArray(), gb)).toBeLessThan(1e-5);
  });

  it('conv_transpose2d and modulate compose like ModulatedConv2d upsampling', async () => {
    const rand = seededRandom(12);
    const [cin, cout, k] = [4, 3, 3];
    const wa = randomF32(cout * cin * k * k, rand);
    const sa = randomF32(cin, rand, 1);
    const xa = randomF32(1 * cin * 5 * 6, rand);
    const w = Tensor.from(wa, [cout, cin, k, k], { requiresGrad: true });
    const s = Tensor.from(sa, [cin], { requiresGrad: true });
    const x = Tensor.from(xa, [1, cin, 5, 6], { requiresGrad: true });
    const wm = modulate(w, s, true);
    const { wm: wmRef } = modulateRef({ n: 1, cout, cin, kh: k, kw: k, demodulate: true }, wa, sa);
    expect(relError(await wm.toArray(), wmRef)).toBeLessThan(1e-5);
    // conv_transpose2d wants [cin, cout, k, k]: here the weight is used as such directly.
    const wt = Tensor.from(randomF32(cin * cout * k * k, rand), [cin, cout, k, k], { requiresGrad: true });
    const y = convTranspose2d(x, wt, null, { stride: 2 });
    const t = convTranspose2dGeometry([1, cin, 5, 6], [cin, cout, k, k], { stride: 2 });
    const wta = await wt.toArray();
    expect(relError(await y.toArray(), convTranspose2dRef(t, xa, wta))).toBeLessThan(1e-5);
    const r = randomF32(y.size, rand);
    backward(lossWith(y, r));
    const ref = convTranspose2dBackwardRef(t, xa, wta, r);
    expect(relError(await x.grad!.toArray(), ref.gx)).toBeLessThan(1e-5);
    expect(relError(await wt.grad!.toArray(), ref.gw)).toBeLessThan(1e-5);
    const r2 = randomF32(wm.size, rand);
    backward(lossWith(modulate(w, s, true), r2));
    const mref = modulateBackwardRef({ n: 1, cout, cin, kh: k, kw: k, demodulate: true }, wa, sa, r2);
    expect(relError(await w.grad!.toArray(), mref.gw)).toBeLessThan(1e-4);
    expect(relError(await s.grad!.toArray(), mref.gs)).toBeLessThan(1e-4);
  });

  it('upfirdn2d and Haar transforms: forward, adjoint, and IWT∘DWT = identity', async () => {
    const rand = seededRandom(13);
    const xa = randomF32(2 * 3 * 6 * 10, rand);
    const x = Tensor.from(xa, [2, 3, 6, 10], { requiresGrad: true });
    const fir = upsampleSpec(2);
    const y = upfirdn2d(x, fir);
    const g = upfirdnGeometry(6, 6, 10, 4, 4, fir.opts);
    expect(y.shape).toEqual([2, 3, 12, 20]);
    expect(relError(await y.toArray(), upfirdn2dRef(g, xa, fir.kernel))).toBeLessThan(1e-5);
    const r = randomF32(y.size, rand);
    backward(lossWith(y, r));
    expect(relError(await x.grad!.toArray(), upfirdn2dAdjointRef(g, r, fir.kernel))).toBeLessThan(1e-5);
    const d = haarDwt(Tensor.from(xa, [2, 3, 6, 10]));
    expect(relError(await d.toArray(), haarDwtRef(2, 3, 6, 10, xa))).toBeLessThan(1e-5);
    expect(relError(await haarIwt(d).toArray(), xa)).toBeLessThan(1e-5);
  });
});
