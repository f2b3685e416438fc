/**
 * The template config: the reference's template.yaml read with its keys as they are,
 * plus a few optional keys of ours. Unknown keys and wrong types are errors naming the key's path, all reported
 * together; keys the reference has but we do not use are accepted and listed in `notes`.
 *
 *   train:
 *     dataset            MvRgbDatasetTHuman4 | MvRgbDatasetAvatarReX | MvRgbDatasetActorsHQ (or thuman4, ...)
 *     data: {subject_name, data_dir, frame_range ([f, f+1, 1]: the first frame is fitted), used_cam_ids, mode}
 *     net_ckpt_dir, prev_ckpt, save_init_ckpt, start_epoch, end_epoch, ckpt_interval: {epoch, batch},
 *     eval_interval, depth_guided_sampling: {flag, near_sur_dist, N_ray_samples}, compute_grad,
 *     lr: {network: {type: Step, initial, interval, factor, min}}, loss_weight: {color, mask, eikonal},
 *     batch_size, num_workers
 *     ours: frame (first: the first of frame_range's frames, the reference's; auto: the one whose body is closest to
 *           the canonical pose; or a frame id), iterations (default end_epoch × cameras, at most 150000), rays (1024), samples (64),
 *           eikonal_points (4096), eikonal_step (0.002 m), seed (1), smplx_model (<data_dir>/smplx_model.npz),
 *           weight_volume (<data_dir>/cano_weight_volume.npz; made when absent), volume_res (128),
 *           warp_cell (0.01 m), mc_resolution ([256, 256, 128]), template_out (<data_dir>/template.ply)
 *   model: {with_hand, volume_type, use_root_finding, multires, use_viewdir, multires_viewdir}
 *     ours: sdf_hidden, skip_layer, features, color_hidden, init_radius (the reference's sizes by default)
 */
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseLayout, type CaptureLayout } from '../../data/dataset.js';
import { InputError } from '../../io/errors.js';
import type { TemplateFrameChoice } from './frame.js';
import { REFERENCE_TEMPLATE_NET, type TemplateNetConfig } from './sdf-net.js';

export interface TemplateConfig {
  source: string;
  layout: CaptureLayout;
  dataDir: string;
  subjectName: string;
  frameRange: number[] | string | undefined;
  /** Which of frame_range's frames is fitted (frame.ts). */
  frame: TemplateFrameChoice;
  usedCamIds: number[] | undefined;
  netCkptDir: string;
  prevCkpt: string | null;
  ckptEvery: number;
  endEpoch: number;
  lr: { initial: number; interval: number; factor: number; min: number };
  lossWeight: { color: number; mask: number; eikonal: number };
  iterations: number | null;
  rays: number;
  samples: number;
  eikonalPoints: number;
  eikonalStep: number;
  seed: number;
  smplxModel: string;
  weightVolume: string;
  volumeRes: number;
  warpCell: number;
  mcResolution: [number, number, number];
  templateOut: string;
  net: TemplateNetConfig;
  notes: string[];
}

type Obj = Record<string, unknown>;

class Reader {
  readonly errors: string[] = [];
  readonly notes: string[] = [];
  readonly unused: string[] = [];
  constructor(readonly source: string) {}
  section(parent: Obj | undefined, key: string, path: string): Obj | undefined {
    const v = parent?.[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.errors.push(`${path}${key}: expected a mapping`);
      return undefined;
    }
    return v as Obj;
  }
  keys(o: Obj | undefined, path: string, known: string[], ignored: string[] = []): void {
    if (!o) return;
    for (const k of Object.keys(o)) {
      if (ignored.includes(k)) this.unused.push(`${path}${k}`);
      else if (!known.includes(k))
        this.errors.push(`${path}${k}: unknown key (known: ${[...known, ...ignored].join(', ')})`);
    }
  }
  num(o: Obj | undefined, key: string, path: string, dflt: number, rule: (v: number) => boolean = () => true): number {
    const v = o?.[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || !rule(v)) {
      this.errors.push(`${path}${key}: ${JSON.stringify(v)} is not a valid value`);
      return dflt;
    }
    return v;
  }
  str(o: Obj | undefined, key: string, path: string, dflt: string): string {
    const v = o?.[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string') {
      this.errors.push(`${path}${key}: expected a string`);
      return dflt;
    }
    return v;
  }
  nums(o: Obj | undefined, key: string, path: string): number[] | undefined {
    const v = o?.[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
      this.errors.push(`${path}${key}: expected a list of non-negative integers`);
      return undefined;
    }
    return v as number[];
  }
}

