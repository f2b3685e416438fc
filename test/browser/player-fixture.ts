/**
 * A tiny exported avatar for the player's tests: the animation tests' tiny trained avatar (test/animate/fixture.ts:
 * an untrained 4-channel AvatarNet on a 40×32 synthetic capture), saved as a checkpoint of ours with an avatar.yaml
 * naming it, so that `export-web` and `animate` load it the same way.
 */
import { join } from 'node:path';
import { makeFixture, writeCheckpoint, type AnimFixture } from '../animate/fixture.js';
import { writeAnimateYaml } from '../helpers/tiny-capture.js';

export interface PlayerFixture {
  fx: AnimFixture;
  /** The avatar.yaml. */
  yaml: string;
}

export async function makePlayerFixture(root: string): Promise<PlayerFixture> {
  const fx = await makeFixture(root);
  const dir = join(root, 'results');
  await writeCheckpoint(fx, dir);
  const yaml = writeAnimateYaml(root, {
    data: fx.data,
    ckptDir: dir,
    lastFrame: 3,
    preset: 'small',
    test: `pose_data: {data_path: ${join(fx.data, 'poses_test.npz')}, frame_range: [0, 3]}\nview_setting: front\nn_pca: 2`,
  });
  return { fx, yaml };
}
