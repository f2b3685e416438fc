/**
 * Animation frames per second at the reference's size: AvatarNet of the full preset (random initialisation: the
 * same work as trained weights) on the synthetic body's canonical maps of 1024² per side (prep's renderer, ~300k
 * Gaussians, real skinning weights), a 20-component pose PCA (random components: the same work), driven by the
 * synthetic held-out motion and seen from the free orbit at 1024 × 1024 (and the sizes in ANIMATE_SIZES, e.g.
 * `ANIMATE_SIZES=1024x1024,1500x2048`). After warm-up it measures:
 *  - the captured frame (pose part + view part), replayed back to back with new poses and cameras: the GPU-bound
 *    frame rate, and the CPU time per frame before the wait;
 *  - the same with each frame's colour and alpha read back (what the command's loop waits for, without the PNG
 *    encoding, which overlaps the next frame);
 *  - a held pose seen from moving cameras: only the view part replays (the colour network is the only network that
 *    depends on the view);
 *  - the breakdown: each stage captured alone and replayed back to back — pose map + PCA, position_net + other_net,
 *    view cosines + view CNN + color_net, Gaussians + skinning, splatting;
 *  - the CPU's share: the joint tables of a frame (three SMPL-X evaluations, joints only).
 * `tiny` shrinks the networks, maps and image for a lavapipe smoke run.
 */
import { canonicalGaussians, canonicalTensors, disposeCanonical } from '../src/avatar/canonical.js';
import { AVATAR_PRESETS, type AvatarNetConfig } from '../src/avatar/config.js';
import { AvatarNet } from '../src/avatar/net.js';
import { renderAvatar, SplatRenderer } from '../src/avatar/render.js';
import { blendJointMatrices, skinGaussians } from '../src/avatar/skinning.js';
import { createViewParams, uploadViewParams, viewCosines } from '../src/avatar/skinning-view.js';
import { AnimationRenderer, type FrameSpec } from '../src/animate/frame.js';
import { PcaProjector, PoseMapBuilder } from '../src/animate/pose-map-gpu.js';
import { frameJoints, liveBodyCenter } from '../src/animate/pose-source.js';
import { syntheticCamera, uprightRotation, type ViewRig } from '../src/animate/views.js';
import { syntheticSmplxModel } from '../src/body/synthetic.js';
import { cameraCenter } from '../src/data/camera.js';
import { heldOutMotion } from '../src/data/synth/motion.js';
import { KernelProfiler, type Gpu } from '../src/gpu/index.js';
import { aabbCenter, canonicalMaps } from '../src/prep/maps.js';
import type { PosePca } from '../src/prep/pca.js';
import { smplxCanonicalMesh } from '../src/prep/template.js';
import { initEngine, noGrad, scope, slice, Tensor } from '../src/tensor/index.js';
import type { BenchRow } from './table.js';
import { throughputDetail } from './timeit.js';
import { seededRandom as rng } from '../src/tensor/rng.js';

const TINY_NET: AvatarNetConfig = {
  ...AVATAR_PRESETS.small,
  poseMapSize: 64,
  mapSize: 128,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
  styleDim: 8,
  viewdirHidden: 4,
};

/** A PCA of the right shape with random components (timing only). */
function randomPca(pixels: Uint32Array, K: number): PosePca {
  const r = rng(5);
  const D = 3 * pixels.length;
  const components = new Float64Array(K * D).map(() => (r() - 0.5) / Math.sqrt(D));
  return {
    dim: D,
    count: K,
    mean: new Float64Array(D).map(() => r() - 0.5),
    components,
    variance: new Float64Array(K).map((_, k) => 1 / (k + 1)),
  };
}

function parseSizes(tiny: boolean): Array<[number, number]> {
  if (tiny) return [[64, 64]];
  const spec = process.env.ANIMATE_SIZES ?? '1024x1024';
  return spec.split(',').map((s) => {
    const [w, h] = s.split('x').map(Number);
    if (!(w! > 0 && h! > 0)) throw new Error(`ANIMATE_SIZES: bad size '${s}'`);
    return [w!, h!];
  });
}

