/**
 * Where `animgs animate`'s start-up goes for a full-size avatar (the reference's full preset, ~226 M parameters, the
 * synthetic capture's canonical maps of 1024² per side, ~277k Gaussians, a 20-component pose PCA): every CPU-side
 * phase of a job before its first frame renders, timed one by one in this process, in the order the command runs them:
 *  - (printed once) the time from the process start to this module's body: Node and the imports;
 *  - config + plan: loadTrainConfig and planAnimation (checks, the capture's SMPL-X parameters, the pose file);
 *  - maps, smplx, device (adapter, device, initEngine), canonical (Gaussians listed, tensors uploaded);
 *  - checkpoint (loadCheckpoint: net.safetensors read, checked finite), net build (AvatarNet.fromStateDict: the
 *    uploads), the GPU idle after them;
 *  - pose-map builder, PCA read, PCA projector, renderer (AnimationRenderer's constructor);
 * and the compute pipelines created in each (the engine compiles one at a kernel's first use); then loadTrainedAvatar
 * as the command calls it (the checkpoint's read overlapping the maps and SMPL-X decode). Frames are not run
 * (recording the first frame runs it, which a CPU adapter cannot do at this size in reasonable time).
 *
 * The avatar is made once in ANIMATE_STARTUP_DIR (default /tmp/animgs-animate-startup-full): the synthetic capture
 * prepared at 1024² with 24 frames (PCA of 20), a checkpoint of a randomly initialised full-preset AvatarNet, a
 * 30-frame held-out motion. `ANIMATE_STARTUP_TINY=1`: the animation tests' tiny network at 128² (a smoke run).
 * Run: node --import ./test/train/ts-worker-register.mjs bench/animate-startup.ts [--runs N]
 */
const tModule = performance.now();
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalGaussians, canonicalTensors, disposeCanonical } from '../src/avatar/canonical.js';
import { loadTrainConfig } from '../src/avatar/config-file.js';
import { AVATAR_PRESETS, type AvatarNetConfig } from '../src/avatar/config.js';
import { loadCheckpoint } from '../src/avatar/checkpoint-read.js';
import { checkTrainedAvatar, loadTrainedAvatar } from '../src/avatar/load.js';
import { AvatarNet, avatarNetEntries } from '../src/avatar/net.js';
import { planAnimation } from '../src/animate/animate.js';
import { AnimationRenderer } from '../src/animate/frame.js';
import { PcaProjector, PoseMapBuilder } from '../src/animate/pose-map-gpu.js';
import { loadSmplxModel } from '../src/body/node/files.js';
import { getGpu, type Gpu } from '../src/gpu/index.js';
import { untrainedAvatarCapture } from './untrained-checkpoint.js';
import { readCanonicalMaps, readPca } from '../src/prep/files.js';
import { initEngine } from '../src/tensor/index.js';

const tiny = process.env.ANIMATE_STARTUP_TINY === '1';
const TINY_NET: AvatarNetConfig = {
  ...AVATAR_PRESETS.small,
  poseMapSize: 64,
  mapSize: 128,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
  styleDim: 8,
  viewdirHidden: 4,
};
const net = tiny ? TINY_NET : AVATAR_PRESETS.full;
const pcaK = tiny ? 2 : 20;
const prepFrames = pcaK + 4;
const root = process.env.ANIMATE_STARTUP_DIR ?? join(tmpdir(), `animgs-animate-startup-${tiny ? 'tiny' : 'full'}`);

