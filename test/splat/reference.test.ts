import { describe, expect, it } from 'vitest';
import { referenceBackward, referenceForward, type SplatScene } from '../../src/splat/reference.js';
import { finiteDiffCheck, randomF32, seededRandom } from '../helpers/numeric.js';
import { makeCamera, randomScene } from './scenes.js';

function fdCheck(scene: SplatScene, width: number, height: number, bg: number[], seed: number) {
  const cam = makeCamera(width, height, { cx: width * 0.4, cy: height * 0.6 });
  const rand = seededRandom(seed);
  const hw = width * height;
  const gy = randomF32(5 * hw, rand);
  const fwd = (xs: Float64Array[]) => {
    const s: SplatScene = { ...scene, means: xs[0]!, scales: xs[1]!, rotations: xs[2]!, opacities: xs[3]! };
    if (scene.sh) s.sh = xs[4]!;
    else s.colors = xs[4]!;
    const r = referenceForward(s, cam, bg);
    const out = new Float64Array(5 * hw);
    out.set(r.color, 0);
    out.set(r.depth, 3 * hw);
    out.set(r.alpha, 4 * hw);
    return out;
  };
  const g = referenceBackward(scene, cam, bg, gy.subarray(0, 3 * hw), gy.subarray(3 * hw, 4 * hw), gy.subarray(4 * hw));
  const xs = [scene.means, scene.scales, scene.rotations, scene.opacities, scene.sh ?? scene.colors!];
  const grads = [g.means, g.scales, g.rotations, g.opacities, g.colors];
  // Each input separately so a failure names it.
  return grads.map((_, k) =>
    finiteDiffCheck(
      fwd,
      xs,
      gy,
      grads.map((gg, j) => (j === k ? gg : null)),
      rand,
      12,
      1e-6,
    ),
  );
}

describe('float64 reference rasterizer', () => {
  it('draws something plausible', () => {
    const scene = randomScene({ n: 30, seed: 1 });
    const r = referenceForward(scene, makeCamera(37, 29), [0.2, 0.3, 0.4]);
    const a = Math.max(...r.alpha);
    expect(a).toBeGreaterThan(0.3);
    expect(a).toBeLessThanOrEqual(1);
    expect(r.radii.filter((x) => x > 0).length).toBeGreaterThan(10);
  });

  it('backward matches finite differences (precomputed colours, background)', () => {
    const errs = fdCheck(randomScene({ n: 12, seed: 2, opacity: [0.2, 0.9] }), 23, 19, [0.3, 0.6, 0.1], 7);
    for (const e of errs) expect(e).toBeLessThan(1e-5);
  });

  it('backward matches finite differences (SH degree 3)', () => {
    const errs = fdCheck(randomScene({ n: 10, seed: 3, shDegree: 3 }), 21, 17, [0, 0, 0], 8);
    for (const e of errs) expect(e).toBeLessThan(1e-5);
  });
});
