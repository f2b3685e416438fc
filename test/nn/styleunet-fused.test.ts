/**
 * The DualStyleUNet with its conv tails fused into the convolutions' epilogue (conv2dFused on a GEMM path: here
 * 'tiled' with a small tile, routed through setDefaultConvKernel): forward and parameter gradients against the
 * float64 reference, the same result as the unfused ops, and the dispatches the fusion saves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DualStyleUNet } from '../../src/nn/styleunet/network.js';
import { setConvTailFusion } from '../../src/nn/styleunet/layers.js';
import { styleUnetForwardRef, type F64 } from '../../src/nn/styleunet/reference.js';
import { setDefaultConvKernel } from '../../src/tensor/conv/ops.js';
import { backward, initEngine, mul, noGrad, sum, Tensor } from '../../src/tensor/index.js';
import { gpu } from '../../src/tensor/tensor.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { TINY, tinyParams } from './tiny-unet.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

const S = TINY.inpSize;

beforeAll(async () => {
  await initEngine();
  setDefaultConvKernel({ path: 'tiled', tile: { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 } });
});

afterAll(() => {
  setDefaultConvKernel(null);
  setConvTailFusion(true);
});

describe("DualStyleUNet with fused conv tails ('tiled', small tile)", () => {
  it('matches the float64 reference and the unfused network (forward and gradients); counts the dispatches saved', async () => {
    const rand = seededRandom(7);
    const params = tinyParams(4);
    const net = DualStyleUNet.fromStateDict(TINY, params);
    const xa = randomF32(3 * S * S, rand);
    const viewCh = net.spec.viewCh;
    const va = [randomF32(viewCh * (S / 2) ** 2, rand), randomF32(viewCh * (S / 2) ** 2, rand)];
    const r = randomF32(2 * TINY.outCh * 4 * S * S, rand);
    const probes: Array<[string, number]> = [
      ['conv_in.1.weight', 5],
      ['conv_in.2.bias', 1],
      ['cond_convs.3.conv2.2.bias', 0],
      ['comb_convs.1.0.weight', 7],
      ['style.1.weight', 9],
      ['convs1.4.conv.modulation.weight', 3],
      ['convs1.4.conv.weight', 2],
      ['convs1.4.activate.bias', 1],
      ['convs2.9.noise.weight', 0],
      ['convs2.0.noise.weight', 0],
    ];
    const run = async (fused: boolean) => {
      setConvTailFusion(fused);
      for (const p of net.parameters()) p.grad = null;
      const x = Tensor.from(xa, [1, 3, S, S]);
      const views = va.map((v) => Tensor.from(v, [1, viewCh, S / 2, S / 2])) as [Tensor, Tensor];
      const d0 = gpu().dispatchCount;
      const y = net.forward(x, views);
      const d1 = gpu().dispatchCount;
      backward(sum(mul(y, Tensor.from(r, y.shape))));
      const d2 = gpu().dispatchCount;
      const grads = new Map<string, number>();
      for (const [name, i] of probes) grads.set(name, (await net.tensors.get(name)!.grad!.toArray())[i]!);
      return { y: await y.toArray(), grads, forward: d1 - d0, step: d2 - d0 };
    };
    const fu = await run(true);
    // the unfused network compiles a second set of kernels (half a minute on lavapipe): the full sweep compares
    // the two; npm test checks the fused one against float64 and finite differences
    const un = FULL_SWEEP ? await run(false) : null;
    const f64 = (d: Float32Array, c: number, h: number): F64 => ({ data: Float64Array.from(d), n: 1, c, h, w: h });
    const ref = (p: Map<string, ArrayLike<number>>) =>
      styleUnetForwardRef(TINY, p, f64(xa, 3, S), [f64(va[0]!, viewCh, S / 2), f64(va[1]!, viewCh, S / 2)]);
    expect(relError(fu.y, ref(params).data)).toBeLessThan(1e-4);
    if (un) expect(relError(fu.y, un.y)).toBeLessThan(1e-5);

    const L = (p: Map<string, ArrayLike<number>>) => ref(p).data.reduce((s, v, i) => s + v * r[i]!, 0);
    for (const [name, i] of probes) {
      const g = fu.grads.get(name)!;
      const eps = 1e-6;
      const vp = Float64Array.from(params.get(name)!);
      const vm = Float64Array.from(params.get(name)!);
      vp[i]! += eps;
      vm[i]! -= eps;
      const fd =
        (L(new Map<string, ArrayLike<number>>(params).set(name, vp)) -
          L(new Map<string, ArrayLike<number>>(params).set(name, vm))) /
        (2 * eps);
      const tol = 2e-3 * Math.max(1, Math.abs(fd));
      expect(Math.abs(g - fd), `${name}[${i}]: fused ${g}, finite difference ${fd}`).toBeLessThan(tol);
      if (un)
        expect(Math.abs(g - un.grads.get(name)!), `${name}[${i}]: fused vs unfused`).toBeLessThan(
          1e-5 * Math.max(1, Math.abs(g)),
        );
    }
    if (un) {
      console.log(
        `tiny DualStyleUNet dispatches, fused vs unfused: forward ${fu.forward} vs ${un.forward}, ` +
          `forward+backward ${fu.step} vs ${un.step}`,
      );
      expect(fu.forward).toBeLessThan(un.forward);
    }

    // Inference (noGrad), fused, with the parameter-only weights cached (freezeForInference).
    setConvTailFusion(true);
    net.freezeForInference();
    const infer = async () => {
      const d0 = gpu().dispatchCount;
      const y = noGrad(() =>
        net.forward(Tensor.from(xa, [1, 3, S, S]), [
          Tensor.from(va[0]!, [1, viewCh, S / 2, S / 2]),
          Tensor.from(va[1]!, [1, viewCh, S / 2, S / 2]),
        ]),
      );
      return { y: await y.toArray(), dispatches: gpu().dispatchCount - d0 };
    };
    await infer();
    const frozen = await infer();
    net.unfreeze();
    expect(relError(frozen.y, fu.y)).toBeLessThan(1e-6);
    console.log(`tiny DualStyleUNet noGrad forward, fused and frozen: ${frozen.dispatches} dispatches`);
    net.dispose();
  });
});
