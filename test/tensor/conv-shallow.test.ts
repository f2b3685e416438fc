/**
 * Convs with a shallow reduction (shallow.ts: Cin·kh·kw ≤ 32, one f32 pass) against the float64 reference on odd
 * shapes, strides and paddings, with and without the fused epilogue and a folded weight scale, and their routing on
 * the tc2 paths.
 */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { epilogueRef } from '../../src/tensor/conv/epilogue.js';
import { conv2dGeometry } from '../../src/tensor/conv/geometry.js';
import { conv2dShallowRaw, shallowApplies } from '../../src/tensor/conv/shallow.js';
import { conv2dRef } from '../../src/tensor/reference/conv.js';
import { randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import { expectTc2ForwardInF32, withBuffers } from '../helpers/raw-buffers.js';
import { FULL_SWEEP, sweep } from '../helpers/sweep.js';

describe('conv with Cin·kh·kw ≤ 32 (from the pose map)', () => {
  it('matches the float64 reference: 3×3 / 1×1 / 4×4, strides, padding, Cout not a multiple of 16, epilogue, weight scale', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(43);
    // Lavapipe compiles these kernels slowly (a fully unrolled gather and 16 guarded stores: 20–45 s for K = 27–32
    // with the epilogue), so npm test runs small reductions: 2×2 taps of 2 channels (two channel offsets, stride,
    // padding, two groups of 16 output channels, the second partial, every epilogue term, a weight scale), and the
    // plain 1×1 conv the tc2 routing test below runs (the same kernel).
    const cases = [
      { n: 2, cin: 2, cout: 17, h: 9, w: 8, k: 2, o: { stride: 2, padding: 1 }, epi: true, bias: true, scale: 2 },
      { n: 1, cin: 3, cout: 6, h: 9, w: 8, k: 1, o: {}, epi: false, bias: false, scale: 1 },
      { n: 1, cin: 3, cout: 37, h: 41, w: 39, k: 3, o: { stride: 2 }, epi: true, bias: true, scale: 0.19 },
      { n: 2, cin: 3, cout: 16, h: 23, w: 29, k: 3, o: { padding: 1 }, epi: false, bias: true, scale: 1 },
      { n: 1, cin: 3, cout: 50, h: 17, w: 19, k: 1, o: {}, epi: true, bias: true, scale: 1 },
      { n: 2, cin: 2, cout: 5, h: 21, w: 18, k: 4, o: { stride: 2, padding: 1 }, epi: true, bias: true, scale: 2 },
      { n: 1, cin: 1, cout: 33, h: 9, w: 300, k: 3, o: { padding: 2 }, epi: false, bias: true, scale: 1 },
    ];
    for (const c of sweep(cases, [0, 1])) {
      const g = conv2dGeometry([c.n, c.cin, c.h, c.w], [c.cout, c.cin, c.k, c.k], c.o);
      expect(shallowApplies(g)).toBe(true);
      const hw = g.ho * g.wo;
      const x = randomF32(c.n * c.cin * c.h * c.w, rand);
      const w = randomF32(c.cout * c.cin * c.k * c.k, rand);
      const bias = randomF32(c.cout, rand);
      const demod = randomF32(c.n * c.cout, rand);
      const noise = randomF32(hw, rand);
      const strength = randomF32(1, rand);
      const residual = randomF32(c.n * c.cout * hw, rand); // added last where the epilogue runs
      const ws = w.map((v) => Math.fround(v * c.scale));
      const yRef = epilogueRef(conv2dRef(g, x, ws), c.n, c.cout, hw, {
        bias: c.bias ? bias : null,
        ...(c.epi ? { demod, noise: { noise, strength: strength[0]! }, lrelu: true, residual } : {}),
      });
      await withBuffers(gpu, async (up, out) => {
        const y = out(yRef.length);
        const epilogue = c.epi
          ? {
              demod: up(demod),
              noise: { noise: up(noise), strength: up(strength) },
              lrelu: true,
              residual: up(residual),
            }
          : {};
        conv2dShallowRaw(gpu, g, up(x), up(w), c.bias ? up(bias) : null, y, { epilogue, weightScale: c.scale });
        expect(relError(await gpu.readF32(y, yRef.length), yRef), JSON.stringify(c)).toBeLessThan(2e-6);
      });
    }
  });

  it('is what the tc2 paths run forward for such convs (f32: exact where the tensor cores would round to f16)', async () => {
    // the second case above (its kernel); the full sweep also runs the network's first conv, 3×3/2 from 3 channels
    await expectTc2ForwardInF32(await getGpu(), conv2dGeometry([1, 3, 9, 8], [6, 3, 1, 1], {}), 44);
    if (FULL_SWEEP)
      await expectTc2ForwardInF32(await getGpu(), conv2dGeometry([1, 3, 33, 35], [40, 3, 3, 3], { stride: 2 }), 44);
    expect(shallowApplies(conv2dGeometry([1, 4, 8, 8], [8, 4, 3, 3], { padding: 1 }))).toBe(false); // K = 36
    expect(shallowApplies(conv2dGeometry([1, 32, 8, 8], [8, 32, 1, 1], {}))).toBe(true); // K = 32
  });
});