const pos = (v: number) => v > 0;
const posInt = (v: number) => Number.isInteger(v) && v > 0;

export function parseTemplateConfig(doc: unknown, source: string): TemplateConfig {
  const r = new Reader(source);
  if (!doc || typeof doc !== 'object') throw new InputError(`${source}: not a YAML mapping`);
  const root = doc as Obj;
  r.keys(root, '', ['train', 'model', 'mode'], ['test']);
  const train = r.section(root, 'train', '');
  if (!train) throw new InputError(`${source}: no 'train' section`);
  r.keys(
    train,
    'train.',
    [
      'dataset',
      'data',
      'net_ckpt_dir',
      'prev_ckpt',
      'end_epoch',
      'ckpt_interval',
      'lr',
      'loss_weight',
      'iterations',
      'rays',
      'samples',
      'eikonal_points',
      'eikonal_step',
      'seed',
      'smplx_model',
      'weight_volume',
      'volume_res',
      'warp_cell',
      'mc_resolution',
      'template_out',
      'frame',
    ],
    [
      'save_init_ckpt',
      'start_epoch',
      'eval_interval',
      'depth_guided_sampling',
      'compute_grad',
      'batch_size',
      'num_workers',
      'pretrained_dir',
    ],
  );
  const data = r.section(train, 'data', 'train.');
  r.keys(
    data,
    'train.data.',
    ['subject_name', 'data_dir', 'frame_range', 'used_cam_ids'],
    ['mode', 'load_smpl_pos_map'],
  );
  const dataDir = r.str(data, 'data_dir', 'train.data.', '');
  if (!dataDir) r.errors.push('train.data.data_dir: required');
  let layout: CaptureLayout = 'thuman4';
  try {
    layout = parseLayout(r.str(train, 'dataset', 'train.', 'MvRgbDatasetTHuman4'));
  } catch (e) {
    r.errors.push(`train.dataset: ${(e as Error).message}`);
  }
  const fr = data?.['frame_range'];
  let frameRange: number[] | string | undefined;
  if (typeof fr === 'string') frameRange = fr;
  else frameRange = r.nums(data, 'frame_range', 'train.data.');
  const fk = train['frame'];
  let frame: TemplateFrameChoice = 'first';
  if (fk === 'auto' || fk === 'first') frame = fk;
  else if (typeof fk === 'number' && Number.isInteger(fk) && fk >= 0) frame = fk;
  else if (fk !== undefined && fk !== null)
    r.errors.push(`train.frame: ${JSON.stringify(fk)} is not valid (auto, first or a frame id)`);
  const ck = r.section(train, 'ckpt_interval', 'train.');
  r.keys(ck, 'train.ckpt_interval.', ['batch'], ['epoch']);
  const lrs = r.section(r.section(train, 'lr', 'train.'), 'network', 'train.lr.');
  r.keys(lrs, 'train.lr.network.', ['type', 'initial', 'interval', 'factor', 'min']);
  const lrType = r.str(lrs, 'type', 'train.lr.network.', 'Step');
  if (lrType !== 'Step') r.errors.push(`train.lr.network.type: '${lrType}' (only Step is implemented)`);
  const lw = r.section(train, 'loss_weight', 'train.');
  r.keys(lw, 'train.loss_weight.', ['color', 'mask', 'eikonal']);
  const model = r.section(root, 'model', '');
  r.keys(
    model,
    'model.',
    [
      'multires',
      'sdf_hidden',
      'skip_layer',
      'features',
      'color_hidden',
      'init_radius',
      'use_root_finding',
      'volume_type',
    ],
    ['with_hand', 'use_viewdir', 'multires_viewdir'],
  );
  if (model?.['with_hand'] === true)
    r.notes.push('model.with_hand: the hands are fitted like the rest of the body (no separate hand colour MLPs)');
  if (model?.['use_viewdir'] === true)
    r.errors.push('model.use_viewdir: true is not implemented (the reference uses false)');
  const hidden = (key: string, dflt: number[]): number[] => {
    const v = r.nums(model, key, 'model.');
    if (v && (v.length === 0 || v.some((x) => x < 1))) r.errors.push(`model.${key}: widths must be positive`);
    return v ?? dflt;
  };
  const net: TemplateNetConfig = {
    multires: r.num(
      model,
      'multires',
      'model.',
      REFERENCE_TEMPLATE_NET.multires,
      (v) => Number.isInteger(v) && v >= 0 && v <= 12,
    ),
    sdfHidden: hidden('sdf_hidden', REFERENCE_TEMPLATE_NET.sdfHidden),
    skipAt: r.num(model, 'skip_layer', 'model.', REFERENCE_TEMPLATE_NET.skipAt, Number.isInteger),
    features: r.num(model, 'features', 'model.', REFERENCE_TEMPLATE_NET.features, posInt),
    colorHidden: hidden('color_hidden', REFERENCE_TEMPLATE_NET.colorHidden),
    initRadius: r.num(model, 'init_radius', 'model.', REFERENCE_TEMPLATE_NET.initRadius, pos),
  };
  if (net.skipAt >= net.sdfHidden.length + 1)
    r.errors.push(`model.skip_layer: ${net.skipAt} is past the SDF MLP's ${net.sdfHidden.length + 1} layers`);
  const mc = r.nums(train, 'mc_resolution', 'train.');
  if (mc && (mc.length !== 3 || mc.some((v) => v < 4)))
    r.errors.push('train.mc_resolution: expected [nx, ny, nz], each at least 4');
  const out: TemplateConfig = {
    source,
    layout,
    dataDir,
    subjectName: r.str(data, 'subject_name', 'train.data.', ''),
    frameRange,
    frame,
    usedCamIds: r.nums(data, 'used_cam_ids', 'train.data.'),
    netCkptDir: r.str(train, 'net_ckpt_dir', 'train.', join(dataDir || '.', 'template_fit')),
    prevCkpt: r.str(train, 'prev_ckpt', 'train.', '') || null,
    ckptEvery: r.num(ck, 'batch', 'train.ckpt_interval.', 1000, posInt),
    endEpoch: r.num(train, 'end_epoch', 'train.', 1001, posInt),
    lr: {
      initial: r.num(lrs, 'initial', 'train.lr.network.', 5e-4, pos),
      interval: r.num(lrs, 'interval', 'train.lr.network.', 40000, posInt),
      factor: r.num(lrs, 'factor', 'train.lr.network.', 0.9, pos),
      min: r.num(lrs, 'min', 'train.lr.network.', 8e-5, (v) => v >= 0),
    },
    lossWeight: {
      color: r.num(lw, 'color', 'train.loss_weight.', 1, (v) => v >= 0),
      mask: r.num(lw, 'mask', 'train.loss_weight.', 1, (v) => v >= 0),
      eikonal: r.num(lw, 'eikonal', 'train.loss_weight.', 0.1, (v) => v >= 0),
    },
    iterations: train['iterations'] === undefined ? null : r.num(train, 'iterations', 'train.', 1, posInt),
    rays: r.num(train, 'rays', 'train.', 1024, (v) => posInt(v) && v >= 2),
    samples: r.num(train, 'samples', 'train.', 64, (v) => posInt(v) && v >= 2),
    eikonalPoints: r.num(train, 'eikonal_points', 'train.', 4096, posInt),
    eikonalStep: r.num(train, 'eikonal_step', 'train.', 0.002, pos),
    seed: r.num(train, 'seed', 'train.', 1, Number.isInteger),
    smplxModel: r.str(train, 'smplx_model', 'train.', join(dataDir || '.', 'smplx_model.npz')),
    weightVolume: r.str(train, 'weight_volume', 'train.', join(dataDir || '.', 'cano_weight_volume.npz')),
    volumeRes: r.num(train, 'volume_res', 'train.', 128, (v) => Number.isInteger(v) && v >= 8),
    warpCell: r.num(train, 'warp_cell', 'train.', 0.01, pos),
    mcResolution: (mc as [number, number, number] | undefined) ?? [256, 256, 128],
    templateOut: r.str(train, 'template_out', 'train.', join(dataDir || '.', 'template.ply')),
    net,
    notes: [...(r.unused.length ? [`accepted and not used: ${r.unused.join(', ')}`] : []), ...r.notes],
  };
  if (r.errors.length) throw new InputError(`${source}: ${r.errors.join('; ')}`);
  return out;
}

export function loadTemplateConfig(path: string, text: string): TemplateConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new InputError(`${path}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  return parseTemplateConfig(doc, path);
}
