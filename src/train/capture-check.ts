/**
 * Before training: does the capture hold everything the config asks for? The data folder, the dataset layout, every
 * configured camera and frame (images, masks), the posed position maps and canonical maps that `animgs prep`
 * writes, and the SMPL-X model. Everything missing is reported in one message with what to run, so a multi-day run
 * never dies on its first missing file hours in.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { CaptureDataset, LAYOUTS, type CaptureLayout } from '../data/dataset.js';
import { CANO_NML_EXR, CANO_POS_EXR, INIT_LBS_NPY, poseMapName, readCanonicalMaps } from '../prep/files.js';
import type { CanonicalMaps } from '../prep/maps.js';
import { prepHint, type TrainConfig } from '../avatar/config-file.js';

export interface CheckedCapture {
  dataset: CaptureDataset;
  /** The canonical maps (read once here; the trainer needs them anyway). */
  maps: CanonicalMaps;
  /** train.data.smpl_pos_map_dir (default `<data_dir>/smpl_pos_map`). */
  posMapDir: string;
}

const LIST_AT_MOST = 5;

function listed(paths: readonly string[]): string {
  const head = paths.slice(0, LIST_AT_MOST).join(', ');
  return paths.length > LIST_AT_MOST ? `${head}, … (${paths.length} in all)` : head;
}

/** `path` relative to the capture folder when it lies inside it (shorter lists), else as it is. */
function shortPath(dir: string, path: string): string {
  return path.startsWith(dir + sep) ? relative(dir, path) : path;
}

/** Layouts whose calibration file is in `dir`. */
function layoutsPresent(dir: string): CaptureLayout[] {
  return (Object.keys(LAYOUTS) as CaptureLayout[]).filter((l) => existsSync(join(dir, LAYOUTS[l].calibration)));
}

const DATASET_NAMES: Record<CaptureLayout, string> = {
  thuman4: 'MvRgbDatasetTHuman4',
  avatarrex: 'MvRgbDatasetAvatarReX',
  actorshq: 'MvRgbDatasetActorsHQ',
};

/** Check a capture against a config; throws one error listing everything missing and what to run. */
export function checkCapture(cfg: TrainConfig): CheckedCapture {
  const file = basename(cfg.source);
  const { data, layout } = cfg.train;
  const dir = data.dataDir;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`${file}: train.data.data_dir: ${dir} is not a folder (set it to the capture's folder)`);
  }
  const present = layoutsPresent(dir);
  if (!present.includes(layout)) {
    const hint = present.length
      ? `it holds ${LAYOUTS[present[0]!].calibration}, the ${present[0]} layout: set train.dataset: ${DATASET_NAMES[present[0]!]}`
      : `no calibration file of any known layout is there`;
    throw new Error(
      `${file}: train.dataset is ${cfg.train.dataset} (expects ${LAYOUTS[layout].calibration}) but in ${dir} ${hint}`,
    );
  }
  let dataset: CaptureDataset;
  try {
    dataset = new CaptureDataset({
      layout,
      dataDir: dir,
      frameRange: data.frameRange,
      ...(data.usedCamIds ? { usedCamIds: data.usedCamIds } : {}),
    });
  } catch (e) {
    throw new Error(`${file}: train.data: ${(e as Error).message}`);
  }
  const prep = prepHint(cfg, data.smplPosMapDir, cfg.net.mapSize !== 1024 ? ` --size ${cfg.net.mapSize}` : '');
  const problems: string[] = [];
  const missing = dataset.missingFiles();
  if (missing.length) {
    problems.push(
      `${missing.length} image/mask files of the configured frames and cameras are missing: ${listed(missing)} ` +
        `(add them, narrow train.data.frame_range / used_cam_ids, or list them in missing_img_files.txt)`,
    );
  }
  const posMapDir = data.smplPosMapDir;
  const canon = [CANO_POS_EXR, INIT_LBS_NPY, CANO_NML_EXR].filter((f) => !existsSync(join(posMapDir, f)));
  if (canon.length) problems.push(`canonical maps missing in ${posMapDir}: ${canon.join(', ')}: ${prep}`);
  const posed = dataset.frames.filter((f) => !existsSync(join(posMapDir, poseMapName(f))));
  if (posed.length) {
    problems.push(
      `${posed.length} of ${dataset.frames.length} posed position maps are missing: ` +
        `${listed(posed.map((f) => shortPath(dir, join(posMapDir, poseMapName(f)))))}: ${prep}`,
    );
  }
  if (!existsSync(cfg.train.smplxModel)) {
    problems.push(`no SMPL-X model at ${cfg.train.smplxModel} (set train.smplx_model to your SMPLX_NEUTRAL.npz)`);
  }
  let maps: CanonicalMaps | undefined;
  if (!canon.length) {
    maps = readCanonicalMaps(posMapDir);
    if (maps.size !== cfg.net.mapSize) {
      problems.push(
        `the canonical maps in ${posMapDir} are ${maps.size}² per side but preset '${cfg.preset}' needs ` +
          `${cfg.net.mapSize}²: run \`animgs prep --config ${cfg.source} --size ${cfg.net.mapSize} --no-resume\``,
      );
    }
  }
  if (problems.length) {
    throw new Error(`capture ${dir} is not ready for training with ${file}:\n  - ${problems.join('\n  - ')}`);
  }
  return { dataset, maps: maps!, posMapDir };
}
