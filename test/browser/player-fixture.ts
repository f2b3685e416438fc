/**
 * A tiny exported avatar for the player's tests: the animation tests' tiny trained avatar (test/animate/fixture.ts:
 * an untrained 4-channel AvatarNet on a 40×32 synthetic capture), saved as a checkpoint of ours with an avatar.yaml
 * naming it, so that `export-web` and `animate` load it the same way.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { avatarNetEntries } from '../../src/avatar/net.js';
import { saveSafetensors } from '../../src/io/node/safetensors.js';
import { makeFixture, TINY_NET, type AnimFixture } from '../animate/fixture.js';

export interface PlayerFixture {
  fx: AnimFixture;
  /** The avatar.yaml. */
  yaml: string;
}

export async function makePlayerFixture(root: string): Promise<PlayerFixture> {
  const fx = await makeFixture(root);
  const dir = join(root, 'results');
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
  writeFileSync(
    join(ck, 'state.json'),
    JSON.stringify({
      format: 'animgs-avatar-checkpoint',
      version: 1,
      stage: 'train',
      iteration: 1,
      sampler: { rng: [1, 2, 3, 4], iteration: 1 },
      adamSteps: {},
      settings,
      savedAt: '',
    }),
  );
  writeFileSync(
    join(dir, 'latest.json'),
    JSON.stringify({ checkpoint: 'batch_00000001', stage: 'train', iteration: 1 }),
  );
  const yaml = join(root, 'avatar.yaml');
  writeFileSync(
    yaml,
    `mode: test
train:
  dataset: MvRgbDatasetTHuman4
  data: {data_dir: ${fx.data}, frame_range: [0, 3]}
  net_ckpt_dir: ${dir}
model: {with_viewdirs: true, random_style: false, preset: small}
test:
  pose_data: {data_path: ${join(fx.data, 'poses_test.npz')}, frame_range: [0, 3]}
  view_setting: front
  n_pca: 2
`,
  );
  return { fx, yaml };
}
