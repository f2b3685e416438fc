import { describe, expect, it } from 'vitest';
import { eikonalGpu, rayLosses, renderRaysGpu } from '../../src/prep/template/volume-render-gpu.js';
import { eikonal, renderRays } from '../../src/prep/template/volume-render.js';
import { initEngine, Tensor } from '../../src/tensor/index.js';
import { relError, seededRandom } from '../helpers/numeric.js';

describe('VolSDF rendering and the eikonal term on the GPU', () => {
  it('match the float64 reference: per-ray losses, the gradients of every sample, β', async () => {
    await initEngine();
    const r = seededRandom(41);
    // odd sizes; SDF values around the surface (some samples inside, most rays crossing it) and a few far ones
    const [R, S] = [37, 23];
    const N = R * S;
    const sdf = Float32Array.from({ length: N + 5 }, () => (r() - 0.4) * 0.08);
    const color = Float32Array.from({ length: 3 * N }, () => r());
    const delta = Float32Array.from({ length: N }, () => 0.004 + 0.01 * r());
    const targetColor = Float32Array.from({ length: 3 * R }, () => r());
    const targetMask = Float32Array.from({ length: R }, () => (r() < 0.6 ? 1 : 0));
    const [beta, wC, wM] = [0.013, 1, 0.7];
    const ref = renderRays({ rays: R, samples: S, sdf, color, delta, targetColor, targetMask }, beta, wC, wM);
    const up = (a: Float32Array) => Tensor.from(a, [a.length]);
    const t = {
      sdf: up(sdf),
      color: up(color),
      delta: up(delta),
      targetColor: up(targetColor),
      targetMask: up(targetMask),
    };
    const gradSdf = Tensor.zeros([N + 5]);
    const gradColor = Tensor.zeros([3 * N]);
    const perRay = Tensor.zeros([4 * R]);
    renderRaysGpu({ rays: R, samples: S, ...t }, beta, wC, wM, { gradSdf, gradColor, perRay });
    const gs = await gradSdf.toArray();
    const gc = await gradColor.toArray();
    const pr = await perRay.toArray();
    expect(relError(gs.subarray(0, N), ref.gradSdf)).toBeLessThan(1e-4);
    expect(Array.from(gs.subarray(N))).toEqual([0, 0, 0, 0, 0]); // past the rays: left alone
    expect(relError(gc, ref.gradColor)).toBeLessThan(1e-5);
    const l = rayLosses(pr, R);
    expect(l.color).toBeCloseTo(ref.losses.color, 5);
    expect(l.mask).toBeCloseTo(ref.losses.mask, 5);
    expect(Math.abs(l.gradBeta - ref.gradBeta) / Math.abs(ref.gradBeta)).toBeLessThan(1e-4);

    // the eikonal term of 11 points stored after the rays' samples
    const M = 11;
    const h = 0.002;
    // f at the points and at their three forward neighbours: gradients of norm ~0.5–1.5, as a fitted SDF has
    const eik = new Float32Array(4 * M);
    for (let m = 0; m < M; m++) {
      eik[m] = 0.1 * (r() - 0.5);
      for (let k = 1; k <= 3; k++) eik[k * M + m] = eik[m]! + h * (r() - 0.3);
    }
    const all = new Float32Array(N + 4 * M);
    all.set(eik, N);
    const sdfAll = up(all);
    const gAll = Tensor.zeros([N + 4 * M]);
    const perPoint = Tensor.zeros([M]);
    eikonalGpu(sdfAll, N, M, h, 0.1, { gradSdf: gAll, perPoint });
    const e = eikonal(eik, M, h, 0.1);
    const g = await gAll.toArray();
    expect(relError(g.subarray(N), e.grad)).toBeLessThan(1e-4);
    const pp = await perPoint.toArray();
    expect(pp.reduce((a, b) => a + b, 0) / M).toBeCloseTo(e.loss, 4); // the unweighted mean, as eikonal() returns
    for (const x of [...Object.values(t), gradSdf, gradColor, perRay, sdfAll, gAll, perPoint]) x.dispose();
  });
});
