import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor/index.js';
import { haarSkipUpsample } from '../../src/tensor/conv/ops.js';
import { blurKernel, haarSkipRef } from '../../src/tensor/reference/upfirdn.js';
import { upsampleSpec } from '../../src/tensor/conv/fir.js';
import { numericGrad, randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { runOp, toF64 } from '../helpers/gpu-op.js';

const TOL = 1e-4;

/** The float64 chain the kernel replaces (+ the residual a). */
function chainRef(n: number, c: number, h: number, w: number, s: Float64Array, a: Float64Array | null): Float64Array {
  const out = haarSkipRef(n, c, h, w, s);
  if (a) for (let i = 0; i < out.length; i++) out[i]! += a[i]!;
  return out;
}

describe('Haar skip upsample (the ToRGB skip in one kernel)', () => {
  it("the float64 chain uses the network's Upsample(2) (pad (2, 1), [1,3,3,1] FIR ×4)", () => {
    const spec = upsampleSpec(2);
    expect(spec.opts.pad).toEqual([2, 1]);
    expect(Array.from(spec.kernel)).toEqual(Array.from(blurKernel([1, 3, 3, 1], 2)));
  });

  it('matches the float64 chain haarDwt ∘ upfirdn2d(up 2) ∘ haarIwt, with and without the residual; gradients', async () => {
    const rand = seededRandom(31);
    for (const [n, c, h, w, withAdd] of [
      [1, 3, 5, 7, true],
      [2, 2, 4, 3, false],
      [1, 1, 1, 2, true],
    ] as const) {
      const s = randomF32(n * 4 * c * h * w, rand);
      const a = randomF32(n * 4 * c * 4 * h * w, rand);
      const gy = randomF32(a.length, rand);
      const ref = (xs: Float64Array[]) => chainRef(n, c, h, w, xs[0]!, withAdd ? xs[1]! : null);
      const out = await runOp(
        (x, r) => (withAdd ? haarSkipUpsample(x!, r!) : haarSkipUpsample(x!)),
        [
          { data: s, shape: [n, 4 * c, h, w], grad: true },
          { data: a, shape: [n, 4 * c, 2 * h, 2 * w], grad: withAdd },
        ],
        () => gy,
      );
      expect(out.shape).toEqual([n, 4 * c, 2 * h, 2 * w]);
      expect(relError(out.y, ref([toF64(s), toF64(a)]))).toBeLessThan(TOL);
      expect(relError(out.grads[0]!, numericGrad(ref, [s, a], gy, 0))).toBeLessThan(TOL);
      if (withAdd) expect(relError(out.grads[1]!, gy)).toBeLessThan(1e-7);
    }
  });

  it('names a wrong residual shape', async () => {
    await runOp(
      (x, r) => {
        expect(() => haarSkipUpsample(x!, r!)).toThrow(/residual/);
        return T.add(x!, x!);
      },
      [
        { data: new Float32Array(8), shape: [1, 4, 1, 2] },
        { data: new Float32Array(8), shape: [1, 4, 1, 2] },
      ],
      () => new Float32Array(8),
    );
  });
});
