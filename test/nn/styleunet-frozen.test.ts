/**
 * DualStyleUNet.freezeForInference: the weights derived from the parameters alone (style MLP, modulated and scaled
 * weights) are computed once and reused by later noGrad forwards; same output, fewer dispatches; refreshed by
 * unfreeze() / freezeForInference(); a forward with grad while frozen is refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DualStyleUNet } from '../../src/nn/styleunet/network.js';
import { initEngine, noGrad, scope, Tensor } from '../../src/tensor/index.js';
import { gpu } from '../../src/tensor/tensor.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { TINY, tinyParams } from './tiny-unet.js';

beforeAll(async () => {
  await initEngine();
});

const S = TINY.inpSize;

describe('DualStyleUNet.freezeForInference', () => {
  it('reuses the parameter-only weights across noGrad forwards: same output, fewer dispatches', async () => {
    const rand = seededRandom(9);
    const params = tinyParams(5);
    const net = DualStyleUNet.fromStateDict(TINY, params);
    const xa = randomF32(3 * S * S, rand);
    const viewCh = net.spec.viewCh;
    const va = [randomF32(viewCh * (S / 2) ** 2, rand), randomF32(viewCh * (S / 2) ** 2, rand)];
    const run = async () => {
      const d0 = gpu().dispatchCount;
      const y = await noGrad(() =>
        scope(() => {
          const x = Tensor.from(xa, [1, 3, S, S]);
          const views = va.map((v) => Tensor.from(v, [1, viewCh, S / 2, S / 2])) as [Tensor, Tensor];
          return net.forward(x, views);
        }),
      );
      const dispatches = gpu().dispatchCount - d0;
      const out = await y.toArray();
      y.dispose();
      return { out, dispatches };
    };
    const plain = await run();
    net.freezeForInference();
    expect(net.isFrozen).toBe(true);
    const first = await run(); // fills the cache
    const second = await run();
    const third = await run();
    expect(relError(first.out, plain.out)).toBeLessThan(1e-6);
    expect(relError(second.out, plain.out)).toBeLessThan(1e-6);
    expect(relError(third.out, plain.out)).toBeLessThan(1e-6);
    expect(second.dispatches).toBe(third.dispatches);
    expect(second.dispatches).toBeLessThan(plain.dispatches);
    console.log(`tiny DualStyleUNet noGrad forward: ${plain.dispatches} dispatches, frozen ${second.dispatches}`);

    // A forward with grad while frozen is refused (the cache would hide the parameters from autograd).
    expect(() => net.forward(Tensor.from(xa, [1, 3, S, S]))).toThrow(/frozen/);

    // A parameter write is not seen until the cache is rebuilt.
    const name = 'convs1.4.conv.modulation.weight';
    const changed = Float32Array.from(params.get(name)!, (v) => v * 1.5 + 0.1);
    gpu().upload(net.tensors.get(name)!.buffer, changed);
    const stale = await run();
    expect(relError(stale.out, plain.out)).toBeLessThan(1e-6);
    net.freezeForInference();
    const fresh = await run();
    net.unfreeze();
    expect(net.isFrozen).toBe(false);
    const unfrozen = await run();
    expect(relError(fresh.out, plain.out)).toBeGreaterThan(1e-4);
    expect(relError(fresh.out, unfrozen.out)).toBeLessThan(1e-6);
    net.dispose();
  });
});
