/**
 * A tiny prepared capture for the animation tests (the training test's subject: 40×32 images, canonical maps of
 * 128² per side, a 2-component pose PCA) and an untrained AvatarNet of 4-channel networks on it: animation is
 * compared with itself (replayed vs eager) and with AvatarNet.forward, so trained weights are not needed.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalGaussians, canonicalTensors, type CanonicalTensors } from '../../src/avatar/canonical.js';
import { AVATAR_PRESETS, type AvatarNetConfig } from '../../src/avatar/config.js';
import { AvatarNet, avatarNetEntries } from '../../src/avatar/net.js';
import type { SmplxModel } from '../../src/body/model.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { readSmplParams, type SmplParamSequence } from '../../src/data/smpl-params.js';
import { getGpu } from '../../src/gpu/index.js';
import { saveSafetensors } from '../../src/io/node/safetensors.js';
import { readCanonicalMaps, readPca } from '../../src/prep/files.js';
import type { CanonicalMaps } from '../../src/prep/maps.js';
import type { PosePca } from '../../src/prep/pca.js';
import { initEngine } from '../../src/tensor/index.js';
import { inject } from 'vitest';
import { tinyCapture } from '../helpers/tiny-capture.js';
import type {} from '../setup/run-cache.js'; // the type of inject('animgsRunCache') (also where vitest's setup files are not compiled: bench)

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

/** The test run's fixture folder (test/setup/run-cache.ts); '' outside vitest (bench/queue-split.ts) or without it. */
function runCache(): string {
  try {
    return inject('animgsRunCache') ?? '';
  } catch {
    return ''; // not in a vitest worker: inject cannot reach the runner's state
  }
}

/** Synthesize + prepare the capture in `root`/capture and build the network (seeded). */
export async function makeFixture(root: string, frames = 3): Promise<AnimFixture> {
  const data = join(root, 'capture');
  const gpu = await getGpu();
  await initEngine(gpu);
  // The capture is the same for every file that makes this fixture (~3 s of CPU to synthesize and prepare, more with
  // its kernels to compile): made once per test run (test/setup/run-cache.ts) and copied, modification times kept
  // (prep's stage markers record its inputs' own). The first file to finish making it keeps its copy; a file that
  // made it beside another discards its own.
  const run = runCache();
  const cached = run ? join(run, `anim-capture-${frames}`) : '';
  const copy = { recursive: true, preserveTimestamps: true };
  if (cached && existsSync(cached)) cpSync(cached, data, copy);
  else {
    await tinyCapture(gpu, data, { frames, mapSize: 128, pcaK: 2 });
    if (cached) {
      const tmp = mkdtempSync(`${cached}.tmp-`);
      cpSync(data, tmp, copy);
      try {
        renameSync(tmp, cached);
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // another file's is there already
      }
    }
  }
  const model = loadSmplxModel(join(data, 'smplx_model.npz'));
  const smpl = readSmplParams(join(data, 'smpl_params.npz'));
  const maps = readCanonicalMaps(join(data, 'smpl_pos_map'));
  const pca = readPca(join(data, 'smpl_pos_map', 'pca_2.safetensors'));
  const gaussians = canonicalGaussians(maps);
  const net = AvatarNet.init(TINY_NET, gaussians, { seed: 3 });
  const canonical = canonicalTensors(maps, gaussians);
  return { data, model, smpl, maps, pca, net, canonical };
}

/** A checkpoint folder of ours (`dir/batch_00000001` + `latest.json`) holding the fixture's (untrained) network. */
export async function writeCheckpoint(fx: AnimFixture, dir: string): Promise<void> {
  const ck = join(dir, 'batch_00000001');
  mkdirSync(ck, { recursive: true });
  const weights = await fx.net.stateDict();
  const shapes = new Map(avatarNetEntries(TINY_NET).map((e) => [e.name, e.shape]));
  saveSafetensors(
    join(ck, 'net.safetensors'),
    new Map([...weights].map(([k, v]) => [k, { shape: shapes.get(k)!, data: v }])),
    { format: 'animgs-avatar-checkpoint' },
  );
  const settings = {
    net: TINY_NET,
    dataDir: fx.data,
    frames: [0, 1, 2],
    cameras: [],
    seed: 1,
    gaussians: fx.maps.pixels.length,
  };
  const state = {
    format: 'animgs-avatar-checkpoint',
    version: 1,
    stage: 'train',
    iteration: 1,
    sampler: { rng: [1, 2, 3, 4], iteration: 1 },
    adamSteps: {},
    settings,
    savedAt: '',
  };
  writeFileSync(join(ck, 'state.json'), JSON.stringify(state));
  writeFileSync(
    join(dir, 'latest.json'),
    JSON.stringify({ checkpoint: 'batch_00000001', stage: 'train', iteration: 1 }),
  );
}
