/**
 * The tests' tiny capture and the animation fixtures' config, shared by tests and benches (no vitest here: benches import it on the
 * GPU machine): a synthetic capture of tiny images (2 cameras of 40×32; the maps, not the photos, set an avatar's
 * size) prepared at a map size, and the avatar.yaml `animate` reads.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { readSmplParams } from '../../src/data/smpl-params.js';
import { synthesizeCapture } from '../../src/data/synth/capture.js';
import type { Gpu } from '../../src/gpu/index.js';
import { prepare } from '../../src/prep/prep.js';

/**
 * Synthesize the tiny capture into `data` (`frames` training frames; `cameras` 2 and `testFrames` 4 held-out poses
 * unless given) and prepare its maps.
 */
export async function tinyCapture(
  gpu: Gpu,
  data: string,
  opts: { frames: number; mapSize: number; pcaK: number; cameras?: number; testFrames?: number },
): Promise<void> {
  await synthesizeCapture(gpu, {
    cameras: opts.cameras ?? 2,
    width: 40,
    height: 32,
    frames: opts.frames,
    testFrames: opts.testFrames ?? 4,
    supersample: 1,
    out: data,
    seed: 1,
  });
  const model = loadSmplxModel(join(data, 'smplx_model.npz'));
  const smpl = readSmplParams(join(data, 'smpl_params.npz'));
  await prepare(gpu, { dataDir: data, model, smpl, size: opts.mapSize, pcaComponents: opts.pcaK });
}

/** Write `<root>/avatar.yaml` for `animate`: the capture, the checkpoint folder, the preset and the test section. */
export function writeAnimateYaml(
  root: string,
  o: { data: string; ckptDir: string; lastFrame: number; preset: 'full' | 'small'; test: string },
): string {
  const yaml = join(root, 'avatar.yaml');
  writeFileSync(
    yaml,
    `mode: test
train:
  dataset: MvRgbDatasetTHuman4
  data: {data_dir: ${o.data}, frame_range: [0, ${o.lastFrame}]}
  net_ckpt_dir: ${o.ckptDir}
model: {with_viewdirs: true, random_style: false, preset: ${o.preset}}
test:
${o.test
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`,
  );
  return yaml;
}
