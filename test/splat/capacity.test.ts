/**
 * The rasterizer's capturable path (forwardCapturable: pair count kept on the GPU, fixed pair capacity, camera and
 * background from a SplatView buffer) against the read-back path: the same images, bit for bit, on the scenes of
 * raster.test.ts, and the same gradients (the backward has no float atomics: repeated runs and a captured replay
 * give the same bits); an overflow is flagged, drops only the farthest pairs, and is gone after the capacity grows.
 */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import type { Camera } from '../../src/splat/camera.js';
import {
  GaussianRasterizer,
  readImages,
  uploadScene,
  type BackwardResult,
  type CapturableResult,
} from '../../src/splat/rasterizer.js';
import type { SplatScene } from '../../src/splat/reference.js';
import { SplatView } from '../../src/splat/view.js';
import { randomF32, seededRandom } from '../helpers/numeric.js';
import { makeCamera, randomScene } from './scenes.js';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

async function both(scene: SplatScene, cam: Camera, bg: number[], capacity?: number) {
  const gpu = await getGpu();
  const g = uploadScene(gpu, scene);
  const eager = new GaussianRasterizer(gpu);
  const fe = await eager.forward(g, cam, { background: bg });
  const want = await readImages(gpu, fe, scene.count);
  const r = new GaussianRasterizer(gpu);
  if (capacity) r.capacity = capacity;
  const view = new SplatView(gpu, cam.width, cam.height);
  view.set(cam, bg);
  const got = await readImages(gpu, r.forwardCapturable(g, view), scene.count);
  const done = () => {
    eager.release();
    r.release();
    view.destroy();
    g.free();
  };
  return { gpu, g, eager, r, view, want, got, pairs: fe.pairs, done };
}

