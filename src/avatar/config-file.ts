/**
 * The training / animation config: the original project's avatar.yaml read with its keys as they are (so its
 * published configs work after editing the data paths), plus a few optional keys of ours, then the command line's
 * overrides (`--preset`, `--steps`). Unknown keys and wrong types are errors that name the key's path, all reported
 * together before any work starts; keys the original reads but never uses (`ssim`, `gan`) are accepted with a note.
 *
 *   mode: train | test
 *   train:
 *     dataset            MvRgbDatasetTHuman4 | MvRgbDatasetAvatarReX | MvRgbDatasetActorsHQ (or thuman4, ...)
 *     data: {subject_name, data_dir, frame_range, used_cam_ids, load_smpl_pos_map}; ours: smpl_pos_map_dir (the
 *           folder `animgs prep` wrote, default <data_dir>/smpl_pos_map)
 *     pretrained_dir, net_ckpt_dir, prev_ckpt, ckpt_interval: {epoch, batch}, eval_interval,
 *     eval_training_ids, eval_testing_ids ([frame, cam]), eval_img_factor, lr_init,
 *     loss_weight: {l1, lpips, offset, mask?, ssim? (ignored), gan? (ignored)}, finetune_color, batch_size,
 *     num_workers, random_bg_color
 *     ours: iterations (800000), pretrain_iterations (5000), lpips_dir, lpips_size (512), seed (1),
 *           smplx_model (default <data_dir>/smplx_model.npz)
 *   test: {dataset, data (+ ours: smpl_pos_map_dir), pose_data, view_setting, render_view_idx, global_orient,
 *          img_scale, save_mesh, render_skeleton, save_tex_map, save_ply, n_pca, sigma_pca, prev_ckpt, fix_hand,
 *          fix_hand_id}
 *   model: {with_viewdirs, random_style}; ours: preset (full | small | tiny)
 */
import { parse as parseYaml } from 'yaml';
import { parseLayout, type CaptureLayout } from '../data/dataset.js';
import { baseName as basename, joinPath as join, readTextFile, resolvePath } from '../io/node/files.js';
import { POS_MAP_DIR } from '../prep/files.js';
import { AVATAR_PRESETS, type AvatarNetConfig, type AvatarPresetName } from './config.js';
import { ConfigReport, Section, show } from './config-reader.js';

export interface CaptureData {
  subjectName: string;
  dataDir: string;
  /** [start, end) / [start, end, step] or a file of frame ids (relative paths resolve against data_dir). */
  frameRange: number[] | string;
  /** Camera indices into the calibration (sorted by name; file order for ActorsHQ); absent = all cameras. */
  usedCamIds?: number[];
  loadSmplPosMap: boolean;
  /**
   * Ours: the folder of the capture's canonical and posed maps and pose PCA (what `animgs prep` writes; default
   * `<data_dir>/smpl_pos_map`, where the original keeps them). Set it when `animgs prep --out` wrote them elsewhere,
   * e.g. for a read-only dataset. A relative path is taken from the working folder, as data_dir is.
   */
  smplPosMapDir: string;
}

export interface TrainSection {
  /** The dataset class name as written. */
  dataset: string;
  layout: CaptureLayout;
  data: CaptureData;
  pretrainedDir: string | null;
  netCkptDir: string;
  prevCkpt: string | null;
  ckptInterval: { epoch: number; batch: number };
  evalInterval: number;
  evalTrainingIds: [number, number];
  evalTestingIds: [number, number];
  evalImgFactor: number;
  lrInit: number;
  lossWeight: { l1: number; lpips: number; offset: number; mask: number };
  finetuneColor: boolean;
  batchSize: number;
  numWorkers: number;
  randomBgColor: boolean;
  /** Ours: training iterations (the original's fixed 800k; `--steps` overrides). */
  iterations: number;
  /** Ours: pretraining iterations towards the canonical base values. */
  pretrainIterations: number;
  /** Ours: folder holding the LPIPS-VGG weights (null = the default place). */
  lpipsDir: string | null;
  /** Ours: side of the square the LPIPS crop is evaluated at. */
  lpipsSize: number;
  /** Ours: seed of the (frame, camera, background, patch) draws. */
  seed: number;
  /** Ours: the SMPL-X model file. */
  smplxModel: string;
}

