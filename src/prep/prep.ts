/**
 * `animgs prep`: a capture's canonical maps, per-frame posed position maps and the pose PCA. Everything goes to `<data_dir>/smpl_pos_map/` (see files.ts) unless `outDir`
 * says elsewhere (a read-only dataset), plus `canonical_gaussians.ply`, the canonical Gaussians as a standard 3DGS
 * .ply that `animgs render` and common splat viewers open.
 *
 * Safe to interrupt and to rerun. Each stage (canonical, posed, pca) records its parameters in a marker
 * (.animgs-<stage>.json) before its first output and marks it complete after its last; outputs are written
 * atomically. A rerun reuses posed maps only under a marker whose parameters (map size, template and its weight volume, the model's and
 * smpl_params' size and modification time) match, and a complete PCA only with the same components and frames.
 * Outputs made with other parameters, or files that no marker describes (e.g. unpacked preprocessed files), are
 * never mixed with new ones: prep refuses, naming what differs, unless `force` (which removes them first).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canoToLive } from '../body/canonical.js';
import type { SmplxModel } from '../body/model.js';
import type { Gpu } from '../gpu/index.js';
import type { SmplParamSequence } from '../data/smpl-params.js';
import { InputError } from '../io/errors.js';
import { checkOutputDir, removeStaleTemps } from '../io/node/atomic.js';
import {
  beginStage,
  completeStage,
  differences,
  fileStamp,
  markerPath,
  readStage,
  type StageParams,
} from '../io/node/stage.js';
import { sceneToPly } from '../splat/ply.js';
import { writePly } from '../splat/node/ply.js';
import {
  CANO_MAPS_FILE,
  CANO_NML_EXR,
  CANO_POS_EXR,
  frontForeground,
  INIT_LBS_NPY,
  pcaFeatures,
  POS_MAP_DIR,
  poseMapName,
  readPoseMap,
  writeCanonicalMaps,
  writePca,
  writePoseMap,
} from './files.js';
import {
  aabbCenter,
  canonicalMaps,
  gaussianNormals,
  gaussianPositions,
  type CanonicalMaps,
  type CanonicalMesh,
} from './maps.js';
import { fitPca, type PosePca } from './pca.js';
import { PoseMapGpu, poseMapSampler } from './posemap.js';
import { smplxCanonicalMesh, templateFromPly } from './template.js';
import { applyVolumeWeights, captureWeightVolume, captureWeightVolumePath } from './template/prep-weights.js';

export interface PrepOptions {
  dataDir: string;
  model: SmplxModel;
  smpl: SmplParamSequence;
  /** Frames to make posed maps for (default all of smpl_params). */
  frames?: readonly number[];
  /** Frames the PCA is fitted on (default `frames`). */
  pcaFrames?: readonly number[];
  /** Canonical map side (default 1024; posed maps are half). */
  size?: number;
  /** A template mesh (.ply); default `<dataDir>/template.ply` when it exists, else the canonical SMPL-X. */
  templatePath?: string | null;
  /**
   * PCA components; 0 = no PCA. Default 20, or fewer when the PCA frames allow fewer (T − 1); an explicit count
   * above what the frames allow is an error.
   */
  pcaComponents?: number;
  /** Output folder (default `<dataDir>/smpl_pos_map`). */
  outDir?: string;
  /** Skip posed maps that already exist under a matching marker (resume). Default true. */
  resume?: boolean;
  /** Replace outputs made with other parameters (or not made by prep) instead of refusing. Default false. */
  force?: boolean;
  /** The flag named in refusals (default --force). */
  forceFlag?: string;
  /** Also write canonical_gaussians.ply (default true). */
  writeGaussianPly?: boolean;
  onStage?: (stage: string) => void;
  onFrame?: (done: number, total: number) => void;
  /** Progress of the PCA's Gram matrix (rows done of T). */
  onPca?: (done: number, total: number) => void;
}

export interface PrepResult {
  outDir: string;
  maps: CanonicalMaps;
  template: 'smplx' | string;
  gaussians: number;
  poseMaps: number;
  /** Posed maps reused from an earlier (interrupted) run with the same parameters. */
  reused: number;
  pca?: PosePca;
  /** The PCA file written or reused (absent without a PCA). */
  pcaFile?: string;
  /** The canonical Gaussians as a 3DGS .ply. */
  gaussianPly?: string;
}

