/** Differentiable SSIM / D-SSIM against the float64 twin (direct 2-D window sums), odd sizes, gradients vs FD. */
import { describe, expect, it } from 'vitest';
import { dssimLoss, ssim } from '../../src/nn/ssim.js';
import { dssimLossRef, ssimRef } from '../../src/nn/ssim-reference.js';
import { runOp } from '../helpers/gpu-op.js';
import { finiteDiffCheck, randomAway, randomF32, seededRandom } from '../helpers/numeric.js';

const rand = seededRandom(5);

/** An image in [0, 1] and a perturbed copy (|difference| ≥ 0.02, away from L1's kink). */
function pair(n: number): [Float32Array, Float32Array] {
  const a = randomF32(n, rand, 0.1, 0.9);
  const d = randomAway(n, rand, 0.02, 0.1);
  return [a, Float32Array.from(a, (v, i) => v + d[i]!)];
}

describe('SSIM (11×11 Gaussian window, σ 1.5)', () => {
  for (const shape of [
    [2, 3, 13, 15],
    [1, 2, 7, 9], // smaller than the window
  ]) {
    it(`matches the float64 reference on [${shape}]`, async () => {
      const [a, b] = pair(shape.reduce((x, y) => x * y, 1));
      const [, c, h, w] = shape as [number, number, number, number];
      const planes = shape[0]! * c;
      const s = await runOp(
        (x, y) => ssim(x, y),
        [
          { data: a, shape },
          { data: b, shape },
        ],
      );
      expect(s.y[0]).toBeCloseTo(ssimRef(a, b, planes, h, w), 5);
      const same = await runOp((x) => ssim(x, x), [{ data: a, shape }]);
      expect(same.y[0]).toBeCloseTo(1, 5);
      const l = await runOp(
        (x, y) => dssimLoss(x, y),
        [
          { data: a, shape },
          { data: b, shape },
        ],
      );
      expect(l.y[0]).toBeCloseTo(dssimLossRef(a, b, planes, h, w), 5);
    });
  }

  it('gradients of SSIM and of L1 + 0.2·(1 − SSIM) match central differences, for both images', async () => {
    const shape = [1, 3, 13, 11]; // [C, H, W] input, as the trainer's images
    const [a, b] = pair(3 * 13 * 11);
    const cases = [
      { fn: ssim, ref: (xs: Float64Array[]) => [ssimRef(xs[0]!, xs[1]!, 3, 13, 11)] },
      { fn: dssimLoss, ref: (xs: Float64Array[]) => [dssimLossRef(xs[0]!, xs[1]!, 3, 13, 11)] },
    ];
    for (const { fn, ref } of cases) {
      const r = await runOp(
        (x, y) => fn(x, y),
        [
          { data: a, shape: shape.slice(1), grad: true },
          { data: b, shape: shape.slice(1), grad: true },
        ],
        () => Float32Array.of(1),
      );
      expect(r.shape).toEqual([]);
      expect(finiteDiffCheck(ref, [a, b], [1], r.grads, rand, 48)).toBeLessThan(1e-4);
    }
  });
});