export interface TestSection {
  dataset: string | null;
  data: {
    dataDir: string | null;
    frameRange: number[] | string | null;
    subjectName: string | null;
    usedCamIds?: number[];
    /** Ours: the test capture's maps folder (null: the training one's for the same capture, else the default). */
    smplPosMapDir: string | null;
  };
  poseData: {
    dataPath: string;
    /** [a, b], [a, b, step] or a list of such ranges. */
    frameRange: number[] | number[][] | null;
    frameInterval: number;
    handPoseType: 'ori' | 'fist' | 'normal' | 'zero';
  } | null;
  viewSetting: string;
  renderViewIdx: number;
  globalOrient: boolean;
  imgScale: number;
  saveMesh: boolean;
  renderSkeleton: boolean;
  saveTexMap: boolean;
  savePly: boolean;
  nPca: number;
  sigmaPca: number;
  prevCkpt: string | null;
  fixHand: boolean;
  fixHandId: number | null;
}

export interface TrainConfig {
  /** The file it was read from. */
  source: string;
  mode: 'train' | 'test';
  train: TrainSection;
  test: TestSection | null;
  model: { withViewdirs: boolean; randomStyle: boolean };
  preset: AvatarPresetName;
  /** The preset's network sizes, with `model.with_viewdirs` applied. */
  net: AvatarNetConfig;
  /** One-time notes (keys accepted but ignored). */
  notes: string[];
}

export interface ConfigOverrides {
  /** `--preset full|small|tiny`. */
  preset?: string;
  /** `--steps N`: training iterations. */
  steps?: number;
}

const VIEW_SETTINGS = ['camera', 'free', 'front', 'back', 'moving', 'front_bird', 'back_bird', 'cano'];
const HAND_POSE_TYPES = ['ori', 'fist', 'normal', 'zero'] as const;

function readCaptureData(s: Section): CaptureData {
  const d: CaptureData = {
    subjectName: s.string('subject_name', ''),
    dataDir: s.string('data_dir'),
    frameRange: s.frameRange('frame_range'),
    loadSmplPosMap: s.bool('load_smpl_pos_map', true),
    smplPosMapDir: '',
  };
  d.smplPosMapDir = s.string('smpl_pos_map_dir', d.dataDir ? join(d.dataDir, POS_MAP_DIR) : '');
  if (s.has('used_cam_ids')) d.usedCamIds = s.intList('used_cam_ids');
  else s.raw('used_cam_ids');
  s.done();
  return d;
}

