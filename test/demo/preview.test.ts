import { describe, expect, it } from 'vitest';
import { canoToLive } from '../../src/body/canonical.js';
import { lbsPoints } from '../../src/body/lbs.js';
import { buildSyntheticBody, syntheticSmplxModel } from '../../src/body/index.js';
import { mapSpacing, posedMapScene } from '../../src/demo/preview.js';
import type { CanonicalMaps } from '../../src/prep/maps.js';

/** A 4 x 8 combined map with four foreground pixels 1 cm apart in a row (and one on the next row). */
function tinyMaps(): CanonicalMaps {
  const size = 4;
  const position = new Float32Array(size * 2 * size * 3);
  const normal = new Float32Array(size * 2 * size * 3);
  const pixels = Uint32Array.from([0, 1, 2, 9]);
  for (const p of pixels) {
    const row = Math.floor(p / (2 * size)),
      col = p % (2 * size);
    position.set([0.01 * col, 0.9 - 0.01 * row, 0.1], 3 * p);
    normal.set([0, 0, 1], 3 * p);
  }
  const J = 55;
  const weights = new Float32Array(pixels.length * J);
  for (let i = 0; i < pixels.length; i++) {
    weights[i * J + 3] = 0.75; // spine1
    weights[i * J + 0] = 0.25; // pelvis
  }
  return { size, center: new Float64Array(3), position, normal, pixels, weights, numJoints: J };
}

describe('demo preview', () => {
  it('spacing of the map is the distance of adjacent foreground pixels', () => {
    expect(mapSpacing(tinyMaps())).toBeCloseTo(0.01, 7);
  });

  it('poses each map pixel with its weights, colours it by its normal, sizes it by the spacing', () => {
    const model = syntheticSmplxModel(buildSyntheticBody());
    const maps = tinyMaps();
    const frame = {
      globalOrient: [0, 0.4, 0],
      transl: [0.1, 0, -0.2],
      bodyPose: Float32Array.from({ length: 63 }, (_, k) => (k === 6 ? 0.3 : 0)),
    };
    const scene = posedMapScene(model, maps, frame);
    expect(scene.count).toBe(4);
    const canonical = Array.from(maps.pixels, (p) => Array.from(maps.position.subarray(3 * p, 3 * p + 3))).flat();
    const want = lbsPoints(canonical, maps.weights, canoToLive(model, frame).jointMats);
    for (let k = 0; k < want.length; k++) expect(scene.means[k]).toBeCloseTo(want[k]!, 6);
    expect(Array.from(scene.colors!).slice(0, 3)).toEqual([0.5, 0.5, 1]);
    expect(scene.scales[0]).toBeCloseTo(0.006, 6);
    expect(Array.from(scene.rotations).slice(0, 4)).toEqual([1, 0, 0, 0]);
  });
});
