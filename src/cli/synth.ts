/** `animgs synth`: write a synthetic multi-view capture (THuman4.0 layout) of the synthetic body in clothes. */
import type { Command } from 'commander';
import {
  checkSynthTarget,
  SYNTH_LIMITS,
  SYNTH_PRESETS,
  synthesizeCapture,
  validateSynthOptions,
  type SynthOptions,
} from '../data/synth/capture.js';
import { getGpu } from '../gpu/index.js';
import { InputError } from '../io/errors.js';
import { intOption, sizeOption } from './options.js';
import { progress } from './progress.js';

interface SynthFlags {
  out: string;
  preset: string;
  cameras?: string;
  above?: string;
  size?: string;
  frames?: string;
  testFrames?: string;
  seed: string;
  supersample?: string;
  quality?: string;
  force?: boolean;
}

/** The settings from the flags, every value checked (before any GPU or file work). */
export function synthOptionsFromFlags(flags: SynthFlags): SynthOptions {
  const preset = SYNTH_PRESETS[flags.preset];
  if (!preset) {
    throw new InputError(`--preset '${flags.preset}': use ${Object.keys(SYNTH_PRESETS).join(' or ')}`);
  }
  const [lo, hi] = SYNTH_LIMITS.size;
  const size = flags.size ? sizeOption(flags.size, '--size', lo, hi) : { width: preset.width, height: preset.height };
  const opt: SynthOptions = {
    ...preset,
    out: flags.out,
    seed: intOption(flags.seed, '--seed', { min: 0, max: 2 ** 31 - 1 })!,
    width: size.width,
    height: size.height,
    cameras: intOption(flags.cameras, '--cameras', { min: 1, max: SYNTH_LIMITS.cameras[1] }) ?? preset.cameras,
    frames: intOption(flags.frames, '--frames', { min: 1, max: SYNTH_LIMITS.frames[1] }) ?? preset.frames,
    force: !!flags.force,
  };
  const above = intOption(flags.above, '--above', { min: 0, max: opt.cameras });
  if (above !== undefined) opt.camerasAbove = above;
  const tf = intOption(flags.testFrames, '--test-frames', { min: 1, max: SYNTH_LIMITS.frames[1] });
  if (tf !== undefined) opt.testFrames = tf;
  const ss = intOption(flags.supersample, '--supersample', { min: 1, max: SYNTH_LIMITS.supersample[1] });
  if (ss !== undefined) opt.supersample = ss;
  const q = intOption(flags.quality, '--quality', { min: 1, max: 100 });
  if (q !== undefined) opt.quality = q;
  validateSynthOptions(opt);
  return opt;
}

export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description(
      'write a synthetic multi-view capture (THuman4.0 layout: calibration.json, images/, masks/, smpl_params.npz, ' +
        'the synthetic SMPL-X model smplx_model.npz and a held-out motion poses_test.npz); an interrupted run ' +
        'resumes when run again with the same settings',
    )
    .requiredOption('--out <dir>', 'output folder (new or empty; or an interrupted capture to finish)')
    .option(
      '--preset <name>',
      `small (4 cams, 256², 20 frames; ~1 min on a CPU) or large (16 cams, 1024², 300 frames)`,
      'small',
    )
    .option('--cameras <n>', 'number of cameras, 1..99 (overrides the preset)')
    .option('--above <n>', 'how many of them sit on the upper ring (default a quarter)')
    .option('--size <WxH|N>', 'image size, e.g. 512 or 640x480 (16..8192)')
    .option('--frames <n>', 'training frames')
    .option('--test-frames <n>', 'frames of the held-out motion')
    .option('--seed <n>', 'random seed (motion, colours, body shape)', '1')
    .option('--supersample <n>', 'supersampling factor on top of 4x MSAA (1..8)')
    .option('--quality <q>', 'JPEG quality 1..100')
    .option('--force', 'replace what --out holds (another capture, other settings, other files)')
    .action(async (flags: SynthFlags) => {
      const opt = synthOptionsFromFlags(flags);
      checkSynthTarget(opt); // refuses before the GPU starts when --out holds something else
      const gpu = await getGpu();
      console.log(
        `synth: ${opt.cameras} cameras, ${opt.width}x${opt.height}, ${opt.frames} frames (seed ${opt.seed}) on ` +
          `${gpu.info.kind} adapter -> ${opt.out}`,
      );
      const bar = progress({ prefix: 'synth' });
      let started = false;
      const res = await synthesizeCapture(gpu, {
        ...opt,
        onFrame: (d, total) => {
          if (!started) bar.start('frames', total, d - 1);
          started = true;
          bar.update(d);
        },
      });
      bar.stop();
      if (res.outcome === 'complete') {
        console.log(`synth: ${opt.out} already holds this capture, complete (--force rewrites it)`);
      } else {
        console.log(
          `synth: ${res.outcome === 'resumed' ? `resumed: ${res.rendered} missing views rendered` : 'done'} in ` +
            `${res.seconds.toFixed(1)} s: ${res.frames} frames x ${res.cameras.length} cameras, ${res.testFrames} ` +
            `held-out poses in poses_test.npz.`,
        );
      }
      console.log(`Next: animgs prep --data ${opt.out}`);
    });
}
