import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { canonicalMaps, foregroundPixels, gaussianPositions, type CanonicalMesh } from '../../src/prep/maps.js';
import { uvSphere } from './shapes.js';

/** A box with separate vertices per face (so vertex normals are face normals). */
function box(c: number[], h: number[]): CanonicalMesh {
  const pos: number[] = [];
  const faces: number[] = [];
  for (let axis = 0; axis < 3; axis++) {
    for (const s of [1, -1]) {
      const u = (axis + 1) % 3,
        v = (axis + 2) % 3;
      const base = pos.length / 3;
      for (const [a, b] of [
        [-1, -1],
        [1, -1],
        [1, 1],
        [-1, 1],
      ]) {
        const p = [0, 0, 0];
        p[axis] = c[axis]! + s * h[axis]!;
        p[u] = c[u]! + a! * h[u]!;
        p[v] = c[v]! + b! * h[v]!;
        pos.push(...p);
      }
      // (u, v, axis) is right-handed, so the quad is counter-clockwise seen from +axis; flip for −axis
      if (s > 0) faces.push(base, base + 1, base + 2, base, base + 2, base + 3);
      else faces.push(base, base + 2, base + 1, base, base + 3, base + 2);
    }
  }
  return { positions: Float64Array.from(pos), faces: Uint32Array.from(faces) };
}

describe('canonical maps (WebGPU rasterizer)', () => {
  const S = 64;
  const px = (i: number) => -1 + ((i + 0.5) * 2) / S; // pixel centre offset from the map centre

  it('sphere: positions on the sphere at the pixel centres, radial normals, front max z / back min z', async () => {
    const gpu = await getGpu();
    const c = [0.1, 0.2, 0.05];
    const r = 0.7;
    const mesh = uvSphere(c, r, 24, 32);
    // linear per-vertex "weights" (3 joints): barycentric interpolation must reproduce them at the pixel point
    const V = mesh.positions.length / 3;
    const w = new Float64Array(V * 3);
    for (let v = 0; v < V; v++) {
      const x = mesh.positions[v * 3]!,
        z = mesh.positions[v * 3 + 2]!;
      w[v * 3] = 0.4 + 0.2 * x;
      w[v * 3 + 1] = 0.3 - 0.1 * z;
      w[v * 3 + 2] = 1 - w[v * 3]! - w[v * 3 + 1]!;
    }
    mesh.weights = w;
    mesh.numJoints = 3;
    const maps = await canonicalMaps(gpu, mesh, { size: S });
    for (let k = 0; k < 3; k++) expect(maps.center[k]).toBeCloseTo(c[k]!, 9); // AABB centre of the mesh
    const W = 2 * S;
    const N = maps.pixels.length;
    expect(N).toBeGreaterThan(0.9 * 2 * Math.PI * ((r * S) / 2) ** 2);
    expect(foregroundPixels(maps.position)).toEqual(maps.pixels);
    const cosStep = Math.cos(Math.PI / 24) * Math.cos(Math.PI / 32);
    const pts = gaussianPositions(maps);
    let errXY = 0,
      errW = 0,
      minLen = Infinity,
      maxLen = 0,
      minRadial = 1,
      errUnit = 0,
      wrongSide = 0;
    for (let i = 0; i < N; i++) {
      const p = maps.pixels[i]!;
      const y = Math.floor(p / W),
        x = p % W;
      const front = x < S;
      const P = [pts[i * 3]!, pts[i * 3 + 1]!, pts[i * 3 + 2]!];
      // x, y are exactly the pixel centre (same mapping front and back)
      errXY = Math.max(errXY, Math.abs(P[0]! - c[0]! - px(x % S)), Math.abs(c[1]! - P[1]! - px(y)));
      const d = [P[0]! - c[0]!, P[1]! - c[1]!, P[2]! - c[2]!];
      const len = Math.hypot(...d);
      minLen = Math.min(minLen, len);
      maxLen = Math.max(maxLen, len);
      if (front ? d[2]! < -1e-6 : d[2]! > 1e-6) wrongSide++;
      const n = [maps.normal[p * 3]!, maps.normal[p * 3 + 1]!, maps.normal[p * 3 + 2]!];
      errUnit = Math.max(errUnit, Math.abs(Math.hypot(...n) - 1));
      minRadial = Math.min(minRadial, (n[0]! * d[0]! + n[1]! * d[1]! + n[2]! * d[2]!) / len);
      const wi = maps.weights.subarray(i * 3, i * 3 + 3);
      errW = Math.max(errW, Math.abs(wi[0]! - (0.4 + 0.2 * P[0]!)), Math.abs(wi[1]! - (0.3 - 0.1 * P[2]!)));
    }
    expect(errXY).toBeLessThan(1e-5);
    expect(maxLen).toBeLessThanOrEqual(r + 1e-5);
    expect(minLen).toBeGreaterThanOrEqual(r * cosStep - 1e-5);
    expect(wrongSide).toBe(0);
    expect(errUnit).toBeLessThan(1e-5);
    expect(minRadial).toBeGreaterThan(0.98);
    expect(errW).toBeLessThan(1e-5);
    // coverage: pixel centres well inside the silhouette are foreground on both sides, far outside are not
    const fgSet = new Set(maps.pixels);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const rr = Math.hypot(px(x), px(y));
        for (const off of [0, S]) {
          const fg = fgSet.has(y * W + x + off);
          if (rr < r * cosStep - 0.01) expect(fg).toBe(true);
          if (rr > r + 0.01) expect(fg).toBe(false);
        }
      }
    }
  });

  it('box: flat faces at z = ±h_z with axis normals, exact silhouette, off-centre map', async () => {
    const gpu = await getGpu();
    const c = [0.05, -0.1, 0.3];
    const h = [0.5, 0.3, 0.2];
    const mapCenter = [0, 0, 0.1];
    const maps = await canonicalMaps(gpu, box(c, h), { size: S, center: mapCenter });
    const W = 2 * S;
    let count = 0;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < W; x++) {
        const X = mapCenter[0]! + px(x % S),
          Y = mapCenter[1]! - px(y);
        const inside = Math.abs(X - c[0]!) < h[0]! - 1e-4 && Math.abs(Y - c[1]!) < h[1]! - 1e-4;
        const outside = Math.abs(X - c[0]!) > h[0]! + 1e-4 || Math.abs(Y - c[1]!) > h[1]! + 1e-4;
        const o = (y * W + x) * 3;
        const fg = maps.position[o] !== 0 || maps.position[o + 1] !== 0 || maps.position[o + 2] !== 0;
        if (outside) expect(fg).toBe(false);
        if (!inside) continue;
        count++;
        expect(fg).toBe(true);
        const front = x < S;
        expect(maps.position[o]).toBeCloseTo(X, 5);
        expect(maps.position[o + 1]).toBeCloseTo(Y, 5);
        expect(maps.position[o + 2]).toBeCloseTo(c[2]! + (front ? h[2]! : -h[2]!), 5);
        expect(Array.from(maps.normal.subarray(o, o + 3))).toEqual([0, 0, front ? 1 : -1]);
      }
    }
    expect(count).toBeGreaterThan(100);
  });
});
