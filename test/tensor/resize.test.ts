import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor/index.js';
import { axisTaps, resizeRef, type ResizeMode } from '../../src/tensor/reference/resize.js';
import { numericGrad, randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { runOp, toF64 } from '../helpers/gpu-op.js';

describe('interpolate (PyTorch semantics)', () => {
  it('matches known PyTorch values', async () => {
    const up = await runOp((t) => T.resizeBilinear(t!, [1, 4]), [{ data: [1, 2], shape: [1, 1, 1, 2] }]);
    expect(Array.from(up.y)).toEqual([1, 1.25, 1.75, 2]);
    const down = await runOp((t) => T.resizeBilinear(t!, [1, 2]), [{ data: [1, 2, 4, 8], shape: [1, 1, 1, 4] }]);
    expect(Array.from(down.y)).toEqual([1.5, 6]);
    const nn = await runOp((t) => T.resizeNearest(t!, [1, 4]), [{ data: [1, 2], shape: [1, 1, 1, 2] }]);
    expect(Array.from(nn.y)).toEqual([1, 1, 2, 2]);
    const nd = await runOp((t) => T.resizeNearest(t!, [1, 2]), [{ data: [1, 2, 4, 8], shape: [1, 1, 1, 4] }]);
    expect(Array.from(nd.y)).toEqual([1, 4]);
    // scale_factor uses 1/s as the coordinate scale: 7 → floor(3.5) = 3 with scale 2 (not 7/3)
    expect(axisTaps(7, 3, 'bilinear', 2).idx).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it('up, down and odd sizes, both modes, with gradients', async () => {
    const rand = seededRandom(51);
    const cases: [number, number, number, number, [number, number] | null, number | null][] = [
      [2, 3, 5, 7, [11, 13], null],
      [1, 2, 9, 8, [4, 3], null],
      [1, 3, 6, 5, null, 2],
      [2, 1, 8, 9, null, 0.5],
      [1, 2, 7, 7, [7, 7], null],
    ];
    for (const [N, C, H, W, size, sf] of cases) {
      for (const mode of ['bilinear', 'nearest'] as ResizeMode[]) {
        const Ho = size ? size[0] : Math.floor(H * sf!);
        const Wo = size ? size[1] : Math.floor(W * sf!);
        const ty = axisTaps(H, Ho, mode, size ? H / Ho : 1 / sf!);
        const tx = axisTaps(W, Wo, mode, size ? W / Wo : 1 / sf!);
        const x = randomF32(N * C * H * W, rand);
        const gy = randomF32(N * C * Ho * Wo, rand);
        const f = (v: Float64Array[]) => resizeRef(v[0]!, N * C, H, W, ty, tx);
        const out = await runOp(
          (t) => T.interpolate(t!, size ? { size, mode } : { scaleFactor: sf!, mode }),
          [{ data: x, shape: [N, C, H, W], grad: true }],
          () => gy,
        );
        expect(out.shape).toEqual([N, C, Ho, Wo]);
        expect(relError(out.y, f([toF64(x)]))).toBeLessThan(1e-6);
        expect(relError(out.grads[0]!, numericGrad(f, [x], gy, 0))).toBeLessThan(1e-4);
      }
    }
  });
});
