import { describe, expect, it } from 'vitest';
import type { Camera } from '../../src/data/camera.js';
import { coverage, silhouette, visibleLabels } from '../../src/prep/template/coverage.js';
import { extractIsosurface } from '../../src/prep/template/marching.js';

describe('template silhouette coverage', () => {
  it('fills a sphere into the disk it projects to', () => {
    const n = 25;
    const values = new Float64Array(n * n * n);
    const h = 2 / (n - 1);
    for (let x = 0; x < n; x++)
      for (let y = 0; y < n; y++)
        for (let z = 0; z < n; z++) values[(x * n + y) * n + z] = Math.hypot(-1 + x * h, -1 + y * h, -1 + z * h) - 0.5;
    const mesh = extractIsosurface({ dims: [n, n, n], origin: [-1, -1, -1], spacing: [h, h, h], values });
    // a camera 5 m in front of the sphere, looking at it along +z, f = 200 px
    const cam = {
      name: 'c',
      width: 101,
      height: 101,
      K: Float64Array.of(200, 0, 50, 0, 200, 50, 0, 0, 1),
      R: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1),
      T: Float64Array.of(0, 0, 5),
    } as unknown as Camera;
    const sil = silhouette(mesh.positions, mesh.faces, cam);
    // the silhouette of a sphere of radius r at distance d: a disk of radius f·r/√(d² − r²)
    const rad = (200 * 0.5) / Math.sqrt(25 - 0.25);
    const disk = new Uint8Array(101 * 101);
    for (let y = 0; y < 101; y++)
      for (let x = 0; x < 101; x++) disk[y * 101 + x] = Math.hypot(x - 50, y - 50) < rad ? 1 : 0;
    const c = coverage(sil, disk);
    expect(c.covered).toBeGreaterThan(0.97);
    expect(c.excess).toBeLessThan(0.03);
    const half = disk.map((v, i) => (v && i % 101 < 50 ? 1 : 0));
    expect(coverage(sil, half).covered).toBeGreaterThan(0.97);
    expect(coverage(sil, half).excess).toBeGreaterThan(0.45);
  });

  it('labels each pixel with its nearest triangle', () => {
    const cam = {
      name: 'c',
      width: 41,
      height: 41,
      K: Float64Array.of(100, 0, 20, 0, 100, 20, 0, 0, 1),
      R: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1),
      T: Float64Array.of(0, 0, 0),
    } as unknown as Camera;
    // squares (two triangles each) at depth z spanning ±h metres; pixel edges kept off the pixel centres
    const square = (h: number, z: number) => [-h, -h, z, h, -h, z, h, h, z, -h, -h, z, h, h, z, -h, h, z];
    const far = { tris: square(0.61, 4), label: 1 }; // ±15.25 px around the centre
    const near = { tris: square(0.105, 2), label: 2 }; // ±5.25 px, in front
    for (const parts of [
      [far, near],
      [near, far],
    ]) {
      const positions = parts.flatMap((p) => p.tris);
      const faces = Array.from({ length: positions.length / 3 }, (_, i) => i);
      const labels = parts.flatMap((p) => [p.label, p.label]);
      const out = visibleLabels(positions, faces, labels, cam);
      expect(out[20 * 41 + 20]).toBe(2); // the centre: the near square
      expect(out[20 * 41 + 24]).toBe(2);
      expect(out[20 * 41 + 27]).toBe(1); // outside the near square, inside the far one
      expect(out[10 * 41 + 10]).toBe(1);
      expect(out[2 * 41 + 2]).toBe(-1); // outside both
      const count = (k: number) => out.reduce((n, v) => n + (v === k ? 1 : 0), 0);
      expect(count(2)).toBe(11 * 11);
      expect(count(2) + count(1)).toBe(31 * 31);
    }
  });
});
