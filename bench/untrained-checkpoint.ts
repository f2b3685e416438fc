/**
 * An untrained avatar saved as a training checkpoint (`<dir>/batch_00000001/`, `latest.json`) through the trainer's
 * own writer, for benches that animate, export or load a full-size avatar without training one first.
 */
import { join } from 'node:path';
import { canonicalGaussians } from '../src/avatar/canonical.js';
import type { AvatarNetConfig } from '../src/avatar/config.js';
import { AvatarNet } from '../src/avatar/net.js';
import { readSmplParams, writeSmplParams } from '../src/data/smpl-params.js';
import { heldOutMotion } from '../src/data/synth/motion.js';
import type { Gpu } from '../src/gpu/index.js';
import { readCanonicalMaps } from '../src/prep/files.js';
import { tinyCapture, writeAnimateYaml } from '../test/helpers/tiny-capture.js';
import type { CheckpointSettings } from '../src/avatar/checkpoint-read.js';
import { Adam } from '../src/nn/optim.js';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../src/train/checkpoint.js';

export async function saveUntrainedCheckpoint(
  dir: string,
  net: AvatarNet,
  settings: Omit<CheckpointSettings, 'net'>,
): Promise<string> {
  return saveCheckpoint(dir, net, new Adam(net.parameters()), {
    format: CHECKPOINT_FORMAT,
    version: 1,
    stage: 'train',
    iteration: 1,
    sampler: { rng: [1, 2, 3, 4], iteration: 1 },
    adamSteps: {},
    settings: { ...settings, net: net.config },
    savedAt: new Date().toISOString(),
  });
}

/**
 * A capture of tiny images (2 cameras of 40×32: the maps, not the photos, set an avatar's size) prepared at the
 * network's map size with `pcaK` PCA components, an untrained avatar of `net` on it saved in `<root>/results`, a
 * motion of `motionFrames` held-out poses (`<root>/motion.npz`) and the config animate reads (`<root>/avatar.yaml`,
 * the free orbit; `preset` names the network's preset).
 */
export async function untrainedAvatarCapture(
  gpu: Gpu,
  root: string,
  net: AvatarNetConfig,
  opts: { frames: number; pcaK: number; motionFrames: number; preset: 'full' | 'small' },
): Promise<{ yaml: string; poses: string; gaussians: number }> {
  const data = join(root, 'capture');
  await tinyCapture(gpu, data, { frames: opts.frames, mapSize: net.mapSize, pcaK: opts.pcaK });
  const smpl = readSmplParams(join(data, 'smpl_params.npz'));
  const maps = readCanonicalMaps(join(data, 'smpl_pos_map'));
  const avatar = AvatarNet.init(net, canonicalGaussians(maps), { seed: 3 });
  const ckDir = join(root, 'results');
  try {
    await saveUntrainedCheckpoint(ckDir, avatar, {
      dataDir: data,
      frames: [0, 1, 2],
      cameras: [],
      seed: 1,
      gaussians: maps.pixels.length,
    });
  } finally {
    avatar.dispose();
  }
  const poses = join(root, 'motion.npz');
  writeSmplParams(poses, heldOutMotion(opts.motionFrames, 7), smpl.betas);
  const yaml = writeAnimateYaml(root, {
    data,
    ckptDir: ckDir,
    lastFrame: opts.frames - 1,
    preset: opts.preset,
    test: `view_setting: free\nn_pca: ${opts.pcaK}`,
  });
  return { yaml, poses, gaussians: maps.pixels.length };
}
