/**
 * The ToRGB-shaped 1×1 conv (narrow1x1.ts: few output channels, one f32 pass) against the float64 reference on odd
 * shapes, with and without the fused epilogue and a folded weight scale, and its routing on the tc2 paths.
 */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { epilogueRef } from '../../src/tensor/conv/epilogue.js';
import { conv2dGeometry } from '../../src/tensor/conv/geometry.js';
import { conv1x1NarrowRaw, narrow1x1Applies } from '../../src/tensor/conv/narrow1x1.js';
import { conv2dRef } from '../../src/tensor/reference/conv.js';
import { randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import { expectTc2ForwardInF32, withBuffers } from '../helpers/raw-buffers.js';

describe('1×1 conv to few channels (ToRGB)', () => {
  it('matches the float64 reference: Cout 3 / 12 / 13 / 16, bias, demodulation, per-sample noise, lrelu, weight scale', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(41);
    const cases = [
      // no bias: the kernel the tc2 routing test below runs
      { n: 1, cin: 64, cout: 12, h: 129, w: 131, epi: false, bias: false, scale: 1 },
      { n: 2, cin: 5, cout: 3, h: 97, w: 89, epi: true, bias: true, scale: 0.37 },
      { n: 2, cin: 37, cout: 13, h: 91, w: 93, epi: true, bias: true, scale: 1 },
      { n: 1, cin: 3, cout: 16, h: 300, w: 55, epi: false, bias: true, scale: 2 },
      // 18 KiB of weights: over WebGPU's default
      { n: 1, cin: 384, cout: 12, h: 128, w: 129, epi: true, bias: true, scale: 1 },
    ];
    for (const c of cases) {
      const g = conv2dGeometry([c.n, c.cin, c.h, c.w], [c.cout, c.cin, 1, 1], {});
      expect(narrow1x1Applies(g, gpu.limits.maxComputeWorkgroupStorageSize)).toBe(true);
      const hw = c.h * c.w;
      const x = randomF32(c.n * c.cin * hw, rand);
      const w = randomF32(c.cout * c.cin, rand);
      const bias = randomF32(c.cout, rand);
      const demod = randomF32(c.n * c.cout, rand);
      const noise = randomF32(c.n * hw, rand);
      const strength = randomF32(1, rand);
      const ws = w.map((v) => Math.fround(v * c.scale));
      const yRef = epilogueRef(conv2dRef(g, x, ws), c.n, c.cout, hw, {
        bias: c.bias ? bias : null,
        ...(c.epi ? { demod, noise: { noise, strength: strength[0]!, perSample: true }, lrelu: true } : {}),
      });
      await withBuffers(gpu, async (up, out) => {
        const y = out(yRef.length);
        const epilogue = c.epi
          ? { demod: up(demod), noise: { noise: up(noise), strength: up(strength), perSample: true }, lrelu: true }
          : {};
        conv1x1NarrowRaw(gpu, g, up(x), up(w), c.bias ? up(bias) : null, y, { epilogue, weightScale: c.scale });
        expect(relError(await gpu.readF32(y, yRef.length), yRef), JSON.stringify(c)).toBeLessThan(2e-6);
      });
    }
  });

  it('is what the tc2 paths run for such convs (f32: exact where the tensor cores would round to f16)', async () => {
    await expectTc2ForwardInF32(await getGpu(), conv2dGeometry([1, 64, 129, 131], [12, 64, 1, 1], {}), 42);
    const applies = (x: number[], w: number[], bytes?: number) =>
      narrow1x1Applies(conv2dGeometry(x as never, w as never, {}), bytes);
    expect(applies([1, 20, 128, 128], [17, 20, 1, 1])).toBe(false); // Cout > 16
    expect(applies([1, 20, 64, 128], [12, 20, 1, 1])).toBe(false); // < 128² pixels
    expect(applies([2, 20, 64, 128], [12, 20, 1, 1])).toBe(true); // the batch counts
    expect(applies([1, 512, 128, 128], [12, 512, 1, 1])).toBe(false); // 24 KiB of weights > 16 KiB
    expect(applies([1, 512, 128, 128], [12, 512, 1, 1], 32768)).toBe(true);
    expect(narrow1x1Applies(conv2dGeometry([1, 20, 6, 7], [12, 20, 3, 3], { padding: 1 }))).toBe(false);
  });
});
