/** `animgs prep`: canonical Gaussian maps, posed position maps and the pose PCA of a capture. */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadTrainConfig } from '../avatar/config-file.js';
import { loadSmplxModel } from '../body/node/files.js';
import { frameIds } from '../data/dataset.js';
import { readSmplParams } from '../data/smpl-params.js';
import { getGpu } from '../gpu/index.js';
import { InputError, isInputError } from '../io/errors.js';
import { POS_MAP_DIR } from '../prep/files.js';
import { checkPrepTarget, prepare, type PrepOptions } from '../prep/prep.js';
import { frameIdsOf, intOption, parseFrameSpec } from './options.js';
import { progress } from './progress.js';

interface PrepFlags {
  data?: string;
  config?: string;
  model?: string;
  frames?: string;
  pcaFrames?: string;
  size: string;
  template?: string;
  pca?: string;
  out?: string;
  resume: boolean;
  force?: boolean;
}

/**
 * The capture settings of a reference-style avatar.yaml (the train config's strict reader: unknown keys and wrong
 * types are errors naming the key). Every problem with the file is an InputError (a YAML syntax error too).
 */
export function readPrepConfig(path: string): {
  dataDir: string;
  frameRange: number[] | string;
  smplxModel: string;
  /** train.data.smpl_pos_map_dir: where training, animation and evaluation read the maps. */
  posMapDir: string;
} {
  try {
    const cfg = loadTrainConfig(path);
    const d = cfg.train.data;
    return {
      dataDir: d.dataDir,
      frameRange: d.frameRange,
      smplxModel: cfg.train.smplxModel,
      posMapDir: d.smplPosMapDir,
    };
  } catch (e) {
    if (isInputError(e)) throw e;
    throw new InputError((e as Error)?.message ?? String(e));
  }
}

/** Everything `prepare` needs, read and checked from the flags (files parsed, frames in range), before the GPU. */
export function prepOptionsFromFlags(flags: PrepFlags): Omit<PrepOptions, 'onStage' | 'onFrame' | 'onPca'> {
  let dataDir = flags.data;
  let cfgRange: number[] | string | undefined;
  let cfgModel: string | undefined;
  let outDir = flags.out;
  if (flags.config) {
    const cfg = readPrepConfig(flags.config);
    dataDir ??= cfg.dataDir;
    cfgRange = cfg.frameRange;
    if (!flags.data) cfgModel = cfg.smplxModel;
    // The maps go where the config's readers (train, animate, eval) look for them.
    if (resolve(dataDir) === resolve(cfg.dataDir)) {
      if (outDir !== undefined && resolve(outDir) !== resolve(cfg.posMapDir)) {
        throw new InputError(
          `--out ${outDir}: ${flags.config} reads the maps from ${cfg.posMapDir} (train.data.smpl_pos_map_dir): ` +
            `leave --out out, or set train.data.smpl_pos_map_dir: ${resolve(outDir)} in ${flags.config}`,
        );
      }
      outDir = cfg.posMapDir;
    }
  }
  if (!dataDir) throw new InputError('give --data <dir> (or --config with train.data.data_dir)');
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new InputError(`--data ${dataDir}: no such capture folder`);
  }
  const smplPath = join(dataDir, 'smpl_params.npz');
  if (!existsSync(smplPath)) {
    throw new InputError(`no SMPL-X fits at ${smplPath}: a capture needs its smpl_params.npz (see README)`);
  }
  const size = intOption(flags.size, '--size', { min: 32, max: 8192 })!;
  if (size % 32 !== 0) throw new InputError(`--size ${size}: must be a multiple of 32 (e.g. 512 or 1024)`);
  const pca = intOption(flags.pca, '--pca', { min: 0, max: 10_000 });
  const frameSpec = flags.frames !== undefined ? parseFrameSpec(flags.frames, '--frames') : undefined;
  const pcaSpec = flags.pcaFrames !== undefined ? parseFrameSpec(flags.pcaFrames, '--pca-frames') : undefined;
  const smpl = readSmplParams(smplPath);
  const model = loadSmplxModel(flags.model ?? cfgModel ?? join(dataDir, 'smplx_model.npz'));
  let frames: number[];
  if (frameSpec) frames = frameIdsOf(frameSpec, smpl.length, '--frames', smplPath);
  else if (cfgRange !== undefined) {
    frames = frameIds(cfgRange, smpl.length, dataDir);
    const bad = frames.find((f) => f >= smpl.length);
    if (bad !== undefined) {
      throw new InputError(
        `${flags.config}: train.data.frame_range reaches frame ${bad}, but ${smplPath} holds ${smpl.length} frames`,
      );
    }
  } else frames = Array.from({ length: smpl.length }, (_, i) => i);
  const pcaFrames = pcaSpec ? frameIdsOf(pcaSpec, smpl.length, '--pca-frames', smplPath) : frames;
  return {
    dataDir,
    model,
    smpl,
    frames,
    pcaFrames,
    size,
    templatePath: flags.template === 'none' ? null : flags.template,
    ...(pca !== undefined ? { pcaComponents: pca } : {}),
    ...(outDir ? { outDir } : {}),
    resume: flags.resume,
    force: !!flags.force,
  };
}