function readTrain(s: Section, report: ConfigReport): TrainSection {
  const dataset = s.string('dataset');
  let layout: CaptureLayout = 'thuman4';
  if (dataset) {
    try {
      layout = parseLayout(dataset);
    } catch {
      report.error(
        `${s.path}.dataset`,
        `unknown dataset ${show(dataset)} (use MvRgbDatasetTHuman4, MvRgbDatasetAvatarReX or MvRgbDatasetActorsHQ)`,
      );
    }
  }
  const data = readCaptureData(s.section('data'));
  const ck = s.section('ckpt_interval');
  const ckptInterval = {
    epoch: ck.number('epoch', 10, { int: true, min: 1 }),
    batch: ck.number('batch', 50000, { int: true, min: 1 }),
  };
  ck.done();
  const lw = s.section('loss_weight');
  const lossWeight = {
    l1: lw.number('l1', 1.0, { min: 0 }),
    lpips: lw.number('lpips', 0.1, { min: 0 }),
    offset: lw.number('offset', 0.005, { min: 0 }),
    mask: lw.number('mask', 0, { min: 0 }),
  };
  lw.ignored('ssim', 'accepted but ignored: the original reads this weight but computes no SSIM loss');
  lw.ignored('gan', 'accepted but ignored: the original reads this weight but has no GAN loss');
  lw.done();
  const pair = (k: string, def: [number, number]) => s.intList(k, def, 2) as [number, number];
  const t: TrainSection = {
    dataset,
    layout,
    data,
    pretrainedDir: s.nullableString('pretrained_dir'),
    netCkptDir: s.string('net_ckpt_dir'),
    prevCkpt: s.nullableString('prev_ckpt'),
    ckptInterval,
    evalInterval: s.number('eval_interval', 1000, { int: true, min: 1 }),
    evalTrainingIds: pair('eval_training_ids', [0, 0]),
    evalTestingIds: pair('eval_testing_ids', [0, 0]),
    evalImgFactor: s.number('eval_img_factor', 1.0, { above: 0 }),
    lrInit: s.number('lr_init', 5e-4, { above: 0 }),
    lossWeight,
    finetuneColor: s.bool('finetune_color', false),
    batchSize: s.number('batch_size', 1, { int: true, min: 1 }),
    numWorkers: s.number('num_workers', 8, { int: true, min: 0 }),
    randomBgColor: s.bool('random_bg_color', true),
    iterations: s.number('iterations', 800_000, { int: true, min: 1 }),
    pretrainIterations: s.number('pretrain_iterations', 5000, { int: true, min: 0 }),
    lpipsDir: s.nullableString('lpips_dir'),
    lpipsSize: s.number('lpips_size', 512, { int: true, min: 16 }),
    seed: s.number('seed', 1, { int: true, min: 0 }),
    smplxModel: s.string('smplx_model', data.dataDir ? join(data.dataDir, 'smplx_model.npz') : ''),
  };
  if (t.batchSize !== 1)
    report.error(
      `${s.path}.batch_size`,
      `only 1 is supported (one image per step, as the original), got ${t.batchSize}`,
    );
  s.done();
  return t;
}

/** [a, b], [a, b, step] or a list of such ranges (test.pose_data.frame_range). */
function readRanges(s: Section, k: string): number[] | number[][] | null {
  const v = s.raw(k);
  if (v === undefined || v === null) return null;
  const isRange = (x: unknown) =>
    Array.isArray(x) &&
    (x.length === 2 || x.length === 3) &&
    x.every((n) => typeof n === 'number' && Number.isInteger(n));
  if (isRange(v)) return v as number[];
  if (Array.isArray(v) && v.length > 0 && v.every(isRange)) return v as number[][];
  s.frameRange(k); // reports the error with the usual wording
  return null;
}

function readTest(s: Section): TestSection {
  const d = s.section('data');
  const data: TestSection['data'] = {
    dataDir: d.nullableString('data_dir'),
    frameRange: d.has('frame_range') ? d.frameRange('frame_range') : (d.raw('frame_range'), null),
    subjectName: d.nullableString('subject_name'),
    smplPosMapDir: d.nullableString('smpl_pos_map_dir'),
  };
  if (d.has('used_cam_ids')) data.usedCamIds = d.intList('used_cam_ids');
  else d.raw('used_cam_ids');
  d.done();
  let poseData: TestSection['poseData'] = null;
  if (s.has('pose_data')) {
    const p = s.section('pose_data');
    poseData = {
      dataPath: p.string('data_path'),
      frameRange: readRanges(p, 'frame_range'),
      frameInterval: p.number('frame_interval', 1, { int: true, min: 1 }),
      handPoseType: p.oneOf('hand_pose_type', HAND_POSE_TYPES, 'ori'),
    };
    p.done();
  } else s.raw('pose_data');
  const t: TestSection = {
    dataset: s.nullableString('dataset'),
    data,
    poseData,
    viewSetting: s.oneOf('view_setting', VIEW_SETTINGS, 'camera'),
    renderViewIdx: s.number('render_view_idx', 0, { int: true, min: 0 }),
    globalOrient: s.bool('global_orient', false),
    imgScale: s.number('img_scale', 1.0, { above: 0 }),
    saveMesh: s.bool('save_mesh', false),
    renderSkeleton: s.bool('render_skeleton', false),
    saveTexMap: s.bool('save_tex_map', false),
    savePly: s.bool('save_ply', false),
    nPca: s.number('n_pca', -1, { int: true }),
    sigmaPca: s.number('sigma_pca', 2.0, { min: 0 }),
    prevCkpt: s.nullableString('prev_ckpt'),
    fixHand: s.bool('fix_hand', false),
    fixHandId: s.has('fix_hand_id') ? s.number('fix_hand_id', 0, { int: true, min: 0 }) : (s.raw('fix_hand_id'), null),
  };
  s.done();
  return t;
}