/** The canonical Gaussians as a 3DGS .ply (canonical_gaussians.ply). */
export const CANO_GAUSSIANS_PLY = 'canonical_gaussians.ply';
const PCA_RE = /^pca_\d+\.safetensors$/;
const POSED_RE = /^\d{8}\.exr$/;

/** The identity of an input: name, size and modification time when it is a file, else its name. */
function inputId(source: string): unknown {
  return existsSync(source) ? fileStamp(source) : source;
}

/** What prep would write into `outDir` with these options, stage by stage (their markers' parameters). */
export function prepParams(opt: PrepOptions): {
  outDir: string;
  size: number;
  frames: number[];
  pcaFrames: number[];
  pcaCount: number;
  template: string | null;
  canonical: StageParams;
  posed: StageParams;
  pca: StageParams;
} {
  const size = opt.size ?? 1024;
  if (!Number.isInteger(size) || size < 32 || size > 8192 || size % 32 !== 0) {
    throw new InputError(`--size ${size}: the canonical map side must be a multiple of 32 from 32 to 8192`);
  }
  const outDir = opt.outDir ?? join(opt.dataDir, POS_MAP_DIR);
  const T = opt.smpl.length;
  const frames = [...(opt.frames ?? Array.from({ length: T }, (_, i) => i))];
  const pcaFrames = [...(opt.pcaFrames ?? frames)];
  for (const [flag, list] of [
    ['--frames', frames],
    ['--pca-frames', pcaFrames],
  ] as const) {
    if (list.length === 0) throw new InputError(`${flag}: no frames selected`);
    const bad = list.find((f) => !(Number.isInteger(f) && f >= 0 && f < T));
    if (bad !== undefined) {
      throw new InputError(`${flag}: frame ${bad} is not in ${opt.smpl.source}, which holds ${T} frames (0..${T - 1})`);
    }
  }
  const distinct = new Set(pcaFrames).size;
  const most = Math.max(0, distinct - 1);
  let pcaCount: number;
  if (opt.pcaComponents === undefined) pcaCount = Math.min(20, most);
  else {
    pcaCount = opt.pcaComponents;
    if (!Number.isInteger(pcaCount) || pcaCount < 0) {
      throw new InputError(`--pca ${pcaCount}: expected a number of components (0 = no PCA)`);
    }
    if (pcaCount > most) {
      throw new InputError(
        `--pca ${pcaCount}: a PCA over ${distinct} distinct frames has at most ${most} components; use --pca ` +
          `${most} or fewer, or fit it on more frames (--pca-frames)`,
      );
    }
  }
  const tplPath = opt.templatePath === undefined ? join(opt.dataDir, 'template.ply') : opt.templatePath;
  if (opt.templatePath && !existsSync(opt.templatePath)) {
    throw new InputError(`template ${opt.templatePath} does not exist (give a .ply mesh, or 'none' for SMPL-X)`);
  }
  const template = tplPath && existsSync(tplPath) ? tplPath : null;
  const volumePath = template ? captureWeightVolumePath(opt.dataDir) : null;
  const canonical: StageParams = {
    size,
    model: inputId(opt.model.source),
    betas: Array.from(opt.smpl.betas),
    template: template ? inputId(template) : 'smplx',
    // with a template the maps' weights come from the volume when there is one: a new volume makes new maps
    ...(volumePath ? { weightVolume: inputId(volumePath) } : {}),
  };
  const posed: StageParams = { ...canonical, smplParams: inputId(opt.smpl.source) };
  const pca: StageParams = { ...posed, components: pcaCount, pcaFrames };
  return { outDir, size, frames, pcaFrames, pcaCount, template, canonical, posed, pca };
}

/** Our outputs in a smpl_pos_map folder (what `force` removes). */
function ourOutputs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const fixed = new Set([CANO_POS_EXR, CANO_NML_EXR, INIT_LBS_NPY, CANO_MAPS_FILE, CANO_GAUSSIANS_PLY]);
  return readdirSync(dir).filter((n) => fixed.has(n) || PCA_RE.test(n) || POSED_RE.test(n));
}

