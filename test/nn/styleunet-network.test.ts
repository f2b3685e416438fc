import { beforeAll, describe, expect, it } from 'vitest';
import { DualStyleUNet } from '../../src/nn/styleunet/network.js';
import { styleUnetForwardRef, type F64 } from '../../src/nn/styleunet/reference.js';
import { backward, initEngine, mul, sum, Tensor } from '../../src/tensor/index.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { TINY, tinyParams } from './tiny-unet.js';

beforeAll(async () => {
  await initEngine();
});

const S = TINY.inpSize;

describe('DualStyleUNet on the GPU', () => {
  it('matches the float64 reference forward (with view features), and its parameter gradients match finite differences', async () => {
    const rand = seededRandom(5);
    const params = tinyParams(3);
    const net = DualStyleUNet.fromStateDict(TINY, params);
    const xa = randomF32(3 * S * S, rand);
    const viewCh = net.spec.viewCh;
    const va = [randomF32(viewCh * (S / 2) ** 2, rand), randomF32(viewCh * (S / 2) ** 2, rand)];
    const x = Tensor.from(xa, [1, 3, S, S]);
    const views = va.map((v) => Tensor.from(v, [1, viewCh, S / 2, S / 2])) as [Tensor, Tensor];
    const y = net.forward(x, views);
    expect(y.shape).toEqual([1, 2 * TINY.outCh, 2 * S, 2 * S]);
    const f64 = (d: Float32Array, c: number, h: number): F64 => ({ data: Float64Array.from(d), n: 1, c, h, w: h });
    const ref = (p: Map<string, ArrayLike<number>>) =>
      styleUnetForwardRef(TINY, p, f64(xa, 3, S), [f64(va[0]!, viewCh, S / 2), f64(va[1]!, viewCh, S / 2)]);
    const yr = ref(params);
    expect(relError(await y.toArray(), yr.data)).toBeLessThan(1e-4);

    // L = ⟨r, y⟩; check dL/dθ for a few parameters of every kind against central differences of the reference.
    const r = randomF32(y.size, rand);
    backward(sum(mul(y, Tensor.from(r, y.shape))));
    const L = (p: Map<string, ArrayLike<number>>) => ref(p).data.reduce((s, v, i) => s + v * r[i]!, 0);
    const probes: Array<[string, number]> = [
      ['conv_in.1.weight', 5],
      ['from_rgbs.2.conv.0.weight', 1],
      ['cond_convs.3.conv2.2.bias', 0],
      ['comb_convs.1.0.weight', 7],
      ['style.1.weight', 9],
      ['convs1.4.conv.modulation.weight', 3],
      ['convs2.9.noise.weight', 0],
      ['to_rgbs1.5.bias', 2],
      ['to_rgbs2.3.conv.weight', 4],
    ];
    for (const [name, i] of probes) {
      const g = (await net.tensors.get(name)!.grad!.toArray())[i]!;
      const eps = 1e-6;
      const plus = new Map(params);
      const minus = new Map(params);
      const vp = Float64Array.from(params.get(name)!);
      const vm = Float64Array.from(params.get(name)!);
      vp[i]! += eps;
      vm[i]! -= eps;
      plus.set(name, vp as unknown as Float32Array);
      minus.set(name, vm as unknown as Float32Array);
      const fd = (L(plus) - L(minus)) / (2 * eps);
      expect(Math.abs(g - fd), `${name}[${i}]: GPU ${g}, finite difference ${fd}`).toBeLessThan(
        2e-3 * Math.max(1, Math.abs(fd)),
      );
    }
    net.dispose();
  });
});
