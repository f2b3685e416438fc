import { beforeAll, describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { encodePoints, encodingWidth, positionalEncoding } from '../../src/prep/template/sdf-net.js';
import { initEngine, scope } from '../../src/tensor/index.js';
import { Rng } from '../../src/prep/template/fit.js';

beforeAll(async () => {
  await initEngine(await getGpu());
});

describe('positional encoding', () => {
  it('on the GPU matches the float64 CPU reference at odd sizes', async () => {
    const rng = new Rng(7);
    const center = [0.013, -0.31, 0.27];
    for (const [N, multires] of [
      [1, 6],
      [7, 4],
      [1001, 6],
      [4099, 6],
      [333, 0],
    ] as const) {
      const pts = new Float64Array(3 * N);
      // canonical boxes are ~±1 m around the centre; a few points further out (arguments up to 2^5 · 3 m)
      for (let i = 0; i < pts.length; i++) pts[i] = center[i % 3]! + (rng.next() - 0.5) * (i % 17 === 0 ? 6 : 2);
      const ref = positionalEncoding(pts, center, multires);
      const got = await scope(() => encodePoints(pts, center, multires)).toArray();
      expect(got.length).toBe(N * encodingWidth(multires));
      let worst = 0;
      for (let i = 0; i < ref.length; i++) {
        worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
      }
      // xyz exactly; sin/cos of the same float32 argument within float32 rounding of the range reduction
      for (let n = 0; n < N; n++)
        for (let c = 0; c < 3; c++)
          expect(got[n * encodingWidth(multires) + c]).toBe(ref[n * encodingWidth(multires) + c]);
      expect(worst).toBeLessThan(2e-6);
    }
  });
});
