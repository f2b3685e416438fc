/**
 * Multi-view capture datasets in the reference's three layouts:
 *
 * thuman4 (also custom data)  calibration.json, images/camXX/%08d.jpg, masks/camXX/%08d.jpg, smpl_params.npz,
 *                             optional missing_img_files.txt (lines ending .../camXX/%08d.jpg)
 * avatarrex                   calibration_full.json, <cam>/%08d.jpg, alpha mattes <cam>/mask/pha/%08d.jpg,
 *                             smpl_params.npz, optional missing_img_files.txt
 * actorshq                    4x/calibration.csv, 4x/rgbs/<cam>/<cam>_rgb%06d.jpg, 4x/masks/<cam>/<cam>_mask%06d.png,
 *                             smpl_params.npz (root = ActorsHQ/ActorXX/SequenceY)
 *
 * Items are the (frame, camera) pairs of the frame range × used cameras minus the missing files; each loads as an
 * RGB float32 planar image, its binary mask (> 128) and the boundary band, optionally composited on a background.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../io/errors.js';
import type { PlanarImage } from '../io/image.js';
import { readGray, readRgb } from '../io/node/image.js';
import { readActorsHqCsv, readCalibrationJson, type Camera } from './camera.js';
import { boundaryBand, composite, threshold } from './mask.js';
import { Prefetcher } from './prefetch.js';
import { readSmplParams, type SmplParamSequence } from './smpl-params.js';

export type CaptureLayout = 'thuman4' | 'avatarrex' | 'actorshq';

/** Accepts our names and the reference's dataset class names. */
export function parseLayout(name: string): CaptureLayout {
  const n = name.toLowerCase();
  if (n === 'thuman4' || n === 'custom' || n === 'mvrgbdatasetthuman4') return 'thuman4';
  if (n === 'avatarrex' || n === 'mvrgbdatasetavatarrex') return 'avatarrex';
  if (n === 'actorshq' || n === 'mvrgbdatasetactorshq') return 'actorshq';
  throw new InputError(`unknown dataset layout '${name}' (use thuman4, avatarrex or actorshq)`);
}

export interface CaptureConfig {
  layout: CaptureLayout;
  dataDir: string;
  /** [start, end) or [start, end, step], or a path to a text file of frame ids; default: all frames of smpl_params. */
  frameRange?: readonly number[] | string;
  /** Indices into the calibration's camera list (sorted by name for JSON, file order for ActorsHQ); default all. */
  usedCamIds?: readonly number[];
  /** Camera names instead of indices (takes precedence). */
  usedCamNames?: readonly string[];
  /** smpl_params file (default `<dataDir>/smpl_params.npz`). */
  smplParamsPath?: string;
}

export interface CaptureItem {
  frame: number;
  /** Index into `dataset.cameras` (the used cameras). */
  cam: number;
  camName: string;
  imagePath: string;
  maskPath: string;
}

export interface LoadedItem {
  item: CaptureItem;
  camera: Camera;
  /** RGB float32 planar in [0, 1]; composited on `bg` when one was given. */
  image: PlanarImage;
  /** 1 = foreground (mask > 128). */
  mask: Uint8Array;
  /** 1 = boundary band (excluded from the loss). */
  boundary: Uint8Array;
  /** The background the image was composited on, if any. */
  bg?: readonly number[];
}