/** Check a parsed YAML document (`source` names it in messages) and apply the overrides. Throws ConfigError. */
export function parseTrainConfig(doc: unknown, source: string, overrides: ConfigOverrides = {}): TrainConfig {
  const report = new ConfigReport(basename(source));
  const top = new Section(doc, '', report);
  const mode = top.oneOf('mode', ['train', 'test'] as const, 'train');
  const train = readTrain(top.section('train'), report);
  const test = top.has('test') ? readTest(top.section('test')) : (top.raw('test'), null);
  const m = top.section('model');
  const model = { withViewdirs: m.bool('with_viewdirs', true), randomStyle: m.bool('random_style', false) };
  const presetNames = Object.keys(AVATAR_PRESETS) as AvatarPresetName[];
  let preset = m.oneOf('preset', presetNames, 'full');
  m.done();
  top.done();
  if (model.randomStyle)
    report.error('model.random_style', 'only false is supported (the published configs all use false)');
  if (overrides.preset !== undefined) {
    if (!presetNames.includes(overrides.preset as AvatarPresetName)) {
      report.errors.push(`--preset: expected one of ${presetNames.join(', ')}, got ${show(overrides.preset)}`);
    } else preset = overrides.preset as AvatarPresetName;
  }
  if (overrides.steps !== undefined) {
    if (!Number.isInteger(overrides.steps) || overrides.steps < 1) {
      report.errors.push(`--steps: expected a positive integer, got ${show(overrides.steps)}`);
    } else train.iterations = overrides.steps;
  }
  report.throwIfAny();
  const net = { ...AVATAR_PRESETS[preset], withViewdirs: model.withViewdirs };
  return { source, mode, train, test, model, preset, net, notes: report.notes };
}

/** Read and check an avatar.yaml. Throws ConfigError listing every problem. */
export function loadTrainConfig(path: string, overrides: ConfigOverrides = {}): TrainConfig {
  let text: string;
  try {
    text = readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read config ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${basename(path)}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseTrainConfig(doc, path, overrides);
}

/**
 * The maps folder of the capture in `dataDir` under this config: test.data.smpl_pos_map_dir for a test capture that
 * sets it, train.data.smpl_pos_map_dir for the training capture, else `<dataDir>/smpl_pos_map`.
 */
export function posMapDirOf(cfg: TrainConfig, dataDir: string = cfg.train.data.dataDir): string {
  const test = cfg.test?.data;
  if (test?.smplPosMapDir && test.dataDir && resolvePath(test.dataDir) === resolvePath(dataDir))
    return test.smplPosMapDir;
  if (resolvePath(dataDir) === resolvePath(cfg.train.data.dataDir)) return cfg.train.data.smplPosMapDir;
  return join(dataDir, POS_MAP_DIR);
}

/**
 * What to do when the maps `animgs prep` writes are missing from `posMapDir`: run prep with this config (it writes
 * where the config reads), or point the config at the folder an earlier `prep --out` wrote.
 */
export function prepHint(cfg: TrainConfig, posMapDir: string = cfg.train.data.smplPosMapDir, extra = ''): string {
  const key = posMapDir === cfg.train.data.smplPosMapDir ? 'train.data.smpl_pos_map_dir' : 'test.data.smpl_pos_map_dir';
  return (
    `run \`animgs prep --config ${cfg.source}${extra}\` (it writes to ${posMapDir}), ` +
    `or set ${key} in ${basename(cfg.source)} to the folder an earlier \`animgs prep --out\` wrote`
  );
}
