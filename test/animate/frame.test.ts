/**
 * The animation frame on the GPU (tiny synthetic subject, untrained 4-channel networks): the posed map and the pose
 * projection against prep's float64 oracles; the split forward against AvatarNet.forward + renderAvatar; a captured
 * frame against the eager one; a captured loop (new poses, a held pose with a new view, the PCA switched per frame)
 * against per-frame eager renders; the posed Gaussians through the .ply writer and our reader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blendJointMatrices } from '../../src/avatar/skinning.js';
import { createViewParams, viewCosines } from '../../src/avatar/skinning-view.js';
import { renderAvatar, SplatRenderer } from '../../src/avatar/render.js';
import { AnimationRenderer, identityJoints, type FrameSpec } from '../../src/animate/frame.js';
import { PcaProjector, PoseMapBuilder } from '../../src/animate/pose-map-gpu.js';
import { frameJoints, liveBodyCenter, posesFromFile } from '../../src/animate/pose-source.js';
import { syntheticCamera, uprightRotation, type SyntheticViewSetting } from '../../src/animate/views.js';
import { cameraCenter } from '../../src/data/camera.js';
import { pcaFeatures } from '../../src/prep/files.js';
import { pcaProject } from '../../src/prep/pca.js';
import { frontHalf, posedPositionMapCpu, poseMapSampler } from '../../src/prep/posemap.js';
import { decodePly, plyToScene } from '../../src/splat/ply.js';
import { encodeGaussianPly } from '../../src/splat/ply-write.js';
import { noGrad, scope, Tensor } from '../../src/tensor/index.js';
import { makeFixture, type AnimFixture } from './fixture.js';

let root: string;
let fx: AnimFixture;
let builder: PoseMapBuilder;
let pca: PcaProjector;
const W = 24;
const H = 20;
const S = 64;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'animgs-animate-'));
  fx = await makeFixture(root);
  builder = new PoseMapBuilder(fx.maps, S);
  pca = new PcaProjector(fx.pca.pca, fx.pca.pixels, S, 2);
});

afterAll(() => {
  pca?.dispose();
  builder?.dispose();
  fx?.net.dispose();
  if (fx) for (const t of Object.values(fx.canonical)) t.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** The frames of the held-out motion, with cameras of a synthetic view. */