/**
 * Check `outDir` before any work: refuse (unless `force`) when it holds outputs made with other parameters or
 * not made by prep, naming what differs. Returns the stages whose outputs may be reused.
 */
export function checkPrepTarget(opt: PrepOptions): { posed: boolean; pca: boolean } {
  const p = prepParams(opt);
  checkOutputDir(p.outDir, 'prep output folder');
  const outputs = ourOutputs(p.outDir);
  if (opt.force) {
    for (const n of outputs) rmSync(join(p.outDir, n), { force: true });
    for (const s of ['canonical', 'posed', 'pca']) rmSync(markerPath(p.outDir, s), { force: true });
    return { posed: false, pca: false };
  }
  const problems: string[] = [];
  for (const stage of ['canonical', 'posed'] as const) {
    const m = readStage(p.outDir, stage);
    if (m) problems.push(...differences(m.params, p[stage]));
  }
  const hasMarkers = ['canonical', 'posed', 'pca'].some((s) => readStage(p.outDir, s));
  if (!hasMarkers && outputs.length) {
    throw new InputError(
      `${p.outDir} holds ${outputs.slice(0, 3).join(', ')}${outputs.length > 3 ? ', ...' : ''} not made by this ` +
        `prep (no .animgs-*.json markers): use ${opt.forceFlag ?? '--force'} to replace them, or --out DIR to ` +
        `write elsewhere`,
    );
  }
  if (problems.length) {
    throw new InputError(
      `${p.outDir} holds maps made with other inputs or settings (${[...new Set(problems)].join('; ')}): use ` +
        `${opt.forceFlag ?? '--force'} to recompute them (the old ones are removed), or --out DIR to write elsewhere`,
    );
  }
  const pcaMarker = readStage(p.outDir, 'pca');
  const pcaOk =
    !!pcaMarker?.complete &&
    differences(pcaMarker.params, p.pca).length === 0 &&
    existsSync(join(p.outDir, `pca_${p.pcaCount}.safetensors`));
  return { posed: !!readStage(p.outDir, 'posed'), pca: pcaOk };
}

