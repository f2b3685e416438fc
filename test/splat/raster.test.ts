import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import type { Camera } from '../../src/splat/camera.js';
import { GaussianRasterizer, readImages, uploadScene } from '../../src/splat/rasterizer.js';
import { referenceBackward, referenceForward, type SplatScene } from '../../src/splat/reference.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { makeCamera, randomScene } from './scenes.js';

async function compareForward(scene: SplatScene, cam: Camera, bg: number[]) {
  const gpu = await getGpu();
  const ref = referenceForward(scene, cam, bg);
  const g = uploadScene(gpu, scene);
  const r = new GaussianRasterizer(gpu);
  const out = await readImages(gpu, await r.forward(g, cam, { background: bg }), scene.count);
  r.release();
  g.free();
  return { ref, out };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('GPU rasterizer forward vs float64 reference', () => {
  for (const [w, h, n, seed, sh] of [
    [37, 29, 40, 11, undefined],
    [70, 50, 60, 12, 3],
    [70, 50, 50, 13, 1],
  ] as const) {
    it(`${w}×${h}, ${n} Gaussians${sh !== undefined ? `, SH degree ${sh}` : ''}`, async () => {
      const scene = randomScene({ n, seed, shDegree: sh });
      const cam = makeCamera(w, h, { cx: w * 0.37, cy: h * 0.62 });
      const bg = [0.2, 0.5, 0.9];
      const { ref, out } = await compareForward(scene, cam, bg);
      expect(Array.from(out.radii)).toEqual(Array.from(ref.radii));
      expect(maxAbs(out.color, ref.color)).toBeLessThan(2e-5);
      expect(maxAbs(out.alpha, ref.alpha)).toBeLessThan(2e-5);
      expect(relError(out.depth, ref.depth)).toBeLessThan(2e-5);
      expect(Math.max(...out.alpha)).toBeGreaterThan(0.5);
    });
  }

  it('edge cases: 0 Gaussians, all culled, all off-screen', async () => {
    const cam = makeCamera(37, 29);
    const bg = [0.25, 0.5, 0.75];
    const empty: SplatScene = { count: 0, means: [], scales: [], rotations: [], opacities: [], colors: [] };
    const behind = randomScene({ n: 20, seed: 4 });
    behind.means = Array.from(behind.means, (v, i) => (i % 3 === 2 ? v - 10 : v)); // z_view ≤ 0.2
    const offscreen = randomScene({ n: 20, seed: 5 });
    offscreen.means = Array.from(offscreen.means, (v, i) => (i % 3 === 0 ? v + 40 : v));
    for (const s of [empty, behind, offscreen]) {
      const { ref, out } = await compareForward(s, cam, bg);
      expect(ref.radii.every((r) => r === 0)).toBe(true);
      expect(Array.from(out.radii)).toEqual(Array.from(ref.radii));
      for (let c = 0; c < 3; c++)
        expect(out.color.slice(c * 37 * 29, (c + 1) * 37 * 29).every((v) => v === bg[c]!)).toBe(true);
      expect(out.alpha.every((v) => v === 0)).toBe(true);
    }
  });

  it('a few thousand Gaussians (exercises the sorts), principal point off-centre', async () => {
    const scene = randomScene({ n: 3000, seed: 6, scale: [0.01, 0.08] });
    const cam = makeCamera(70, 50, { cx: 20, cy: 40 });
    const { ref, out } = await compareForward(scene, cam, [0, 0, 0]);
    expect(Array.from(out.radii)).toEqual(Array.from(ref.radii));
    expect(maxAbs(out.color, ref.color)).toBeLessThan(1e-4);
    expect(maxAbs(out.alpha, ref.alpha)).toBeLessThan(1e-4);
  });
  it('faint, thin Gaussians at tile borders (the tight tile test drops no tile the blend needs)', async () => {
    // Opacities near 1/255 put the visibility threshold 2·ln(255·o) near zero, and thin Gaussians make the
    // rectangle of 3σ tiles much larger than the visible ellipse: the cases where tiles get dropped.
    const scene = randomScene({ n: 2000, seed: 7, scale: [0.002, 0.3], opacity: [0.0041, 0.06] });
    const cam = makeCamera(96, 80, { cx: 40, cy: 44 });
    const { ref, out } = await compareForward(scene, cam, [0, 0, 0]);
    expect(Array.from(out.radii)).toEqual(Array.from(ref.radii));
    expect(maxAbs(out.color, ref.color)).toBeLessThan(1e-5);
    expect(maxAbs(out.alpha, ref.alpha)).toBeLessThan(1e-5);
    expect(Math.max(...out.alpha)).toBeGreaterThan(0.05);
  });
});

describe('GPU rasterizer backward vs float64 reference', () => {
  for (const [w, h, n, seed, sh, subgroups] of [
    [37, 29, 30, 21, undefined, 'butterfly'],
    [37, 29, 30, 21, undefined, 'add'],
    [37, 29, 30, 21, undefined, false],
    [70, 50, 40, 22, 3, 'butterfly'],
  ] as const) {
    it(`${w}×${h}, ${n} Gaussians${sh !== undefined ? `, SH ${sh}` : ''}, ${subgroups ? `subgroup (${subgroups})` : 'plain'} reduction`, async () => {
      const gpu = await getGpu();
      const scene = randomScene({ n, seed, shDegree: sh });
      const cam = makeCamera(w, h, { cx: w * 0.55, cy: h * 0.45 });
      const bg = [0.3, 0.1, 0.7];
      const hw = w * h;
      const rand = seededRandom(seed + 100);
      const dimg = randomF32(5 * hw, rand);
      const ref = referenceBackward(
        scene,
        cam,
        bg,
        dimg.subarray(0, 3 * hw),
        dimg.subarray(3 * hw, 4 * hw),
        dimg.subarray(4 * hw),
      );
      const g = uploadScene(gpu, scene);
      const r = new GaussianRasterizer(gpu);
      r.useSubgroups = !!subgroups && gpu.features.subgroups;
      if (subgroups === 'add') r.butterflySize = 0;
      await r.forward(g, cam, { background: bg });
      const db = gpu.bufferFrom(dimg);
      const out = r.backward(db);
      const K = sh !== undefined ? (sh + 1) ** 2 : 1;
      const got = {
        means: await gpu.readF32(out.means, 3 * n),
        scales: await gpu.readF32(out.scales, 3 * n),
        rotations: await gpu.readF32(out.rotations, 4 * n),
        opacities: await gpu.readF32(out.opacities, n),
        colors: await gpu.readF32(out.colors, 3 * n * K),
      };
      for (const k of Object.keys(got) as (keyof typeof got)[]) {
        const e = relError(got[k], ref[k]);
        expect(e, k).toBeLessThan(2e-4);
      }
      gpu.pool.release(db);
      r.release();
      g.free();
    });
  }
});

describe('GPU rasterizer steady state', () => {
  it('one rasterizer over frames whose pair count grows, shrinks and is zero: exact', async () => {
    const gpu = await getGpu();
    const cam = makeCamera(70, 50, { cx: 30, cy: 20 });
    const bg = [0.1, 0.2, 0.3];
    const small = randomScene({ n: 30, seed: 41, scale: [0.01, 0.05] });
    const big = randomScene({ n: 3000, seed: 42, scale: [0.02, 0.2] });
    const empty: SplatScene = { count: 0, means: [], scales: [], rotations: [], opacities: [], colors: [] };
    const r = new GaussianRasterizer(gpu);
    for (const scene of [small, big, small, empty, big, big]) {
      const g = uploadScene(gpu, scene);
      const a = await r.forward(g, cam, { background: bg });
      const got = await readImages(gpu, a, scene.count);
      const fresh = new GaussianRasterizer(gpu);
      const b = await fresh.forward(g, cam, { background: bg });
      const want = await readImages(gpu, b, scene.count);
      expect(a.pairs).toBe(b.pairs);
      expect(maxAbs(got.color, want.color)).toBe(0);
      expect(maxAbs(got.depth, want.depth)).toBe(0);
      expect(maxAbs(got.alpha, want.alpha)).toBe(0);
      fresh.release();
      g.free();
    }
    r.release();
  });

  it('allocates no new pool buffers after the first frame', async () => {
    const gpu = await getGpu();
    const scene = randomScene({ n: 200, seed: 31 });
    const g = uploadScene(gpu, scene);
    const r = new GaussianRasterizer(gpu);
    const cam = makeCamera(40, 33);
    const d = gpu.bufferFrom(new Float32Array(5 * 40 * 33).fill(0.1));
    let after1 = 0;
    for (let f = 0; f < 6; f++) {
      // Alternate two cameras so the pair count changes between frames.
      const c = { ...cam, T: [0.3 * (f % 2), -0.1, 4 - 0.5 * (f % 2)] };
      await r.forward(g, c, { background: [1, 1, 1] });
      r.backward(d);
      await gpu.sync();
      if (f === 1) after1 = gpu.pool.stats.created;
    }
    expect(gpu.pool.stats.created).toBe(after1);
    gpu.pool.release(d);
    r.release();
    g.free();
  });
});
