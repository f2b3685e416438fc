import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePlyMesh } from '../../src/prep/template.js';
import { extractIsosurface, meshDefects, meshVolume, type SdfGrid } from '../../src/prep/template/marching.js';
import { writeTemplatePly } from '../../src/prep/template/template-mesh.js';

function sphereGrid(n: number, r: number, c: [number, number, number]): SdfGrid {
  const values = new Float64Array(n * n * n);
  const h = 2 / (n - 1);
  for (let x = 0; x < n; x++)
    for (let y = 0; y < n; y++)
      for (let z = 0; z < n; z++) {
        const p = [-1 + x * h - c[0], -1 + y * h - c[1], -1 + z * h - c[2]];
        values[(x * n + y) * n + z] = Math.hypot(p[0]!, p[1]!, p[2]!) - r;
      }
  return { dims: [n, n, n], origin: [-1, -1, -1], spacing: [h, h, h], values };
}

describe('marching cubes (six tetrahedra per cube)', () => {
  it('gives a closed, outward-oriented sphere of the right volume with radial normals', () => {
    const r = 0.63;
    const c: [number, number, number] = [0.05, -0.1, 0.02];
    const mesh = extractIsosurface(sphereGrid(33, r, c));
    const F = mesh.faces.length / 3;
    expect(F).toBeGreaterThan(1000);
    expect(meshDefects(mesh.faces)).toEqual({ openEdges: 0, flippedEdges: 0 });
    // Euler characteristic of a sphere: V - E + F = 2 (E = 3F/2 on a closed triangle mesh)
    const V = mesh.positions.length / 3;
    expect(V - (3 * F) / 2 + F).toBe(2);
    const exact = (4 / 3) * Math.PI * r ** 3;
    const vol = meshVolume(mesh.positions, mesh.faces);
    expect(Math.abs(vol - exact) / exact).toBeLessThan(0.01);
    let worstR = 0;
    let worstN = 1;
    for (let i = 0; i < V; i++) {
      const d = [0, 1, 2].map((k) => mesh.positions[3 * i + k]! - c[k]!);
      const l = Math.hypot(d[0]!, d[1]!, d[2]!);
      worstR = Math.max(worstR, Math.abs(l - r));
      const dot =
        (d[0]! * mesh.normals[3 * i]! + d[1]! * mesh.normals[3 * i + 1]! + d[2]! * mesh.normals[3 * i + 2]!) / l;
      worstN = Math.min(worstN, dot);
    }
    expect(worstR).toBeLessThan(0.01);
    expect(worstN).toBeGreaterThan(0.99);
  });

  it('handles two separate blobs, a non-cubic grid and an empty grid', () => {
    const [nx, ny, nz] = [30, 21, 17];
    const values = new Float64Array(nx * ny * nz);
    const s = 0.05;
    for (let x = 0; x < nx; x++)
      for (let y = 0; y < ny; y++)
        for (let z = 0; z < nz; z++) {
          const p = [x * s, y * s, z * s];
          const a = Math.hypot(p[0]! - 0.35, p[1]! - 0.5, p[2]! - 0.4) - 0.2;
          const b = Math.hypot(p[0]! - 1.1, p[1]! - 0.5, p[2]! - 0.4) - 0.25;
          values[(x * ny + y) * nz + z] = Math.min(a, b);
        }
    const mesh = extractIsosurface({ dims: [nx, ny, nz], origin: [0, 0, 0], spacing: [s, s, s], values });
    expect(meshDefects(mesh.faces)).toEqual({ openEdges: 0, flippedEdges: 0 });
    const V = mesh.positions.length / 3;
    const F = mesh.faces.length / 3;
    expect(V - (3 * F) / 2 + F).toBe(4); // two spheres
    const exact = (4 / 3) * Math.PI * (0.2 ** 3 + 0.25 ** 3);
    expect(Math.abs(meshVolume(mesh.positions, mesh.faces) - exact) / exact).toBeLessThan(0.03);
    const empty = extractIsosurface({
      dims: [4, 4, 4],
      origin: [0, 0, 0],
      spacing: [1, 1, 1],
      values: new Float64Array(64).fill(1),
    });
    expect(empty.faces.length).toBe(0);
  });

  it('writes template.ply with normals that reads back', () => {
    const mesh = extractIsosurface(sphereGrid(17, 0.5, [0, 0, 0]));
    const dir = mkdtempSync(join(tmpdir(), 'animgs-mc-'));
    const path = join(dir, 'template.ply');
    writeTemplatePly(path, mesh);
    const text = new TextDecoder('latin1').decode(readFileSync(path).subarray(0, 400));
    expect(text).toContain('property float nx');
    const back = decodePlyMesh(readFileSync(path), path);
    expect(back.faces).toEqual(mesh.faces);
    for (let i = 0; i < back.positions.length; i++) expect(back.positions[i]!).toBeCloseTo(mesh.positions[i]!, 5);
  });
});
