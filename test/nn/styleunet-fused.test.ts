/**
 * The DualStyleUNet with its conv tails fused into the convolutions' epilogue (conv2dFused on a GEMM path: here
 * 'tiled' with a small tile, routed through setDefaultConvKernel): forward and parameter gradients against the
 * float64 reference, the same result as the unfused ops, and the dispatches the fusion saves.
 *
 * Lavapipe compiles ~0.4 s per conv kernel and the network has ~40 conv shapes (each with its forward, input-gradient
 * phases and weight gradient): the forward and the gradients are separate tests, and only the probed parameters
 * require gradients (their weight-gradient kernels run; the input gradients run all the way back to conv_in). No
 * probe in the style MLP: its gradient would need every modulated conv's weight gradient (styleunet-network.test.ts
 * checks it on the direct path); convs1.4's modulation weight covers that path through one fused conv.
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
  const rand = seededRandom(7);
  const params = tinyParams(4);
  const xa = randomF32(3 * S * S, rand);
  const probes: Array<[string, number]> = [
    ['conv_in.1.weight', 5],
    ['conv_in.2.bias', 1],
    ['cond_convs.3.conv2.2.bias', 0],
    ['comb_convs.1.0.weight', 7],
    ['convs1.4.conv.modulation.weight', 3],
    ['convs1.4.conv.weight', 2],
    ['convs1.4.activate.bias', 1],
    ['convs2.9.noise.weight', 0],
    ['convs2.0.noise.weight', 0],
  ];
  let net: DualStyleUNet;
  let viewCh: number;
  let va: Float32Array[];
  let r: Float32Array;
  let fused: { y: Tensor; forward: number } | null = null;
  let yFused: Float32Array | null = null;

  /** The network's forward (fused or not) on the test inputs: its output and the dispatches it recorded. */
  const forward = (fuse: boolean) => {
    setConvTailFusion(fuse);
    for (const p of net.parameters()) p.grad = null;
    const x = Tensor.from(xa, [1, 3, S, S]);
    const views = va.map((v) => Tensor.from(v, [1, viewCh, S / 2, S / 2])) as [Tensor, Tensor];
    const d0 = gpu().dispatchCount;
    const y = net.forward(x, views);
    return { y, forward: gpu().dispatchCount - d0 };
  };
  /** The probed gradients after the backward of Σ y·r, and the forward + backward dispatches. */
  const gradients = async (run: { y: Tensor; forward: number }) => {
    const d0 = gpu().dispatchCount;
    backward(sum(mul(run.y, Tensor.from(r, run.y.shape))));
    const step = run.forward + gpu().dispatchCount - d0;
    const grads = new Map<string, number>();
    for (const [name, i] of probes) grads.set(name, (await net.tensors.get(name)!.grad!.toArray())[i]!);
    return { grads, step };
  };
  const f64 = (d: Float32Array, c: number, h: number): F64 => ({ data: Float64Array.from(d), n: 1, c, h, w: h });
  const ref = (p: Map<string, ArrayLike<number>>) =>
    styleUnetForwardRef(TINY, p, f64(xa, 3, S), [f64(va[0]!, viewCh, S / 2), f64(va[1]!, viewCh, S / 2)]);

  beforeAll(() => {
    net = DualStyleUNet.fromStateDict(TINY, params);
    viewCh = net.spec.viewCh;
    va = [randomF32(viewCh * (S / 2) ** 2, rand), randomF32(viewCh * (S / 2) ** 2, rand)];
    r = randomF32(2 * TINY.outCh * 4 * S * S, rand);
    const probed = new Set(probes.map(([name]) => name));
    for (const e of net.spec.entries)
      if (e.kind === 'param' && !probed.has(e.name)) net.tensors.get(e.name)!.requiresGrad = false;
  });
  afterAll(() => net.dispose());

  it('forward matches the float64 reference', async () => {
    fused = forward(true);
    yFused = await fused.y.toArray();
    expect(relError(yFused, ref(params).data)).toBeLessThan(1e-4);
  });

  it('parameter gradients match finite differences of the float64 network (and the unfused network)', async () => {
    const fu = await gradients(fused ?? forward(true));
    // the unfused network compiles a second set of kernels (half a minute on lavapipe): the full sweep compares
    const un = FULL_SWEEP ? forward(false) : null;
    if (un) expect(relError(yFused!, await un.y.toArray())).toBeLessThan(1e-5);
    const unGrads = un ? await gradients(un) : null;
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
      if (unGrads)
        expect(Math.abs(g - unGrads.grads.get(name)!), `${name}[${i}]: fused vs unfused`).toBeLessThan(
          1e-5 * Math.max(1, Math.abs(g)),
        );
    }
    if (un && unGrads) {
      console.log(
        `tiny DualStyleUNet dispatches, fused vs unfused: forward ${fused!.forward} vs ${un.forward}, ` +
          `forward+backward ${fu.step} vs ${unGrads.step}`,
      );
      expect(fused!.forward).toBeLessThan(un.forward);
    }
  });

  it('inference (noGrad, fused, parameter-only weights cached by freezeForInference) gives the same output', async () => {
    const y = yFused ?? (await forward(true).y.toArray());
    setConvTailFusion(true);
    net.freezeForInference();
    const infer = async () => {
      const d0 = gpu().dispatchCount;
      const out = noGrad(() =>
        net.forward(Tensor.from(xa, [1, 3, S, S]), [
          Tensor.from(va[0]!, [1, viewCh, S / 2, S / 2]),
          Tensor.from(va[1]!, [1, viewCh, S / 2, S / 2]),
        ]),
      );
      return { y: await out.toArray(), dispatches: gpu().dispatchCount - d0 };
    };
    await infer();
    const frozen = await infer();
    net.unfreeze();
    expect(relError(frozen.y, y)).toBeLessThan(1e-6);
    console.log(`tiny DualStyleUNet noGrad forward, fused and frozen: ${frozen.dispatches} dispatches`);
  });
});
