/**
 * A tiny prepared capture for the animation tests (the training test's subject: 40×32 images, canonical maps of
 * 128² per side, a 2-component pose PCA) and an untrained AvatarNet of 4-channel networks on it: animation is
 * compared with itself (replayed vs eager) and with AvatarNet.forward, so trained weights are not needed.
 */
import { join } from 'node:path';
import { canonicalGaussians, canonicalTensors, type CanonicalTensors } from '../../src/avatar/canonical.js';
import { AVATAR_PRESETS, type AvatarNetConfig } from '../../src/avatar/config.js';
import { AvatarNet } from '../../src/avatar/net.js';
import type { SmplxModel } from '../../src/body/model.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { readSmplParams, type SmplParamSequence } from '../../src/data/smpl-params.js';
import { synthesizeCapture } from '../../src/data/synth/capture.js';
import { getGpu } from '../../src/gpu/index.js';
import { readCanonicalMaps, readPca } from '../../src/prep/files.js';
import type { CanonicalMaps } from '../../src/prep/maps.js';
import type { PosePca } from '../../src/prep/pca.js';
import { prepare } from '../../src/prep/prep.js';
import { initEngine } from '../../src/tensor/index.js';

export const TINY_NET: AvatarNetConfig = {
  ...AVATAR_PRESETS.small,
  poseMapSize: 64,
  mapSize: 128,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
  styleDim: 8,
  viewdirHidden: 4,
};

export interface AnimFixture {
  data: string;
  model: SmplxModel;
  smpl: SmplParamSequence;
  maps: CanonicalMaps;
  pca: { pca: PosePca; pixels: Uint32Array; size: number };
  net: AvatarNet;
  canonical: CanonicalTensors;
}

/** Synthesize + prepare the capture in `root`/capture and build the network (seeded). */
export async function makeFixture(root: string, frames = 3): Promise<AnimFixture> {
  const data = join(root, 'capture');
  const gpu = await getGpu();
  await initEngine(gpu);
  await synthesizeCapture(gpu, {
    cameras: 2,
    width: 40,
    height: 32,
    frames,
    testFrames: 4,
    supersample: 1,
    out: data,
    seed: 1,
  });
  const model = loadSmplxModel(join(data, 'smplx_model.npz'));
  const smpl = readSmplParams(join(data, 'smpl_params.npz'));
  await prepare(gpu, { dataDir: data, model, smpl, size: 128, pcaComponents: 2 });
  const maps = readCanonicalMaps(join(data, 'smpl_pos_map'));
  const pca = readPca(join(data, 'smpl_pos_map', 'pca_2.safetensors'));
  const gaussians = canonicalGaussians(maps);
  const net = AvatarNet.init(TINY_NET, gaussians, { seed: 3 });
  const canonical = canonicalTensors(maps, gaussians);
  return { data, model, smpl, maps, pca, net, canonical };
}