describe('capturable rasterizer path', () => {
  for (const [name, scene, cam, bg] of [
    [
      '37×29, 40 Gaussians',
      randomScene({ n: 40, seed: 11 }),
      makeCamera(37, 29, { cx: 13.69, cy: 17.98 }),
      [0.2, 0.5, 0.9],
    ],
    [
      '70×50, SH degree 3',
      randomScene({ n: 60, seed: 12, shDegree: 3 }),
      makeCamera(70, 50, { cx: 25.9, cy: 31 }),
      [0.2, 0.5, 0.9],
    ],
    [
      '3000 Gaussians',
      randomScene({ n: 3000, seed: 6, scale: [0.01, 0.08] }),
      makeCamera(70, 50, { cx: 20, cy: 40 }),
      [0, 0, 0],
    ],
    [
      'faint, thin Gaussians',
      randomScene({ n: 2000, seed: 7, scale: [0.002, 0.3], opacity: [0.0041, 0.06] }),
      makeCamera(96, 80, { cx: 40, cy: 44 }),
      [0.1, 0.2, 0.3],
    ],
  ] as const) {
    it(`equals the read-back path bit for bit: ${name}`, async () => {
      const t = await both(scene, cam, [...bg]);
      expect(bits(t.got.color)).toEqual(bits(t.want.color));
      expect(bits(t.got.depth)).toEqual(bits(t.want.depth));
      expect(bits(t.got.alpha)).toEqual(bits(t.want.alpha));
      expect(Array.from(t.got.radii)).toEqual(Array.from(t.want.radii));
      expect((await t.r.checkOverflow()).overflowed).toBe(false);
      t.done();
    });
  }

  it('edge cases: 0 Gaussians, all culled', async () => {
    const cam = makeCamera(37, 29);
    const empty: SplatScene = { count: 0, means: [], scales: [], rotations: [], opacities: [], colors: [] };
    const behind = randomScene({ n: 20, seed: 4 });
    behind.means = Array.from(behind.means, (v, i) => (i % 3 === 2 ? v - 10 : v));
    for (const s of [empty, behind]) {
      const t = await both(s, cam, [0.25, 0.5, 0.75]);
      expect(bits(t.got.color)).toEqual(bits(t.want.color));
      expect(bits(t.got.alpha)).toEqual(bits(t.want.alpha));
      t.done();
    }
  });

  it('the backward is deterministic: repeated, read-back or capturable path, captured and replayed: same bits', async () => {
    // 3000 Gaussians on 70×50: tiles with over 256 pairs (several rounds) and many Gaussians spanning tiles
    const scene = randomScene({ n: 3000, seed: 6, scale: [0.01, 0.08] });
    const cam = makeCamera(70, 50, { cx: 20, cy: 40 });
    const n = scene.count;
    const t = await both(scene, cam, [0.3, 0.1, 0.7]);
    const d = t.gpu.bufferFrom(randomF32(5 * 70 * 50, seededRandom(121)));
    const grads = async (o: BackwardResult) => [
      bits(await t.gpu.readF32(o.means, 3 * n)),
      bits(await t.gpu.readF32(o.scales, 3 * n)),
      bits(await t.gpu.readF32(o.rotations, 4 * n)),
      bits(await t.gpu.readF32(o.opacities, n)),
      bits(await t.gpu.readF32(o.colors, 3 * n)),
    ];
    const want = await grads(t.eager.backward(d));
    expect(want[0]!.some((v) => v !== 0)).toBe(true);
    expect(await grads(t.eager.backward(d))).toEqual(want);
    await t.eager.forward(t.g, cam, { background: [0.3, 0.1, 0.7] });
    expect(await grads(t.eager.backward(d))).toEqual(want);
    expect(await grads(t.r.backward(d))).toEqual(want);
    // a captured forward + backward, replayed on another camera's frame in between
    let out: BackwardResult | null = null;
    const replay = t.gpu.capture(() => {
      t.r.forwardCapturable(t.g, t.view);
      out = t.r.backward(d);
    });
    expect(await grads(out!)).toEqual(want);
    t.view.set({ ...cam, T: [0.2, 0.05, 3.6] }, [0.9, 0.4, 0.1]);
    replay.run();
    expect(await grads(out!)).not.toEqual(want);
    t.view.set(cam, [0.3, 0.1, 0.7]);
    replay.run();
    expect(await grads(out!)).toEqual(want);
    replay.dispose();
    t.gpu.pool.release(d);
    t.done();
  });

  it('flags an overflow, keeps the nearest pairs, and after growing the capacity equals the read-back path', async () => {
    const scene = randomScene({ n: 3000, seed: 6, scale: [0.01, 0.08] });
    const cam = makeCamera(70, 50, { cx: 20, cy: 40 });
    const bg = [0, 0, 0];
    const t = await both(scene, cam, bg, 1000);
    expect(t.pairs).toBeGreaterThan(2000);
    // the pairs kept are the first 1000 in depth order: per pixel a prefix of its Gaussians, so alpha only drops
    let lower = 0;
    for (let i = 0; i < t.want.alpha.length; i++) {
      expect(Number.isFinite(t.got.alpha[i]!) && Number.isFinite(t.got.color[i]!)).toBe(true);
      expect(t.got.alpha[i]!).toBeLessThanOrEqual(t.want.alpha[i]! + 1e-6);
      if (t.got.alpha[i]! < t.want.alpha[i]! - 1e-3) lower++;
    }
    expect(lower).toBeGreaterThan(0);
    // the backward of the clipped frame reads only the slots of pairs that were kept
    const d = t.gpu.bufferFrom(randomF32(5 * 70 * 50, seededRandom(122)));
    const o = t.r.backward(d);
    for (const [b, len] of [
      [o.means, 9000],
      [o.opacities, 3000],
      [o.colors, 9000],
    ] as const) {
      const g = await t.gpu.readF32(b, len);
      expect(g.every((v) => Number.isFinite(v) && Math.abs(v) < 1e3)).toBe(true);
      expect(g.some((v) => v !== 0)).toBe(true);
    }
    t.gpu.pool.release(d);
    const report = await t.r.checkOverflow();
    expect(report).toEqual({ overflowed: true, maxPairs: t.pairs, capacity: Math.ceil(1.25 * t.pairs) });
    const again = await readImages(t.gpu, t.r.forwardCapturable(t.g, t.view), scene.count);
    expect(bits(again.color)).toEqual(bits(t.want.color));
    expect(bits(again.alpha)).toEqual(bits(t.want.alpha));
    expect(await t.r.checkOverflow()).toEqual({ overflowed: false, maxPairs: t.pairs, capacity: report.capacity });
    t.done();
  });

  it('a captured frame replays with the camera and background uploaded before it', async () => {
    const scene = randomScene({ n: 40, seed: 11 });
    const camA = makeCamera(37, 29, { cx: 13.69, cy: 17.98 });
    const camB = { ...makeCamera(37, 29, { cx: 20, cy: 11, f: 30 }), T: [0.2, 0.05, 3.6] };
    const t = await both(scene, camB, [0.9, 0.4, 0.1]);
    t.view.set(camA, [0.2, 0.5, 0.9]);
    let frame: CapturableResult | null = null;
    const replay = t.gpu.capture(() => (frame = t.r.forwardCapturable(t.g, t.view)));
    t.view.set(camB, [0.9, 0.4, 0.1]);
    replay.run();
    const out = await readImages(t.gpu, frame!, 40);
    expect(bits(out.color)).toEqual(bits(t.want.color));
    expect(bits(out.depth)).toEqual(bits(t.want.depth));
    expect(Array.from(out.radii)).toEqual(Array.from(t.want.radii));
    replay.dispose();
    t.done();
  });
});
