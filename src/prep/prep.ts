/**
 * `animgs prep`: a capture's canonical maps, per-frame posed position maps and the pose PCA
 * (reference-system.md §2.4, §3). Everything goes to `<data_dir>/smpl_pos_map/` (see files.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { canoToLive } from '../body/canonical.js';
import type { SmplxModel } from '../body/model.js';
import type { Gpu } from '../gpu/index.js';
import type { SmplParamSequence } from '../data/smpl-params.js';
import {
  frontForeground,
  pcaFeatures,
  POS_MAP_DIR,
  poseMapName,
  readPoseMap,
  writeCanonicalMaps,
  writePca,
  writePoseMap,
} from './files.js';
import { aabbCenter, canonicalMaps, type CanonicalMaps, type CanonicalMesh } from './maps.js';
import { fitPca, type PosePca } from './pca.js';
import { PoseMapGpu, poseMapSampler } from './posemap.js';
import { smplxCanonicalMesh, templateFromPly } from './template.js';

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
  /** PCA components (default 20; 0 = no PCA). */
  pcaComponents?: number;
  /** Output folder (default `<dataDir>/smpl_pos_map`). */
  outDir?: string;
  /** Skip posed maps that already exist (resume). Default true. */
  resume?: boolean;
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
  pca?: PosePca;
}

export async function prepare(gpu: Gpu, opt: PrepOptions): Promise<PrepResult> {
  const size = opt.size ?? 1024;
  const outDir = opt.outDir ?? join(opt.dataDir, POS_MAP_DIR);
  mkdirSync(outDir, { recursive: true });
  const frames = opt.frames ?? Array.from({ length: opt.smpl.length }, (_, i) => i);
  const smplxMesh = smplxCanonicalMesh(opt.model, opt.smpl.betas);
  const tplPath = opt.templatePath === undefined ? join(opt.dataDir, 'template.ply') : opt.templatePath;
  let mesh: CanonicalMesh = smplxMesh;
  let template = 'smplx';
  if (tplPath && existsSync(tplPath)) {
    opt.onStage?.(`template ${tplPath}: transferring skinning weights from the canonical SMPL-X`);
    mesh = templateFromPly(tplPath, smplxMesh);
    template = tplPath;
  } else if (opt.templatePath) {
    throw new Error(`template ${opt.templatePath} does not exist`);
  }
  opt.onStage?.(`canonical maps ${size}x${2 * size}`);
  // the map centre is the AABB centre of the canonical SMPL-X mesh even with a template, as the reference
  const maps = await canonicalMaps(gpu, mesh, { size, center: aabbCenter(smplxMesh.positions) });
  writeCanonicalMaps(outDir, maps);
  opt.onStage?.(`${maps.pixels.length} Gaussians; posed position maps for ${frames.length} frames`);

  const sampler = poseMapSampler(maps);
  const skin = new PoseMapGpu(gpu, sampler);
  let written = 0;
  try {
    for (let k = 0; k < frames.length; k++) {
      const f = frames[k]!;
      if (opt.resume !== false && existsSync(join(outDir, poseMapName(f)))) {
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

  let pca: PosePca | undefined;
  const K = opt.pcaComponents ?? 20;
  const pcaFrames = opt.pcaFrames ?? frames;
  if (K > 0 && pcaFrames.length >= 2) {
    opt.onStage?.(`pose PCA (${K} components over ${pcaFrames.length} frames)`);
    let pixels: Uint32Array | undefined;
    const rows = pcaFrames.map((f) => {
      const m = readPoseMap(outDir, f);
      pixels ??= frontForeground(m.data, size);
      return Float32Array.from(pcaFeatures(m.data, size, pixels));
    });
    pca = fitPca(rows, K, { float32: true, ...(opt.onPca ? { onProgress: opt.onPca } : {}) });
    writePca(join(outDir, `pca_${K}.safetensors`), pca, pixels!, size);
  }
  return { outDir, maps, template, gaussians: maps.pixels.length, poseMaps: written, ...(pca ? { pca } : {}) };
}
