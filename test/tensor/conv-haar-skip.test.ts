import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor/index.js';
import { haarSkipUpsample, upfirdn2dTail } from '../../src/tensor/conv/ops.js';
import { upfirdnGeometry } from '../../src/tensor/conv/upfirdn-geometry.js';
import { blurKernel, haarSkipRef, upfirdn2dRef } from '../../src/tensor/reference/upfirdn.js';
import { blurSpec, upsampleSpec } from '../../src/tensor/conv/fir.js';
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

describe('upfirdn2dTail (the upsampling StyledConv blur with noise, bias and leaky ReLU as its epilogue)', () => {
  it('tiled kernel matches the float64 blur + tail, shared and per-sample noise; all gradients', async () => {
    const rand = seededRandom(41);
    const fir = blurSpec([1, 1], [1, 3, 3, 1], 2);
    for (const [n, c, h, w, perSample, block] of [
      [2, 3, 9, 7, false, [2, 2]],
      [2, 2, 5, 6, true, [2, 2]],
      [1, 2, 6, 9, false, [4, 4]], // 8 outputs a row: the vec4 stores (the GPU default block)
    ] as const) {
      const g = upfirdnGeometry(n * c, h, w, fir.kh, fir.kw, fir.opts);
      const hw = g.ho * g.wo;
      const nn = perSample ? n : 1;
      const x = randomF32(n * c * h * w, rand);
      const noise = randomF32(nn * hw, rand);
      const strength = randomF32(1, rand);
      const bias = randomF32(c, rand);
      const gy = randomF32(n * c * hw, rand);
      const ref = (xs: Float64Array[]) => {
        const y = upfirdn2dRef(g, xs[0]!, Array.from(fir.kernel));
        return y.map((v, i) => {
          const b = Math.floor(i / (c * hw));
          const t = v + xs[2]![0]! * xs[1]![(perSample ? b * hw : 0) + (i % hw)]! + xs[3]![Math.floor(i / hw) % c]!;
          return (t > 0 ? t : 0.2 * t) * Math.SQRT2;
        });
      };
      const out = await runOp(
        (a, z, s, b) => upfirdn2dTail(a!, fir, z!, s!, b!, { path: 'tiled', block }),
        [
          { data: x, shape: [n, c, h, w], grad: true },
          { data: noise, shape: [nn, 1, g.ho, g.wo], grad: true },
          { data: strength, shape: [1], grad: true },
          { data: bias, shape: [c], grad: true },
        ],
        () => gy,
      );
      const xs = [x, noise, strength, bias];
      expect(out.shape).toEqual([n, c, g.ho, g.wo]);
      expect(relError(out.y, ref(xs.map(toF64)))).toBeLessThan(TOL);
      for (let k = 0; k < 4; k++) expect(relError(out.grads[k]!, numericGrad(ref, xs, gy, k))).toBeLessThan(TOL);
    }
  });
});
