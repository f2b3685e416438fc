import { describe, expect, it } from 'vitest';
import { keepBody, meshComponents } from '../../src/prep/template/components.js';
import { extractIsosurface, meshDefects, meshVolume } from '../../src/prep/template/marching.js';

/** A body (r 0.35) with a bubble inside it (r 0.1) and a separate ball (a floater, or a piece to keep). */
function scene(floaterR: number) {
  const n = 81;
  const s = 0.02;
  const values = new Float64Array(n * n * n);
  for (let x = 0; x < n; x++)
    for (let y = 0; y < n; y++)
      for (let z = 0; z < n; z++) {
        const p = [x * s - 0.8, y * s - 0.8, z * s - 0.8];
        const body = Math.hypot(p[0]! + 0.2, p[1]!, p[2]!) - 0.35;
        const bubble = 0.1 - Math.hypot(p[0]! + 0.2, p[1]!, p[2]!);
        const floater = Math.hypot(p[0]! - 0.5, p[1]! - 0.3, p[2]!) - floaterR;
        values[(x * n + y) * n + z] = Math.min(Math.max(body, bubble), floater);
      }
  return extractIsosurface({ dims: [n, n, n], origin: [-0.8, -0.8, -0.8], spacing: [s, s, s], values });
}

describe('the template mesh clean-up', () => {
  it('labels the pieces with their volumes (a cavity negative)', () => {
    const mesh = scene(0.07);
    const { labels, components } = meshComponents(mesh.positions, mesh.faces);
    expect(components).toHaveLength(3);
    expect(labels.length).toBe(mesh.positions.length / 3);
    const vols = components.map((c) => c.volume).sort((a, b) => a - b);
    const ball = (r: number) => (4 / 3) * Math.PI * r ** 3;
    // a 2-cm grid: the small balls' volumes within 15 %
    expect(Math.abs(vols[0]! / -ball(0.1) - 1)).toBeLessThan(0.15);
    expect(Math.abs(vols[1]! / ball(0.07) - 1)).toBeLessThan(0.15);
    expect(Math.abs(vols[2]! / ball(0.35) - 1)).toBeLessThan(0.03);
    expect(components.reduce((a, c) => a + c.faces, 0)).toBe(mesh.faces.length / 3);
    expect(components.reduce((a, c) => a + c.vertices, 0)).toBe(mesh.positions.length / 3);
  });

  it('keeps the body, drops the cavity and a small floater, keeps a piece above the share', () => {
    const mesh = scene(0.07); // the floater holds 0.8% of the body's volume
    const { mesh: out, stats } = keepBody(mesh);
    expect(stats).toMatchObject({ components: 3, kept: 1 });
    expect(meshDefects(out.faces)).toEqual({ openEdges: 0, flippedEdges: 0 });
    expect(meshVolume(out.positions, out.faces)).toBeCloseTo(stats.keptVolume, 12);
    expect(stats.keptVolume / ((4 / 3) * Math.PI * 0.35 ** 3)).toBeCloseTo(1, 1);
    expect(out.normals!.length).toBe(out.positions.length);
    // every kept vertex is the body's: on the sphere of radius 0.35 around (-0.2, 0, 0), within a grid cell
    for (let i = 0; i < out.positions.length; i += 3) {
      const r = Math.hypot(out.positions[i]! + 0.2, out.positions[i + 1]!, out.positions[i + 2]!);
      expect(Math.abs(r - 0.35)).toBeLessThan(0.02);
    }
    const big = keepBody(scene(0.12)); // 4% of the body's volume: a piece of it (a hand, say), kept
    expect(big.stats).toMatchObject({ components: 3, kept: 2 });
  });
});
