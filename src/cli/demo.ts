/**
 * `animgs demo` (npm run demo): the built-in synthetic subject end to end, in about a minute on a CPU adapter:
 * check the adapter (doctor), write the small synthetic capture, preprocess it (canonical Gaussian maps, posed
 * maps, pose PCA), and render the canonical Gaussian map skinned to a captured frame beside the captured photo
 * (<out>/preview.png). Later issues grow it into training and animating the avatar.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import { loadSmplxModel } from '../body/model.js';
import { readCalibrationJson } from '../data/camera.js';
import { readSmplParams } from '../data/smpl-params.js';
import { checkSynthTarget, SYNTH_PRESETS, synthesizeCapture, type SynthOptions } from '../data/synth/capture.js';
import { posedMapScene, renderPreview } from '../demo/preview.js';
import { getGpu } from '../gpu/index.js';
import { checkOutputFile, writeAtomicWith } from '../io/node/atomic.js';
import { prepare } from '../prep/prep.js';
import { doctor } from './doctor.js';

export interface DemoOptions {
  out: string;
  /** Rewrite the capture even when `out` already holds one. */
  fresh?: boolean;
  /** Canonical map side (default 512: quick on a CPU). */
  mapSize?: number;
  log?: (s: string) => void;
}

export async function runDemo(opt: DemoOptions): Promise<string> {
  const log = opt.log ?? console.log;
  const out = opt.out;
  const file = join(out, 'preview.png');
  const synthOpt: SynthOptions = { ...SYNTH_PRESETS.small!, out, seed: 1, force: !!opt.fresh, forceFlag: '--fresh' };
  // the folder must be new, this demo's capture (complete or interrupted), or --fresh: checked before any work
  const state = checkSynthTarget(synthOpt);
  checkOutputFile(file, { force: true, what: 'preview' });
  const gpu = await getGpu();
  const t0 = performance.now();
  const secs = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  if (state.kind === 'complete' && !opt.fresh) log(`demo: reusing the capture in ${out} (--fresh rewrites it)`);
  else {
    log(
      state.kind === 'partial' && !opt.fresh
        ? `demo: finishing the interrupted synthetic capture in ${out}`
        : `demo: writing the synthetic capture (small preset) to ${out}`,
    );
    const r = await synthesizeCapture(gpu, synthOpt);
    log(`demo: ${r.cameras.length} cameras × ${r.frames} frames, ${r.rendered} views rendered (${secs()})`);
  }
  const model = loadSmplxModel(join(out, 'smplx_model.npz'));
  const smpl = readSmplParams(join(out, 'smpl_params.npz'));
  log('demo: preprocessing (canonical Gaussian maps, posed position maps, pose PCA)');
  const prep = await prepare(gpu, {
    dataDir: out,
    model,
    smpl,
    size: opt.mapSize ?? 512,
    force: !!opt.fresh,
    forceFlag: '--fresh',
  });
  log(
    `demo: ${prep.gaussians} Gaussians in the canonical maps, ${prep.poseMaps} posed maps` +
      `${prep.reused ? ` (+${prep.reused} kept)` : ''} (${secs()})`,
  );

  const frame = Math.min(smpl.length - 1, Math.floor(smpl.length / 2));
  const cams = readCalibrationJson(join(out, 'calibration.json'));
  const cam = cams[0]!;
  const scene = posedMapScene(model, prep.maps, smpl.frame(frame));
  const img = await renderPreview(gpu, scene, cam);
  const { width: W, height: H } = img;
  const hw = W * H;
  const rendered = Buffer.alloc(3 * hw);
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < 3; c++)
      rendered[3 * p + c] = Math.round(Math.min(1, Math.max(0, img.color[c * hw + p]!)) * 255);
  }
  const photo = join(out, 'images', cam.name, `${String(frame).padStart(8, '0')}.jpg`);
  await writeAtomicWith(file, (tmp) =>
    sharp({ create: { width: 2 * W, height: H, channels: 3, background: '#000' } })
      .composite([
        { input: photo, left: 0, top: 0 },
        { input: rendered, raw: { width: W, height: H, channels: 3 }, left: W, top: 0 },
      ])
      .png()
      .toFile(tmp),
  );
  log(
    `demo: frame ${frame}, camera ${cam.name}: captured photo | canonical Gaussian map skinned and splatted → ${file}`,
  );
  log(`demo: done in ${secs()}. Next: animgs prep / animgs render on your own data (see README).`);
  return file;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the built-in synthetic subject end to end: adapter check, synthetic capture, preprocessing, and a preview ' +
        'of the skinned Gaussian map beside the captured photo',
    )
    .option('--out <dir>', 'folder for the capture and the preview', 'animgs-demo')
    .option('--fresh', 'rewrite the synthetic capture even if the folder holds one')
    .action(async (flags: { out: string; fresh?: boolean }) => {
      const ok = await doctor();
      if (!ok) {
        process.exitCode = 1;
        return;
      }
      console.log('');
      await runDemo({ out: flags.out, fresh: !!flags.fresh });
    });
}