export async function prepare(gpu: Gpu, opt: PrepOptions): Promise<PrepResult> {
  const p = prepParams(opt);
  const { outDir, size, frames, pcaFrames } = p;
  const reuse = checkPrepTarget(opt);
  removeStaleTemps(outDir);
  const smplxMesh = smplxCanonicalMesh(opt.model, opt.smpl.betas);
  let mesh: CanonicalMesh = smplxMesh;
  // a template's per-pixel weights: trilinear from <data_dir>/cano_weight_volume.npz when present (animgs template),
  // else the nearest canonical SMPL-X vertex's
  const volume = p.template ? captureWeightVolume(opt.dataDir) : null;
  if (p.template) {
    opt.onStage?.(
      volume
        ? `template ${p.template}: skinning weights from ${captureWeightVolumePath(opt.dataDir)}`
        : `template ${p.template}: transferring skinning weights from the canonical SMPL-X`,
    );
    mesh = templateFromPly(p.template, smplxMesh, !volume);
  }

  // canonical maps: recomputed every run (deterministic, so a rerun writes the same bytes)
  opt.onStage?.(`canonical maps ${size}x${2 * size}`);
  beginStage(outDir, 'canonical', p.canonical);
  // the map centre is the AABB centre of the canonical SMPL-X mesh even with a template, as the reference
  const maps = await canonicalMaps(gpu, mesh, { size, center: aabbCenter(smplxMesh.positions) });
  if (maps.pixels.length === 0) {
    throw new InputError(
      `the canonical maps at --size ${size} hold no foreground pixels: check the model and template`,
    );
  }
  if (volume) applyVolumeWeights(maps, volume);
  writeCanonicalMaps(outDir, maps);
  let gaussianPly: string | undefined;
  if (opt.writeGaussianPly !== false) {
    gaussianPly = join(outDir, CANO_GAUSSIANS_PLY);
    writePly(gaussianPly, canonicalGaussianPly(maps));
  }
  completeStage(outDir, 'canonical', p.canonical, { gaussians: maps.pixels.length });
  opt.onStage?.(`${maps.pixels.length} Gaussians; posed position maps for ${frames.length} frames`);

  // posed maps: a frame's map is reused when the posed marker's parameters match (files are atomic: complete)
  const resume = opt.resume !== false && reuse.posed;
  if (!reuse.posed) {
    for (const n of readdirSync(outDir)) if (POSED_RE.test(n)) rmSync(join(outDir, n), { force: true });
  }
  beginStage(outDir, 'posed', p.posed);
  const sampler = poseMapSampler(maps);
  const skin = new PoseMapGpu(gpu, sampler);
  let written = 0;
  let reused = 0;
  try {
    for (let k = 0; k < frames.length; k++) {
      const f = frames[k]!;
      if (resume && existsSync(join(outDir, poseMapName(f)))) {
        reused++;
        opt.onFrame?.(k + 1, frames.length);
        continue;
      }
      const c2l = canoToLive(opt.model, opt.smpl.frame(f));
      const map = await skin.compute(c2l.jointMatsWoRoot);
      writePoseMap(outDir, f, map, size);
      written++;
      opt.onFrame?.(k + 1, frames.length);
    }
  } finally {
    skin.dispose();
  }
  completeStage(outDir, 'posed', p.posed, { frames: [...new Set(frames)].sort((a, b) => a - b) });

  let pca: PosePca | undefined;
  let pcaFile: string | undefined;
  const K = p.pcaCount;
  if (K > 0) {
    pcaFile = join(outDir, `pca_${K}.safetensors`);
    if (reuse.pca && opt.resume !== false) {
      opt.onStage?.(`pose PCA: ${pcaFile} is complete with these settings (kept)`);
    } else {
      opt.onStage?.(`pose PCA (${K} components over ${pcaFrames.length} frames)`);
      beginStage(outDir, 'pca', p.pca);
      let pixels: Uint32Array | undefined;
      const rows = pcaFrames.map((f) => {
        const m = readPoseMap(outDir, f, size);
        pixels ??= frontForeground(m.data, size);
        return Float32Array.from(pcaFeatures(m.data, size, pixels));
      });
      if (!pixels || pixels.length === 0) {
        throw new InputError(`the posed maps of frame ${pcaFrames[0]} have no foreground in their front half`);
      }
      pca = fitPca(rows, K, { float32: true, ...(opt.onPca ? { onProgress: opt.onPca } : {}) });
      if (pca.count !== K) {
        throw new InputError(`the PCA found only ${pca.count} components (asked for ${K}): use --pca ${pca.count}`);
      }
      writePca(pcaFile, pca, pixels, size);
      completeStage(outDir, 'pca', p.pca);
    }
  } else opt.onStage?.('pose PCA skipped (--pca 0, or fewer than 2 frames)');
  return {
    outDir,
    maps,
    template: p.template ?? 'smplx',
    gaussians: maps.pixels.length,
    poseMaps: written,
    reused,
    ...(pca ? { pca } : {}),
    ...(pcaFile ? { pcaFile } : {}),
    ...(gaussianPly ? { gaussianPly } : {}),
  };
}

/**
 * The canonical Gaussians for viewing (not for training): at each map pixel's canonical position, isotropic with
 * the map's pixel pitch (the map spans 2 units over `size` pixels), nearly opaque, coloured by their normal.
 */
export function canonicalGaussianPly(maps: CanonicalMaps): ReturnType<typeof sceneToPly> {
  const n = maps.pixels.length;
  const means = gaussianPositions(maps);
  const normals = gaussianNormals(maps);
  const pitch = 2 / maps.size;
  const colors = new Float32Array(3 * n);
  for (let i = 0; i < 3 * n; i++) colors[i] = Math.min(1, Math.max(0, 0.5 + 0.5 * normals[i]!));
  const rotations = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) rotations[4 * i] = 1;
  return sceneToPly({
    count: n,
    means,
    scales: new Float32Array(3 * n).fill(pitch * 0.75),
    rotations,
    opacities: new Float32Array(n).fill(0.95),
    colors,
  });
}