interface LayoutSpec {
  calibration: string;
  readCameras(path: string): Camera[];
  image(dir: string, cam: string, frame: number): string;
  mask(dir: string, cam: string, frame: number): string;
  /** Masks are soft alpha mattes (the 5 < α < 250 band applies). */
  soft: boolean;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export const LAYOUTS: Record<CaptureLayout, LayoutSpec> = {
  thuman4: {
    calibration: 'calibration.json',
    readCameras: readCalibrationJson,
    image: (d, c, f) => join(d, 'images', c, `${pad(f, 8)}.jpg`),
    mask: (d, c, f) => join(d, 'masks', c, `${pad(f, 8)}.jpg`),
    soft: true,
  },
  avatarrex: {
    calibration: 'calibration_full.json',
    readCameras: readCalibrationJson,
    image: (d, c, f) => join(d, c, `${pad(f, 8)}.jpg`),
    mask: (d, c, f) => join(d, c, 'mask', 'pha', `${pad(f, 8)}.jpg`),
    soft: true,
  },
  actorshq: {
    calibration: join('4x', 'calibration.csv'),
    readCameras: readActorsHqCsv,
    image: (d, c, f) => join(d, '4x', 'rgbs', c, `${c}_rgb${pad(f, 6)}.jpg`),
    mask: (d, c, f) => join(d, '4x', 'masks', c, `${c}_mask${pad(f, 6)}.png`),
    soft: true,
  },
};

/** Frame ids of a frame_range: [a, b] / [a, b, step] (end exclusive, as Python's range) or a file of ids. */
export function frameIds(range: readonly number[] | string | undefined, total: number, dataDir = '.'): number[] {
  if (range === undefined) return Array.from({ length: total }, (_, i) => i);
  if (typeof range === 'string') {
    const path = existsSync(range) ? range : join(dataDir, range);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new InputError(`frame_range file ${path}: ${(e as Error).message}`);
    }
    return text
      .split(/[\s,]+/)
      .filter((s) => s !== '')
      .map((s) => {
        const v = Number(s);
        if (!Number.isInteger(v)) throw new InputError(`frame_range file ${path}: '${s}' is not a frame id`);
        return v;
      });
  }
  if (range.length < 2 || range.length > 3)
    throw new InputError(`frame_range must be [start, end] or [start, end, step]`);
  const [a, b, step = 1] = range as [number, number, number?];
  if (![a, b, step].every((v) => Number.isSafeInteger(v) && v >= 0)) {
    throw new InputError(`frame_range [${range}] must hold non-negative integers`);
  }
  if (step <= 0) throw new InputError(`frame_range step must be positive, got ${step}`);
  if (b <= a)
    throw new InputError(`frame_range [${range}] selects no frames: the end (${b}) must be above the start (${a})`);
  const out: number[] = [];
  for (let f = a; f < b; f += step) out.push(f);
  return out;
}

/** Parse missing_img_files.txt into "cam/frame" keys. */
export function parseMissingList(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim().replace(/\\/g, '/');
    if (!l) continue;
    const frame = parseInt(basename(l).replace(/^\D*/, ''), 10);
    const cam = basename(dirname(l));
    if (Number.isFinite(frame)) out.add(`${cam}/${frame}`);
  }
  return out;
}

export class CaptureDataset {
  readonly layout: CaptureLayout;
  readonly dataDir: string;
  /** Every camera of the calibration, in the reference's order. */
  readonly allCameras: Camera[];
  /** The used cameras. */
  readonly cameras: Camera[];
  readonly frames: number[];
  readonly items: CaptureItem[];
  readonly smpl: SmplParamSequence;
  private readonly spec: LayoutSpec;