export function registerPrep(program: Command): void {
  program
    .command('prep')
    .description(
      'render the canonical front/back Gaussian maps, the per-frame posed position maps and the pose PCA of a capture ' +
        '(writes <data>/smpl_pos_map/, or --out); an interrupted run resumes when run again',
    )
    .option('--data <dir>', 'capture folder (holds smpl_params.npz)')
    .option(
      '--config <yaml>',
      'a reference-style avatar.yaml: takes train.data.data_dir, frame_range and smpl_pos_map_dir (the output folder)',
    )
    .option('--model <file>', 'SMPL-X model (.npz/.pkl); default <data>/smplx_model.npz')
    .option('--frames <spec>', 'frames for posed maps: start:end[:step] (end exclusive) or a,b,c (default: all)')
    .option('--pca-frames <spec>', 'frames the PCA is fitted on (default: the --frames)')
    .option('--size <n>', 'canonical map side in pixels, a multiple of 32', '1024')
    .option('--template <ply>', "template mesh (default <data>/template.ply if present; 'none' for SMPL-X)")
    .option('--pca <k>', 'PCA components (0 = skip; default 20, or frames − 1 when fewer)')
    .option(
      '--out <dir>',
      'output folder (default <data>/smpl_pos_map; e.g. for a read-only dataset: then set ' +
        'train.data.smpl_pos_map_dir to it in avatar.yaml, where train, animate and eval look)',
    )
    .option('--no-resume', 'recompute posed maps that already exist')
    .option('--force', 'replace outputs made with other settings or inputs (default: refuse)')
    .action(async (flags: PrepFlags) => {
      const opt = prepOptionsFromFlags(flags);
      checkPrepTarget(opt); // refuses (or, with --force, clears) before the GPU starts
      const gpu = await getGpu();
      const bar = progress({ prefix: 'prep' });
      let current = '';
      const t0 = performance.now();
      const res = await prepare(gpu, {
        ...opt,
        force: false, // cleared above
        onStage: (s) => {
          bar.stop();
          current = '';
          console.log(`prep: ${s}`);
        },
        onFrame: (done, total) => {
          if (current !== 'posed') bar.start('posed maps', total, done - 1);
          current = 'posed';
          bar.update(done);
        },
        onPca: (done, total) => {
          if (current !== 'pca') bar.start('PCA Gram rows', total, done - 1);
          current = 'pca';
          bar.update(done);
        },
      });
      bar.stop();
      console.log(
        `prep: done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${res.gaussians} Gaussians, ` +
          `${res.poseMaps} posed maps written${res.reused ? ` (${res.reused} kept from an earlier run)` : ''}, ` +
          `${res.pca ? `PCA ${res.pca.count} components, ` : ''}output ${res.outDir}` +
          (res.gaussianPly ? `; view the canonical Gaussians: animgs render ${res.gaussianPly} --camera ...` : ''),
      );
      if (resolve(res.outDir) !== resolve(join(opt.dataDir, POS_MAP_DIR)) && !flags.config) {
        console.log(
          `prep: train, animate and eval find these maps when the avatar.yaml says ` +
            `train.data: {smpl_pos_map_dir: ${resolve(res.outDir)}}`,
        );
      }
    });
}
