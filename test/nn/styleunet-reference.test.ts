import { describe, expect, it } from 'vitest';
import { initStyleUnetParams } from '../../src/nn/styleunet/init.js';
import { styleUnetForwardRef } from '../../src/nn/styleunet/reference.js';
import { styleUnetSpec } from '../../src/nn/styleunet/spec.js';
import { TINY } from './tiny-unet.js';

describe('DualStyleUNet float64 reference', () => {
  it('maps [1, 3, S, S] to [1, 2·outCh, 2S, 2S] deterministically', () => {
    const spec = styleUnetSpec(TINY);
    const params = initStyleUnetParams(spec, 7);
    const x = {
      data: Float64Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.37)),
      n: 1,
      c: 3,
      h: 64,
      w: 64,
    };
    const y = styleUnetForwardRef(TINY, params, x);
    expect([y.n, y.c, y.h, y.w]).toEqual([1, 4, 128, 128]);
    expect(y.data.every(Number.isFinite)).toBe(true);
    const y2 = styleUnetForwardRef(TINY, params, x);
    expect(y2.data).toEqual(y.data);
    // Front and back decoders have independent weights: their outputs differ.
    const half = 2 * 128 * 128;
    expect(y.data.subarray(0, half)).not.toEqual(y.data.subarray(half));
  });
});
