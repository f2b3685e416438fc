/** `animgs prep`: canonical Gaussian maps, posed position maps and the pose PCA of a capture. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { loadSmplxModel } from '../body/model.js';
import { frameIds } from '../data/dataset.js';
import { readSmplParams } from '../data/smpl-params.js';
import { getGpu } from '../gpu/index.js';
import { prepare } from '../prep/prep.js';

interface PrepFlags {
  data?: string;
  config?: string;
  model?: string;
  frames?: string;
  pcaFrames?: string;
  size: string;
  template?: string;
  pca: string;
  resume: boolean;
}

/** "a:b" or "a:b:step" (end exclusive) or "a,b,c". */
export function parseFrameSpec(spec: string): number[] | [number, number, number] {
  if (spec.includes(':')) {
    const p = spec.split(':').map(Number);
    if (p.length < 2 || p.length > 3 || p.some((v) => !Number.isInteger(v))) {
      throw new Error(`--frames '${spec}': use start:end or start:end:step`);
    }
    return [p[0]!, p[1]!, p[2] ?? 1];
  }
  const ids = spec.split(',').map(Number);
  if (ids.some((v) => !Number.isInteger(v))) throw new Error(`--frames '${spec}': not a list of frame ids`);
  return ids;
}

function framesFrom(spec: string | undefined, cfgRange: unknown, total: number, dataDir: string): number[] {
  if (spec) {
    const p = parseFrameSpec(spec);
    return spec.includes(':') ? frameIds(p, total) : p;
  }
  if (cfgRange !== undefined) return frameIds(cfgRange as number[] | string, total, dataDir);
  return frameIds(undefined, total);
}

export function registerPrep(program: Command): void {
  program
    .command('prep')
    .description(
      'render the canonical front/back Gaussian maps, the per-frame posed position maps and the pose PCA of a capture ' +
        '(writes <data>/smpl_pos_map/)',
    )
    .option('--data <dir>', 'capture folder (holds smpl_params.npz)')
    .option('--config <yaml>', 'a reference-style avatar.yaml: takes train.data.data_dir and train.data.frame_range')
    .option('--model <file>', 'SMPL-X model (.npz/.pkl); default <data>/smplx_model.npz when present')
    .option('--frames <spec>', 'frames for posed maps: start:end[:step] or a,b,c (default: config frame_range or all)')
    .option('--pca-frames <spec>', 'frames the PCA is fitted on (default: the --frames)')
    .option('--size <n>', 'canonical map side in pixels', '1024')
    .option('--template <ply>', "template mesh (default <data>/template.ply if present; 'none' for SMPL-X)")
    .option('--pca <k>', 'PCA components (0 = skip)', '20')
    .option('--no-resume', 'recompute posed maps that already exist')
    .action(async (flags: PrepFlags) => {
      let dataDir = flags.data;
      let cfgRange: unknown;
      if (flags.config) {
        const cfg = parseYaml(readFileSync(flags.config, 'utf8')) as { train?: { data?: Record<string, unknown> } };
        const d = cfg?.train?.data;
        if (!d) throw new Error(`${flags.config}: no train.data section`);
        dataDir ??= d.data_dir as string | undefined;
        cfgRange = d.frame_range;
      }
      if (!dataDir) throw new Error('give --data <dir> (or --config with train.data.data_dir)');
      const smplPath = join(dataDir, 'smpl_params.npz');
      if (!existsSync(smplPath)) throw new Error(`no SMPL-X fits at ${smplPath}`);
      const modelPath = flags.model ?? join(dataDir, 'smplx_model.npz');
      const model = loadSmplxModel(modelPath);
      const smpl = readSmplParams(smplPath);
      const frames = framesFrom(flags.frames, cfgRange, smpl.length, dataDir);
      const pcaFrames = flags.pcaFrames ? framesFrom(flags.pcaFrames, undefined, smpl.length, dataDir) : frames;
      const size = Number(flags.size);
      if (!Number.isInteger(size) || size % 32 !== 0)
        throw new Error(`--size must be a multiple of 32, got ${flags.size}`);
      const gpu = await getGpu();
      const bar = new SingleBar(
        { format: '  {what} [{bar}] {value}/{total} | {eta_formatted} left', etaBuffer: 50 },
        Presets.shades_classic,
      );
      let started = false;
      const t0 = performance.now();
      const res = await prepare(gpu, {
        dataDir,
        model,
        smpl,
        frames,
        pcaFrames,
        size,
        templatePath: flags.template === 'none' ? null : flags.template,
        pcaComponents: Number(flags.pca),
        resume: flags.resume,
        onStage: (s) => {
          if (started) {
            bar.stop();
            started = false;
          }
          console.log(`prep: ${s}`);
        },
        onFrame: (done, total) => {
          if (!started) {
            bar.start(total, 0, { what: 'posed maps' });
            started = true;
          }
          bar.update(done);
        },
        onPca: (done, total) => {
          if (!started) {
            bar.start(total, 0, { what: 'PCA Gram rows' });
            started = true;
          }
          bar.update(done);
        },
      });
      if (started) bar.stop();
      console.log(
        `prep: done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${res.gaussians} Gaussians, ` +
          `${res.poseMaps} posed maps written, ${res.pca ? `PCA ${res.pca.count} components, ` : ''}output ${res.outDir}`,
      );
    });
}