export async function benchAnimate(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const tiny = !!opts.tiny;
  await initEngine(gpu);
  const cfg = tiny ? TINY_NET : AVATAR_PRESETS.full;
  const S = cfg.poseMapSize;
  const runs = tiny ? 2 : 30;
  const rows: BenchRow[] = [];

  // the synthetic body's canonical maps, as prep makes them
  const model = syntheticSmplxModel();
  const mesh = smplxCanonicalMesh(model);
  const maps = await canonicalMaps(gpu, mesh, { size: cfg.mapSize, center: aabbCenter(mesh.positions) });
  const gaussians = canonicalGaussians(maps);
  const n = gaussians.pixels.length;
  const canonical = canonicalTensors(maps, gaussians);
  const net = AvatarNet.init(cfg, gaussians, { seed: 1 });
  const builder = new PoseMapBuilder(maps, S);
  const frontPixels = new Set<number>();
  for (const p of maps.pixels) {
    const y = Math.floor(p / (2 * maps.size));
    const x = p % (2 * maps.size);
    if (x < maps.size && y % 2 === 0 && x % 2 === 0) frontPixels.add((y / 2) * S + x / 2);
  }
  const pcaPixels = Uint32Array.from([...frontPixels].sort((a, b) => a - b));
  const pca = new PcaProjector(randomPca(pcaPixels, 20), pcaPixels, S, 2);

  // the motion: joint tables of F frames, and the CPU time they take
  const F = tiny ? 3 : 16;
  const motion = heldOutMotion(F, 1);
  const t0 = performance.now();
  const joints = motion.map((p) => frameJoints(model, p));
  const jointsMs = (performance.now() - t0) / F;
  const what = `${tiny ? 'tiny' : 'full preset'}, ${n} Gaussians`;
  rows.push({
    bench: 'animate',
    case: `CPU: a frame's joint tables (3 SMPL-X evaluations, joints only; ${what})`,
    ms: jointsMs,
    note: 'runs on the CPU while the GPU renders the previous frame',
  });

  for (const [W, H] of parseSizes(tiny)) {
    const rig: ViewRig = {
      width: W,
      height: H,
      center: liveBodyCenter(model, motion[0]!),
      upright: uprightRotation('body', motion[0]!.globalOrient ?? [0, 0, 0]),
    };
    const frames: FrameSpec[] = joints.map((j, i) => ({
      ...j,
      camera: syntheticCamera('free', rig, i * 7),
      project: true,
    }));
    const size = `${W}×${H}`;
    const anim = new AnimationRenderer(net, canonical, builder, { width: W, height: H, pca });
    try {
      // warm: the eager first frame, the captures, the pair capacity settled
      for (let i = 0; i < 2 * F; i++) {
        anim.render(frames[i % F]!);
        if (await anim.checkOverflow()) i = -1;
      }
      let k = 0;
      const full = await throughputDetail(gpu, () => anim.render(frames[k++ % F]!), runs);
      rows.push({
        bench: 'animate',
        case: `frame, replayed (pose map + PCA, 3 networks, skinning, splatting; ${what}, ${size})`,
        ms: full.ms,
        rate: 1000 / full.ms,
        unit: 'frames/s',
        note: `back to back, new pose and camera each frame; CPU ${full.cpuMs.toFixed(2)} ms/frame before the wait`,
      });
      const reps = tiny ? 2 : 20;
      const tr = performance.now();
      for (let i = 0; i < reps; i++) {
        anim.render(frames[i % F]!);
        await anim.readImages();
      }
      const withRead = (performance.now() - tr) / reps;
      rows.push({
        bench: 'animate',
        case: `frame + read back colour and alpha (${what}, ${size})`,
        ms: withRead,
        rate: 1000 / withRead,
        unit: 'frames/s',
        note: 'each frame waited for: what the command loop gets before PNG encoding (which overlaps)',
      });
      let v = 0;
      const viewRuns = anim.runs.pose;
      const viewOnly = await throughputDetail(
        gpu,
        () => anim.render({ ...frames[0]!, camera: frames[v++ % F]!.camera }),
        runs,
      );
      rows.push({
        bench: 'animate',
        case: `frame, held pose, new camera: the view part only (${what}, ${size})`,
        ms: viewOnly.ms,
        rate: 1000 / viewOnly.ms,
        unit: 'frames/s',
        note: `color_net + view CNN + skinning + splatting; pose part ran ${anim.runs.pose - viewRuns} times in this loop`,
      });
      rows.push(...(await breakdown(gpu, net, canonical, builder, pca, frames[1]!, W, H, runs, `${what}, ${size}`)));
      if (process.env.ANIMATE_PROFILE) rows.push(...(await profileFrame(gpu, anim, frames[2]!, `${what}, ${size}`)));
    } finally {
      anim.dispose();
    }
  }
  pca.dispose();
  builder.dispose();
  net.dispose();
  disposeCanonical(canonical);
  return rows;
}

/**
 * Per-kernel GPU time of one eager frame (ANIMATE_PROFILE=N lists the N costliest kernel families; KernelProfiler
 * times each dispatch in its own pass, so the sum is an upper bound of the replayed frame).
 */
