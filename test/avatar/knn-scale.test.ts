import { describe, expect, it } from 'vitest';
import { initialScaleRaw, meanSquaredKnnDistance, MIN_SQUARED_DISTANCE } from '../../src/avatar/knn-scale.js';
import { seededRandom } from '../helpers/numeric.js';

function bruteForce(p: ArrayLike<number>): Float64Array {
  const n = p.length / 3;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      d.push(
        (p[3 * i]! - p[3 * j]!) ** 2 + (p[3 * i + 1]! - p[3 * j + 1]!) ** 2 + (p[3 * i + 2]! - p[3 * j + 2]!) ** 2,
      );
    }
    d.sort((a, b) => a - b);
    const k = Math.min(3, d.length);
    out[i] = Math.max(d.slice(0, k).reduce((a, b) => a + b, 0) / k, MIN_SQUARED_DISTANCE);
  }
  return out;
}

/** Points on a map-like surface (a wavy sheet and a sphere) plus scattered outliers and exact duplicates. */
function surfacePoints(n: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const p = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const u = rand();
    const v = rand();
    let x: number, y: number, z: number;
    if (i % 3 === 0) {
      [x, y, z] = [u * 2 - 1, v * 2 - 1, 0.1 * Math.sin(6 * u)];
    } else if (i % 3 === 1) {
      const th = Math.acos(2 * u - 1);
      const ph = 2 * Math.PI * v;
      [x, y, z] = [0.3 * Math.sin(th) * Math.cos(ph) + 0.5, 0.3 * Math.sin(th) * Math.sin(ph), 0.3 * Math.cos(th)];
    } else {
      [x, y, z] = [rand() * 4 - 2, rand() * 3 - 1, rand() * 2 - 1];
    }
    p.set([x, y, z], 3 * i);
  }
  p.copyWithin(3 * 7, 3 * 5, 3 * 6); // point 7 duplicates point 5
  return p;
}

describe('initial Gaussian scales from 3 nearest neighbours', () => {
  it('matches brute force on surface points, outliers and duplicates', () => {
    for (const [n, seed] of [
      [1237, 1],
      [301, 2],
    ] as const) {
      const p = surfacePoints(n, seed);
      const got = meanSquaredKnnDistance(p);
      const want = bruteForce(p);
      for (let i = 0; i < n; i++) expect(got[i], `point ${i}`).toBeCloseTo(want[i]!, 12);
      const raw = initialScaleRaw(p);
      expect(raw[3]).toBeCloseTo(Math.log(Math.sqrt(want[3]!)), 5);
      expect(raw[5]).toBeCloseTo(Math.log(Math.sqrt(want[5]!)), 5);
    }
  });

  it('handles tiny sets (fewer than 3 neighbours) and a flat set', () => {
    expect(Array.from(meanSquaredKnnDistance(new Float32Array([0, 0, 0, 3, 4, 0])))).toEqual([25, 25]);
    expect(meanSquaredKnnDistance(new Float32Array([1, 2, 3]))[0]).toBe(MIN_SQUARED_DISTANCE);
    const flat = Float32Array.from({ length: 3 * 50 }, (_, i) => (i % 3 === 2 ? 0.5 : ((i * 7919) % 101) / 101));
    const got = meanSquaredKnnDistance(flat);
    const want = bruteForce(flat);
    for (let i = 0; i < 50; i++) expect(got[i]).toBeCloseTo(want[i]!, 12);
  });

  it('takes well under a few seconds for 320k canonical map points', () => {
    // A 1024² front | back grid of a body-like blob at 1.953 mm per pixel, as the canonical maps sample it.
    const pts: number[] = [];
    const px = 2 / 1024;
    for (let r = 0; r < 1024 && pts.length < 3 * 320_000; r++)
      for (let c = 0; c < 2048; c++) {
        const side = c < 1024 ? 1 : -1;
        const x = ((c % 1024) - 512) * px;
        const y = (512 - r) * px;
        if ((x * x) / 0.16 + (y * y) / 0.8 > 1) continue;
        pts.push(x, y, side * 0.1 * Math.sqrt(Math.max(0, 1 - (x * x) / 0.16 - (y * y) / 0.8)));
      }
    const p = Float32Array.from(pts);
    const t0 = performance.now();
    const d2 = meanSquaredKnnDistance(p);
    const ms = performance.now() - t0;
    expect(p.length / 3).toBeGreaterThan(250_000);
    expect(ms).toBeLessThan(4000);
    // Interior points of a regular grid: nearest neighbours at one pixel (up to the relief).
    expect(Math.sqrt(d2[(p.length / 3) >> 1]!)).toBeGreaterThan(px * 0.99);
    expect(Math.sqrt(d2[(p.length / 3) >> 1]!)).toBeLessThan(px * 1.2);
  });
});
