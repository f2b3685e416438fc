/**
 * Which (frame, camera) views an evaluation scores, and a check that each can be scored (photo, mask, posed
 * position map) before any rendering. Frames: the given list, else `test.data.frame_range`, else the capture's
 * frames training did not use. Cameras: the given ones (calibration indices or names), else `test.data.used_cam_ids`,
 * else `test.render_view_idx` (a test section), else the cameras training did not use, else all. The capture:
 * `test.data.data_dir` and `test.dataset` where set, else training's.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { posMapDirOf, prepHint, type TrainConfig } from '../avatar/config-file.js';
import { CaptureDataset, frameIds, parseLayout, type CaptureItem, type CaptureLayout } from '../data/dataset.js';
import { poseMapName } from '../prep/files.js';

export interface ViewChoice {
  /** Frame ids (as in smpl_params). */
  frames?: readonly number[];
  /** Calibration indices or camera names. */
  cams?: ReadonlyArray<number | string>;
}

export interface EvalView {
  item: CaptureItem;
  /** The camera's index in the calibration. */
  camId: number;
  /** The frame is not among the training frames (same capture only). */
  novelPose: boolean;
  /** The camera is not among the training cameras. */
  novelView: boolean;
}

export interface EvalSelection {
  layout: CaptureLayout;
  dataDir: string;
  posMapDir: string;
  /** The capture restricted to the chosen cameras (all frames); `views` index its items. */
  dataset: CaptureDataset;
  views: EvalView[];
  /** Where the frames and cameras came from (for the report). */
  framesFrom: string;
  camsFrom: string;
}

const LIST_AT_MOST = 5;
const listed = (xs: readonly (string | number)[]) =>
  xs.length > LIST_AT_MOST ? `${xs.slice(0, LIST_AT_MOST).join(', ')}, … (${xs.length} in all)` : xs.join(', ');

/** The training capture's frames and camera names (what "held out" is measured against). */
function trainingViews(cfg: TrainConfig): { dataDir: string; frames: Set<number>; cams: Set<string> } | null {
  try {
    const d = cfg.train.data;
    const ds = new CaptureDataset({
      layout: cfg.train.layout,
      dataDir: d.dataDir,
      frameRange: d.frameRange,
      ...(d.usedCamIds ? { usedCamIds: d.usedCamIds } : {}),
    });
    return { dataDir: resolve(d.dataDir), frames: new Set(ds.frames), cams: new Set(ds.cameras.map((c) => c.name)) };
  } catch {
    return null; // the training capture is not here (e.g. the reference's net.pt on another capture)
  }
}

/** Pick and check the views; throws one error naming what is missing and what to do. */
export function selectViews(cfg: TrainConfig, choice: ViewChoice = {}): EvalSelection {
  const test = cfg.test;
  const dataDir = test?.data.dataDir ?? cfg.train.data.dataDir;
  let layout = cfg.train.layout;
  if (test?.dataset) {
    try {
      layout = parseLayout(test.dataset);
    } catch (e) {
      throw new Error(`test.dataset: ${(e as Error).message}`);
    }
  }
  let all: CaptureDataset;
  try {
    all = new CaptureDataset({ layout, dataDir });
  } catch (e) {
    throw new Error(`eval: ${(e as Error).message}`);
  }
  const train = trainingViews(cfg);
  const sameCapture = train !== null && train.dataDir === resolve(dataDir);

  let frames: number[];
  let framesFrom: string;
  if (choice.frames?.length) {
    frames = [...choice.frames];
    framesFrom = '--frames';
  } else if (test?.data.frameRange) {
    frames = frameIds(test.data.frameRange, all.smpl.length, dataDir);
    framesFrom = 'test.data.frame_range';
  } else {
    frames = all.frames.filter((f) => !(sameCapture && train.frames.has(f)));
    framesFrom = 'those training did not use';
    if (!frames.length) {
      throw new Error(
        `eval: every frame of ${dataDir} is a training frame: choose frames with --frames a:b or test.data.frame_range`,
      );
    }
  }
  const bad = frames.filter((f) => !Number.isInteger(f) || f < 0 || f >= all.smpl.length);
  if (bad.length) {
    throw new Error(
      `eval: frames ${listed(bad)} (${framesFrom}) are not in ${dataDir}'s smpl_params.npz (frames 0..${all.smpl.length - 1})`,
    );
  }

  const names = all.allCameras.map((c) => c.name);
  let camIds: number[];
  let camsFrom: string;
  if (choice.cams?.length) {
    camsFrom = '--cams';
    camIds = choice.cams.map((c) => {
      const i = typeof c === 'number' ? c : names.indexOf(c);
      if (!Number.isInteger(i) || i < 0 || i >= names.length) {
        throw new Error(
          `eval: --cams: no camera ${typeof c === 'number' ? `#${c}` : `'${c}'`} in ${dataDir} (ids 0..${names.length - 1}: ${listed(names)})`,
        );
      }
      return i;
    });
  } else if (test?.data.usedCamIds?.length) {
    camIds = [...test.data.usedCamIds];
    camsFrom = 'test.data.used_cam_ids';
  } else if (test) {
    camIds = [test.renderViewIdx];
    camsFrom = 'test.render_view_idx';
  } else {
    camIds = names.map((_, i) => i).filter((i) => !(train && train.cams.has(names[i]!)));
    camsFrom = 'those training did not use';
    if (!camIds.length) {
      camIds = names.map((_, i) => i);
      camsFrom = 'all (training used every one)';
    }
  }
  const outside = camIds.filter((i) => i < 0 || i >= names.length);
  if (outside.length) {
    throw new Error(
      `eval: camera ids ${listed(outside)} (${camsFrom}) are not in ${dataDir}: it has ids 0..${names.length - 1}`,
    );
  }

  const dataset = new CaptureDataset({ layout, dataDir, usedCamIds: camIds });
  const want = new Set(frames);
  const views: EvalView[] = dataset.items
    .filter((it) => want.has(it.frame))
    .map((item) => ({
      item,
      camId: camIds[item.cam]!,
      novelPose: !(sameCapture && train.frames.has(item.frame)),
      novelView: !(train && train.cams.has(item.camName)),
    }));
  if (!views.length) throw new Error(`eval: no view to score (every chosen view is in missing_img_files.txt)`);
  const posMapDir = posMapDirOf(cfg, dataDir);
  const problems: string[] = [];
  const missing = views.flatMap((v) => [v.item.imagePath, v.item.maskPath].filter((p) => !existsSync(p)));
  if (missing.length) problems.push(`${missing.length} photos/masks are missing: ${listed(missing)}`);
  const noMap = [...want].filter((f) => !existsSync(join(posMapDir, poseMapName(f))));
  if (noMap.length) {
    problems.push(
      `posed position maps of frames ${listed(noMap)} are missing in ${posMapDir}: ` +
        (posMapDir === cfg.train.data.smplPosMapDir
          ? prepHint(cfg)
          : `run \`animgs prep --data ${dataDir} --out ${posMapDir}\`, or set test.data.smpl_pos_map_dir in ` +
            `${basename(cfg.source)} to the folder an earlier \`animgs prep --out\` wrote`),
    );
  }
  if (problems.length) throw new Error(`eval: cannot score the chosen views:\n  - ${problems.join('\n  - ')}`);
  return { layout, dataDir, posMapDir, dataset, views, framesFrom, camsFrom };
}