async function profileFrame(gpu: Gpu, anim: AnimationRenderer, frame: FrameSpec, what: string): Promise<BenchRow[]> {
  const top = Number(process.env.ANIMATE_PROFILE) || 25;
  const p = new KernelProfiler(gpu);
  gpu.profile(p);
  try {
    anim.render(frame, { eager: true });
    await p.collect();
  } finally {
    gpu.profile(null);
  }
  const all = p.report();
  const rows: BenchRow[] = all.slice(0, top).map((t) => ({
    bench: 'animate profile',
    case: t.name,
    ms: t.ms,
    note: `${t.count} dispatches, ${((100 * t.ms) / p.totalMs).toFixed(1)}%`,
  }));
  rows.push({
    bench: 'animate profile',
    case: `TOTAL (sum of kernel GPU times, one eager frame; ${what})`,
    ms: p.totalMs,
    note: `${all.reduce((s, t) => s + t.count, 0)} dispatches`,
  });
  return rows;
}

/** Each stage of a frame captured alone and replayed back to back (inputs: an eager run of the stages before). */
async function breakdown(
  gpu: Gpu,
  net: AvatarNet,
  canonical: ReturnType<typeof canonicalTensors>,
  builder: PoseMapBuilder,
  pca: PcaProjector,
  frame: FrameSpec,
  W: number,
  H: number,
  runs: number,
  what: string,
): Promise<BenchRow[]> {
  const J = canonical.weights.shape[1]!;
  const keep = { persistent: true };
  const jm = Tensor.from(frame.jointMats, [J, 4, 4], keep);
  const jmw = Tensor.from(frame.jointMatsWoRoot, [J, 4, 4], keep);
  const on = Tensor.from([1], [1], keep);
  const c = cameraCenter(frame.camera);
  const vp = createViewParams({ camPos: [c[0]!, c[1]!, c[2]!], noiseStd: 0 });
  uploadViewParams(vp, { camPos: [c[0]!, c[1]!, c[2]!], noiseStd: 0 });
  const renderer = new SplatRenderer(W, H);
  renderer.setCamera(frame.camera, [1, 1, 1]);
  const held: Tensor[] = [jm, jmw, on, vp];
  const hold = <T extends Tensor>(t: T): T => {
    held.push(t.keep());
    return t;
  };
  const viewFeatures = (blend: Tensor): [Tensor, Tensor] => {
    const f = net.viewdir!.forward(net.map.viewInput(viewCosines(blend, canonical.points, canonical.normals, vp)));
    return [slice(f, 0, 0, 1), slice(f, 0, 1, 2)];
  };
  // eager inputs of each stage
  const inputs = noGrad(() =>
    scope(() => {
      const poseMap = pca.project(builder.build(jmw), on);
      const delta = net.map.gather(net.nets.position_net.forward(poseMap));
      const other = net.map.gather(net.nets.other_net.forward(poseMap));
      const blend = blendJointMatrices(canonical.weights, jm);
      const color = net.map.gather(net.nets.color_net.forward(poseMap, viewFeatures(blend)));
      const gs = net.map.parameterize(delta, color, other);
      return { poseMap, delta, other, blend, color, gs };
    }),
  );
  const { poseMap, delta, other, blend, color, gs } = inputs;
  for (const t of [poseMap, delta, other, blend, color, ...Object.values(gs)]) hold(t);
  const stages: Array<[string, () => void]> = [
    ['pose map + PCA', () => void pca.project(builder.build(jmw), on)],
    [
      'position_net + other_net',
      () => {
        net.map.gather(net.nets.position_net.forward(poseMap));
        net.map.gather(net.nets.other_net.forward(poseMap));
      },
    ],
    [
      'view cosines + view CNN + color_net',
      () => {
        const b = blendJointMatrices(canonical.weights, jm);
        net.map.gather(net.nets.color_net.forward(poseMap, viewFeatures(b)));
      },
    ],
    [
      'Gaussians + skinning',
      () => {
        const g = net.map.parameterize(delta, color, other);
        skinGaussians(g.positions, g.rotations, blend);
      },
    ],
    ['splatting (skin + BGR→RGB + rasterize)', () => void renderAvatar(gs, blend, renderer)],
  ];
  const rows: BenchRow[] = [];
  let sum = 0;
  for (const [name, fn] of stages) {
    const run = () => noGrad(() => scope(fn));
    run();
    await renderer.checkOverflow();
    const replay = gpu.capture(run);
    const t = await throughputDetail(gpu, () => replay.run(), runs);
    sum += t.ms;
    rows.push({
      bench: 'animate',
      case: `stage: ${name} (${what})`,
      ms: t.ms,
      note: `captured alone, replayed back to back; ${replay.dispatches} dispatches`,
    });
    replay.dispose();
  }
  rows.push({ bench: 'animate', case: `stages summed (${what})`, ms: sum, rate: 1000 / sum, unit: 'frames/s' });
  for (const t of held) t.dispose();
  renderer.dispose();
  return rows;
}