  constructor(cfg: CaptureConfig) {
    this.layout = cfg.layout;
    this.dataDir = cfg.dataDir;
    this.spec = LAYOUTS[cfg.layout];
    const calib = join(cfg.dataDir, this.spec.calibration);
    if (!existsSync(calib)) {
      throw new InputError(`${cfg.layout} capture ${cfg.dataDir}: no calibration file ${calib}`);
    }
    this.allCameras = this.spec.readCameras(calib);
    if (cfg.usedCamNames) {
      this.cameras = cfg.usedCamNames.map((n) => {
        const c = this.allCameras.find((cam) => cam.name === n);
        if (!c)
          throw new InputError(
            `${calib} has no camera '${n}' (it has: ${this.allCameras.map((x) => x.name).join(', ')})`,
          );
        return c;
      });
    } else if (cfg.usedCamIds) {
      this.cameras = cfg.usedCamIds.map((i) => {
        const c = this.allCameras[i];
        if (!c) {
          throw new InputError(
            `${calib} has no camera #${i}: it holds ${this.allCameras.length} cameras (ids 0..${this.allCameras.length - 1})`,
          );
        }
        return c;
      });
    } else this.cameras = [...this.allCameras];

    const smplPath = cfg.smplParamsPath ?? join(cfg.dataDir, 'smpl_params.npz');
    if (!existsSync(smplPath)) throw new InputError(`${cfg.layout} capture ${cfg.dataDir}: no SMPL-X fits ${smplPath}`);
    this.smpl = readSmplParams(smplPath);
    this.frames = frameIds(cfg.frameRange, this.smpl.length, cfg.dataDir);
    for (const f of this.frames) {
      if (f < 0 || f >= this.smpl.length) {
        throw new InputError(
          `frame ${f} of the frame range is not in ${smplPath} (it holds frames 0..${this.smpl.length - 1})`,
        );
      }
    }
    const missingPath = join(cfg.dataDir, 'missing_img_files.txt');
    const missing = existsSync(missingPath) ? parseMissingList(readFileSync(missingPath, 'utf8')) : new Set<string>();
    this.items = [];
    for (const frame of this.frames) {
      this.cameras.forEach((c, cam) => {
        if (missing.has(`${c.name}/${frame}`)) return;
        this.items.push({
          frame,
          cam,
          camName: c.name,
          imagePath: this.spec.image(cfg.dataDir, c.name, frame),
          maskPath: this.spec.mask(cfg.dataDir, c.name, frame),
        });
      });
    }
  }

  /** Paths of items whose image or mask file is absent (a quick check before a long run). */
  missingFiles(): string[] {
    const out: string[] = [];
    for (const it of this.items) {
      if (!existsSync(it.imagePath)) out.push(it.imagePath);
      if (!existsSync(it.maskPath)) out.push(it.maskPath);
    }
    return out;
  }

  /** Decode one item. `bg` (RGB in [0, 1]) composites the image: background and nothing else is changed. */
  async load(item: CaptureItem, options: { bg?: readonly number[] } = {}): Promise<LoadedItem> {
    const where = `frame ${item.frame}, camera ${item.camName}`;
    if (!existsSync(item.imagePath)) throw new InputError(`missing image ${item.imagePath} (${where})`);
    if (!existsSync(item.maskPath)) throw new InputError(`missing mask ${item.maskPath} (${where})`);
    const [image, gray] = await Promise.all([readRgb(item.imagePath), readGray(item.maskPath)]);
    const camera = this.cameras[item.cam]!;
    if (image.width !== gray.width || image.height !== gray.height) {
      throw new InputError(
        `mask ${item.maskPath} is ${gray.width}x${gray.height} but image ${item.imagePath} is ${image.width}x${image.height}`,
      );
    }
    if (image.width !== camera.width || image.height !== camera.height) {
      throw new InputError(
        `image ${item.imagePath} is ${image.width}x${image.height} but the calibration of camera ${camera.name} says ` +
          `${camera.width}x${camera.height}`,
      );
    }
    const mask = threshold(gray);
    const boundary = boundaryBand(gray, this.spec.soft);
    if (options.bg) composite(image, mask, options.bg);
    return { item, camera, image, mask, boundary, ...(options.bg ? { bg: options.bg } : {}) };
  }

  /**
   * Decode items ahead of the consumer: `order` yields item indices (e.g. `shuffledEpochs(items.length, seed)` for
   * training), `depth` items are decoded ahead on sharp's worker threads. `bg` picks each item's background when it
   * is queued (e.g. a random colour per iteration); the chosen colour comes back in `LoadedItem.bg`.
   */
  stream(
    order: Iterable<number>,
    options: { depth?: number; bg?: (index: number) => readonly number[] } = {},
  ): Prefetcher<number, LoadedItem> {
    return new Prefetcher(
      order[Symbol.iterator](),
      (i) => {
        const item = this.items[i];
        if (!item) return Promise.reject(new Error(`item ${i} out of range (${this.items.length} items)`));
        return this.load(item, options.bg ? { bg: options.bg(i) } : {});
      },
      options.depth ?? 4,
    );
  }
}