/** The capture, a checkpoint of an untrained network and a motion (made once; kept between runs). */
async function setup(gpu: Gpu): Promise<{ yaml: string; poses: string }> {
  const yaml = join(root, 'avatar.yaml');
  const poses = join(root, 'motion.npz');
  const done = join(root, 'ready.json');
  const key = JSON.stringify({ net: net.mapSize, pcaK, v: 1 });
  if (existsSync(done) && readFileSync(done, 'utf8') === key) return { yaml, poses };
  rmSync(root, { recursive: true, force: true });
  const t0 = performance.now();
  const { gaussians } = await untrainedAvatarCapture(gpu, root, net, {
    frames: prepFrames,
    pcaK,
    motionFrames: 30,
    preset: tiny ? 'small' : 'full',
  });
  writeFileSync(done, key);
  console.log(
    `setup: ${gaussians} Gaussians, ${(avatarNetEntries(net).reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0) / 1e6).toFixed(1)} M values (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return { yaml, poses };
}

interface Phase {
  name: string;
  ms: number;
  pipelines: number;
  pipelineMs: number;
}

async function measure(gpu: Gpu, yaml: string, poses: string): Promise<Phase[]> {
  const phases: Phase[] = [];
  let current = { pipelines: 0, pipelineMs: 0 };
  const kernel = gpu.kernel.bind(gpu);
  const seen = new Set<string>();
  gpu.kernel = (name: string, source: string) => {
    if (seen.has(source)) return kernel(name, source);
    const t = performance.now();
    const k = kernel(name, source);
    current.pipelineMs += performance.now() - t;
    current.pipelines++;
    seen.add(source);
    return k;
  };
  const time = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    current = { pipelines: 0, pipelineMs: 0 };
    const t = performance.now();
    const r = await f();
    phases.push({ name, ms: performance.now() - t, ...current });
    return r;
  };
  const out = join(root, 'out');
  const config = await time('config', () => loadTrainConfig(yaml));
  const plan = await time('plan', () =>
    planAnimation({ config, poses, frames: '0:30', part: '0:8', out, force: true, size: '1024x1024' }),
  );
  const { ref, netConfig } = checkTrainedAvatar(config);
  const maps = await time('maps', () => readCanonicalMaps(plan.posMapDir));
  const model = await time('smplx', () => loadSmplxModel(config.train.smplxModel));
  await time('engine', () => initEngine(gpu));
  const gaussians = await time('gaussians', () => canonicalGaussians(maps));
  const canonical = await time('canonical', () => canonicalTensors(maps, gaussians));
  const weights = await time('checkpoint', () => loadCheckpoint(ref.path, { moments: false }).weights);
  const avatar = await time('net build', () => AvatarNet.fromStateDict(netConfig, gaussians, weights));
  await time('gpu idle', () => gpu.sync());
  const builder = await time('pose-map builder', () => new PoseMapBuilder(maps, netConfig.poseMapSize));
  const p = await time('pca read', () => readPca(plan.pca!.path));
  const pca = await time('pca projector', () => new PcaProjector(p.pca, p.pixels, netConfig.poseMapSize, 2));
  const anim = await time(
    'renderer',
    () =>
      new AnimationRenderer(avatar, canonical, builder, {
        width: plan.width,
        height: plan.height,
        background: plan.background,
        pca,
        keepGaussians: false,
        keepColors: false,
      }),
  );
  await time('gpu idle ', () => gpu.sync());
  void model;
  anim.dispose();
  pca.dispose();
  builder.dispose();
  avatar.dispose();
  disposeCanonical(canonical);
  // the same load as the command runs it (loadTrainedAvatar: the checkpoint read overlaps the maps and SMPL-X)
  let line = '';
  const whole = await time('loadTrainedAvatar', () => loadTrainedAvatar(config, { log: (l) => (line = l) }));
  await gpu.sync();
  whole.dispose();
  console.log(`  ${line}`);
  gpu.kernel = kernel;
  return phases;
}

const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 1;
const gpu = await getGpu();
await initEngine(gpu);
const { yaml, poses } = await setup(gpu);
console.log(`process start to this module's body (Node, imports): ${tModule.toFixed(0)} ms`);
for (let r = 0; r < runs; r++) {
  const phases = await measure(gpu, yaml, poses);
  const total = phases.filter((p) => p.name !== 'loadTrainedAvatar').reduce((s, p) => s + p.ms, 0);
  console.log(`run ${r + 1}: ${(total / 1000).toFixed(2)} s before the first frame`);
  for (const p of phases) {
    console.log(
      `  ${p.name.padEnd(18)} ${p.ms.toFixed(0).padStart(7)} ms` +
        (p.pipelines ? `  (${p.pipelines} pipelines, ${p.pipelineMs.toFixed(0)} ms)` : ''),
    );
  }
  console.log(`  rss ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`);
}
process.exit(0);
