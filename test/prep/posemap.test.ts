import { describe, expect, it } from 'vitest';
import { lbsPoints } from '../../src/body/lbs.js';
import { rodrigues } from '../../src/body/rotation.js';
import { getGpu } from '../../src/gpu/index.js';
import { canonicalMaps } from '../../src/prep/maps.js';
import { frontHalf, PoseMapGpu, poseMapSampler, posedPositionMapCpu } from '../../src/prep/posemap.js';
import { uvSphere } from './shapes.js';

describe('posed position maps', () => {
  it('skin the even pixels with their weights, as the body module LBS does (CPU reference and GPU kernel)', async () => {
    const gpu = await getGpu();
    const J = 55;
    const mesh = uvSphere([0, 0.1, 0], 0.6, 12, 16);
    const V = mesh.positions.length / 3;
    const w = new Float64Array(V * J);
    for (let v = 0; v < V; v++) {
      // 3 nonzero weights per vertex, varying smoothly
      const a = v % J,
        b = (v * 7 + 3) % J,
        c = (v * 13 + 5) % J;
      w[v * J + a] += 0.5;
      w[v * J + b] += 0.3;
      w[v * J + c] += 0.2;
    }
    mesh.weights = w;
    mesh.numJoints = J;
    const S = 32;
    const maps = await canonicalMaps(gpu, mesh, { size: S });
    const mats = new Float64Array(J * 16);
    for (let j = 0; j < J; j++) {
      const R = rodrigues(0.1 * Math.sin(j), 0.2 * Math.cos(j), 0.05 * j);
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) mats[j * 16 + 4 * r + c] = R[3 * r + c]!;
        mats[j * 16 + 4 * r + 3] = 0.01 * (j + r);
      }
      mats[j * 16 + 15] = 1;
    }
    const s = poseMapSampler(maps);
    const cpu = posedPositionMapCpu(s, mats);
    // reference: every foreground pixel skinned with lbsPoints, then the even pixels
    const W = 2 * S;
    const N = maps.pixels.length;
    const pts = new Float64Array(N * 3);
    for (let i = 0; i < N; i++) for (let k = 0; k < 3; k++) pts[i * 3 + k] = maps.position[maps.pixels[i]! * 3 + k]!;
    const skinned = lbsPoints(pts, Float64Array.from(maps.weights), mats);
    const full = new Float64Array(S * W * 3);
    for (let i = 0; i < N; i++) for (let k = 0; k < 3; k++) full[maps.pixels[i]! * 3 + k] = skinned[i * 3 + k]!;
    let fg = 0;
    for (let y = 0; y < S / 2; y++) {
      for (let x = 0; x < S; x++) {
        for (let k = 0; k < 3; k++) {
          const want = full[(2 * y * W + 2 * x) * 3 + k]!;
          expect(cpu[(y * S + x) * 3 + k]).toBeCloseTo(want, 5);
        }
        if (cpu[(y * S + x) * 3] !== 0) fg++;
      }
    }
    expect(fg).toBeGreaterThan(50);
    const pm = new PoseMapGpu(gpu, s);
    const g = await pm.compute(mats);
    pm.dispose();
    let maxErr = 0;
    for (let i = 0; i < g.length; i++) maxErr = Math.max(maxErr, Math.abs(g[i]! - cpu[i]!));
    expect(maxErr).toBeLessThan(1e-5);
    const front = frontHalf(cpu, S);
    expect(front.length).toBe((S / 2) * (S / 2) * 3);
    expect(front[(3 * (S / 2) + 5) * 3 + 1]).toBe(cpu[(3 * S + 5) * 3 + 1]);
  });
});