function frames(setting: SyntheticViewSetting, n: number, project: (i: number) => boolean): FrameSpec[] {
  const poses = posesFromFile(join(fx.data, 'poses_test.npz'), { betas: fx.smpl.betas });
  const rig = {
    width: W,
    height: H,
    center: liveBodyCenter(fx.model, poses.params(0)),
    upright: uprightRotation('body', poses.params(0).globalOrient ?? [0, 0, 0]),
  };
  return Array.from({ length: n }, (_, i) => ({
    ...frameJoints(fx.model, poses.params(Math.min(i, poses.count - 1))),
    camera: syntheticCamera(setting, rig, i * 20),
    project: project(i),
  }));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('animation frame', () => {
  it('the posed map and its projection match prep’s float64 oracles', async () => {
    const f = frames('front', 1, () => true)[0]!;
    const J = builder.numJoints;
    const got = await noGrad(() =>
      scope(() => {
        const jm = Tensor.from(f.jointMatsWoRoot, [J, 4, 4]);
        const map = builder.build(jm);
        const on = Tensor.from([1], [1]);
        return [map, pca.project(map, on), pca.project(map, Tensor.from([0], [1]))];
      }),
    );
    const [map, projected, kept] = await Promise.all(got.map((t) => t.toArray()));
    got.forEach((t) => t.dispose());
    // oracle: prep's posed map (S × 2S interleaved), front half, as [3, S, S]
    const full = posedPositionMapCpu(poseMapSampler(fx.maps), f.jointMatsWoRoot);
    const front = frontHalf(full, 2 * S);
    const want = new Float32Array(3 * S * S);
    for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) want[c * S * S + p] = front[3 * p + c]!;
    expect(maxDiff(map!, want)).toBeLessThan(1e-5);
    expect(maxDiff(kept!, map!)).toBe(0);
    // the projection: prep's pcaProject on the map's features, written back into the front pixels
    const x = pcaFeatures(full, 2 * S, fx.pca.pixels);
    const xp = pcaProject(fx.pca.pca, x, 2);
    const wantP = Float32Array.from(want);
    fx.pca.pixels.forEach((p, k) => {
      for (let c = 0; c < 3; c++) wantP[c * S * S + p] = xp[3 * k + c]!;
    });
    expect(maxDiff(projected!, wantP)).toBeLessThan(1e-4);
    expect(maxDiff(projected!, map!)).toBeGreaterThan(1e-4); // a held-out pose moves
  });

  it('the split forward equals AvatarNet.forward + renderAvatar; a captured frame equals the eager one', async () => {
    const f = frames('front', 1, () => false)[0]!;
    const anim = new AnimationRenderer(fx.net, fx.canonical, builder, { width: W, height: H, pca });
    try {
      anim.render(f, { eager: true });
      const eager = await anim.readImages();
      const poseMap = await anim.readPoseMap();
      // the reference composition, as the held-out previews render
      const r = new SplatRenderer(W, H);
      r.setCamera(f.camera, [1, 1, 1]);
      const c = cameraCenter(f.camera);
      const img = noGrad(() =>
        scope(() => {
          const J = builder.numJoints;
          const blend = blendJointMatrices(fx.canonical.weights, Tensor.from(f.jointMats, [J, 4, 4]));
          const vp = createViewParams({ camPos: [c[0]!, c[1]!, c[2]!], noiseStd: 0 });
          const cos = viewCosines(blend, fx.canonical.points, fx.canonical.normals, vp);
          const gs = fx.net.forward(Tensor.from(poseMap, [1, 3, S, S]), cos);
          return renderAvatar(gs, blend, r).image;
        }),
      );
      const ref = await img.toArray();
      img.dispose();
      r.dispose();
      expect(maxDiff(eager.color, ref.subarray(0, 3 * W * H))).toBe(0);
      expect(maxDiff(eager.alpha, ref.subarray(4 * W * H))).toBe(0);
      const a = eager.alpha;
      expect(Math.max(...a)).toBeGreaterThan(0.05); // the subject is in view
      // captured (second render: warm) then replayed
      anim.render(f);
      const captured = await anim.readImages();
      anim.render(f);
      const replayed = await anim.readImages();
      // the same pose each time: only the view part is captured and replayed
      expect(anim.runs).toEqual({ pose: 1, view: 3, captures: 1 });
      expect(maxDiff(captured.color, eager.color)).toBe(0);
      expect(maxDiff(replayed.color, eager.color)).toBe(0);
      expect(maxDiff(replayed.alpha, eager.alpha)).toBe(0);
    } finally {
      anim.dispose();
    }
  });

  it('a captured loop (new poses, a held pose, the PCA per frame, canonical view) equals per-frame eager renders', async () => {
    const seq = frames('free', 3, (i) => i !== 1);
    // frame 3 holds frame 2's pose with another camera: only the view part replays
    seq.push({ ...seq[2]!, camera: frames('back', 1, () => true)[0]!.camera });
    // the canonical view: identity skinning
    seq.push({ ...seq[0]!, jointMats: identityJoints(builder.numJoints) });
    const opts = { width: W, height: H, pca, keepGaussians: true };
    const loop = new AnimationRenderer(fx.net, fx.canonical, builder, opts);
    const eager = new AnimationRenderer(fx.net, fx.canonical, builder, opts);
    try {
      for (const [i, f] of seq.entries()) {
        loop.render(f);
        eager.render(f, { eager: true });
        const [a, b] = [await loop.readImages(), await eager.readImages()];
        expect(maxDiff(a.color, b.color), `frame ${i}`).toBe(0);
        expect(maxDiff(a.alpha, b.alpha), `frame ${i}`).toBe(0);
        const [ga, gb] = [await loop.readGaussians(), await eager.readGaussians()];
        expect(maxDiff(ga.means, gb.means)).toBe(0);
        expect(await loop.checkOverflow()).toBe(false);
      }
      // frame 0 eager (warm-up), frames 1, 2, 4 change the pose, frame 3 does not
      expect(loop.runs.pose).toBe(4);
      expect(loop.runs.view).toBe(5);
    } finally {
      loop.dispose();
      eager.dispose();
    }
  });

  it('the posed Gaussians round-trip through the .ply writer and our reader', async () => {
    const f = frames('front', 1, () => false)[0]!;
    const anim = new AnimationRenderer(fx.net, fx.canonical, builder, { width: W, height: H, keepGaussians: true });
    try {
      anim.render(f);
      const g = await anim.readGaussians();
      for (const shRest of [true, false]) {
        const ply = decodePly(encodeGaussianPly(g, { shRest }), 'posed.ply');
        expect(ply.count).toBe(g.count);
        expect(ply.shCoeffs).toBe(shRest ? 16 : 1);
        const scene = plyToScene(ply);
        expect(maxDiff(scene.means, g.means)).toBe(0);
        expect(maxDiff(scene.scales, g.scales)).toBeLessThan(1e-6 * Math.max(...g.scales));
        expect(maxDiff(scene.opacities, g.opacities)).toBeLessThan(1e-6);
        const rgb = Float32Array.from(
          { length: 3 * g.count },
          (_, k) => 0.5 + 0.28209479177387814 * scene.sh![(k % 3) + 3 * (shRest ? 16 : 1) * Math.floor(k / 3)]!,
        );
        expect(maxDiff(rgb, g.colors)).toBeLessThan(1e-5);
        const q = g.rotations;
        const unit = q.map((v, k) => {
          const i = 4 * Math.floor(k / 4);
          return v / Math.hypot(q[i]!, q[i + 1]!, q[i + 2]!, q[i + 3]!);
        });
        expect(maxDiff(scene.rotations, unit)).toBeLessThan(1e-6);
      }
      expect(() => encodeGaussianPly({ ...g, opacities: g.opacities.map((o, i) => (i === 2 ? NaN : o)) })).toThrow(
        /Gaussian 2 has a non-finite/,
      );
    } finally {
      anim.dispose();
    }
  });
});
