/** `animgs synth`: write a synthetic multi-view capture (THuman4.0 layout) of the synthetic body in clothes. */
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { SYNTH_PRESETS, synthesizeCapture, type SynthOptions } from '../data/synth/capture.js';
import { getGpu } from '../gpu/index.js';

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
}

function int(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description(
      'write a synthetic multi-view capture (THuman4.0 layout: calibration.json, images/, masks/, smpl_params.npz, ' +
        'the synthetic SMPL-X model smplx_model.npz and a held-out motion poses_test.npz)',
    )
    .requiredOption('--out <dir>', 'output folder')
    .option(
      '--preset <name>',
      `small (4 cams, 256², 20 frames; ~1 min on a CPU) or large (16 cams, 1024², 300 frames)`,
      'small',
    )
    .option('--cameras <n>', 'number of cameras (overrides the preset)')
    .option('--above <n>', 'how many of them sit on the upper ring (default a quarter)')
    .option('--size <WxH|N>', 'image size, e.g. 512 or 640x480')
    .option('--frames <n>', 'training frames')
    .option('--test-frames <n>', 'frames of the held-out motion')
    .option('--seed <n>', 'random seed (motion, colours, body shape)', '1')
    .option('--supersample <n>', 'supersampling factor on top of 4x MSAA')
    .option('--quality <q>', 'JPEG quality 1..100')
    .action(async (flags: SynthFlags) => {
      const preset = SYNTH_PRESETS[flags.preset];
      if (!preset) throw new Error(`unknown preset '${flags.preset}' (use ${Object.keys(SYNTH_PRESETS).join(' or ')})`);
      let width = preset.width,
        height = preset.height;
      if (flags.size) {
        const m = /^(\d+)(?:x(\d+))?$/.exec(flags.size);
        if (!m) throw new Error(`--size '${flags.size}': use N or WxH`);
        width = Number(m[1]);
        height = Number(m[2] ?? m[1]);
      }
      const opt: SynthOptions = {
        ...preset,
        out: flags.out,
        seed: int(flags.seed, 'seed', 0)!,
        width,
        height,
        cameras: int(flags.cameras, 'cameras') ?? preset.cameras,
        frames: int(flags.frames, 'frames') ?? preset.frames,
      };
      const above = int(flags.above, 'above', 0);
      if (above !== undefined) opt.camerasAbove = above;
      const tf = int(flags.testFrames, 'test-frames');
      if (tf !== undefined) opt.testFrames = tf;
      const ss = int(flags.supersample, 'supersample');
      if (ss !== undefined) opt.supersample = ss;
      const q = int(flags.quality, 'quality');
      if (q !== undefined) opt.quality = q;
      const gpu = await getGpu();
      console.log(
        `synth: ${opt.cameras} cameras, ${width}x${height}, ${opt.frames} frames (seed ${opt.seed}) on ${gpu.info.kind} ` +
          `adapter -> ${opt.out}`,
      );
      const bar = new SingleBar(
        { format: '  frames [{bar}] {value}/{total} | {eta_formatted} left', etaBuffer: 20 },
        Presets.shades_classic,
      );
      bar.start(opt.frames, 0);
      const res = await synthesizeCapture(gpu, { ...opt, onFrame: (d) => bar.update(d) });
      bar.stop();
      console.log(
        `synth: done in ${res.seconds.toFixed(1)} s: ${res.frames} frames x ${res.cameras.length} cameras, ` +
          `${res.testFrames} held-out poses in poses_test.npz. Next: animgs prep --data ${opt.out}`,
      );
    });
}
