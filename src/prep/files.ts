/**
 * Prep outputs on disk. In `<data_dir>/smpl_pos_map/`, as the reference writes them (so its published preprocessed
 * files can be used and ours can be fed to its code):
 *   cano_smpl_pos_map.exr   size x 2·size, channels B,G,R = x,y,z (cv2 order), background 0
 *   cano_smpl_nml_map.exr   same layout, unit normals
 *   init_pts_lbs.npy        N x 55 float32, one row per foreground pixel, row-major over the combined image
 *   %08d.exr                posed position map of frame %d, (size/2) x size, x,y,z as B,G,R
 * plus our compact files:
 *   cano_maps.safetensors   pixels (u32 N), positions (N x 3), normals (N x 3), weights (N x J), center (3), size
 *   pca_<K>.safetensors     the pose PCA: mean, components, variance, the front-map foreground pixels it covers
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, InputError } from '../io/errors.js';
import type { ExrWriteOptions } from '../io/exr.js';
import { readExrXyz, writeExrXyz } from '../io/node/exr.js';
import { checkFinite } from '../io/finite.js';
import { describeFsError, writeFileAtomic } from '../io/node/atomic.js';
import { decodeNpy, encodeNpy, ndarray, toFloat64 } from '../io/npy.js';
import type { SafeTensor } from '../io/safetensors.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../io/node/safetensors.js';
import { foregroundPixels, gaussianNormals, gaussianPositions, type CanonicalMaps } from './maps.js';
import type { PosePca } from './pca.js';

export const POS_MAP_DIR = 'smpl_pos_map';
export const CANO_POS_EXR = 'cano_smpl_pos_map.exr';
export const CANO_NML_EXR = 'cano_smpl_nml_map.exr';
export const INIT_LBS_NPY = 'init_pts_lbs.npy';
export const CANO_MAPS_FILE = 'cano_maps.safetensors';

export const poseMapName = (frame: number) => `${String(frame).padStart(8, '0')}.exr`;

/** Write the canonical maps in the reference's files and our compact one. */
export function writeCanonicalMaps(dir: string, maps: CanonicalMaps, exr: ExrWriteOptions = {}): void {
  const W = 2 * maps.size;
  writeExrXyz(join(dir, CANO_POS_EXR), { width: W, height: maps.size, data: maps.position }, exr);
  writeExrXyz(join(dir, CANO_NML_EXR), { width: W, height: maps.size, data: maps.normal }, exr);
  const N = maps.pixels.length;
  if (maps.numJoints > 0) {
    writeFileAtomic(join(dir, INIT_LBS_NPY), encodeNpy(ndarray(maps.weights, [N, maps.numJoints])));
  }
  saveSafetensors(
    join(dir, CANO_MAPS_FILE),
    new Map([
      ['pixels', { shape: [N], data: maps.pixels }],
      ['positions', { shape: [N, 3], data: gaussianPositions(maps) }],
      ['normals', { shape: [N, 3], data: gaussianNormals(maps) }],
      ['weights', { shape: [N, maps.numJoints], data: maps.weights }],
      ['center', { shape: [3], data: Float32Array.from(maps.center) }],
    ]),
    { size: String(maps.size), center: JSON.stringify(Array.from(maps.center)), format: 'animgs canonical maps v1' },
  );
}

/**
 * Estimate the map centre from a position map: every foreground pixel (u, v) sits at the pixel centre
 * x = c_x − 1 + (u + ½)·2/size, y = c_y + 1 − (v + ½)·2/size; the median over pixels is robust to renderers that
 * sample elsewhere in the pixel. c_z is unknown from the map; the mid-depth of the front and back is returned.
 */
export function estimateCenter(position: Float32Array, size: number, pixels: Uint32Array): Float64Array {
  const W = 2 * size;
  const cx: number[] = [];
  const cy: number[] = [];
  let zmin = Infinity,
    zmax = -Infinity;
  for (const p of pixels) {
    const v = Math.floor(p / W),
      u = p % size;
    cx.push(position[p * 3]! + 1 - ((u + 0.5) * 2) / size);
    cy.push(position[p * 3 + 1]! - 1 + ((v + 0.5) * 2) / size);
    zmin = Math.min(zmin, position[p * 3 + 2]!);
    zmax = Math.max(zmax, position[p * 3 + 2]!);
  }
  const med = (a: number[]) => (a.length ? a.sort((x, y) => x - y)[a.length >> 1]! : 0);
  return Float64Array.of(med(cx), med(cy), pixels.length ? (zmin + zmax) / 2 : 0);
}

/**
 * Read canonical maps from a smpl_pos_map folder: ours (cano_maps.safetensors + the EXRs) or the reference's
 * published files (cano_smpl_pos_map.exr, cano_smpl_nml_map.exr, init_pts_lbs.npy). The Gaussian set is the
 * pixels with ‖xyz‖ > 0, as the reference counts them.
 */
export function readCanonicalMaps(dir: string): CanonicalMaps {
  const posPath = join(dir, CANO_POS_EXR);
  if (!existsSync(posPath)) {
    throw new InputError(
      `no canonical maps in ${dir} (${CANO_POS_EXR} is missing): run \`animgs prep\` or unpack the preprocessed files there`,
    );
  }
  const pos = readExrXyz(posPath);
  const size = pos.height;
  if (pos.width !== 2 * size)
    throw new FormatError(posPath, `expected a size x 2·size map, got ${pos.width}x${pos.height}`);
  const nmlPath = join(dir, CANO_NML_EXR);
  let normal: Float32Array = new Float32Array(pos.data.length);
  if (existsSync(nmlPath)) {
    const nml = readExrXyz(nmlPath);
    if (nml.width !== pos.width || nml.height !== pos.height) {
      throw new FormatError(nmlPath, `is ${nml.width}x${nml.height} but ${CANO_POS_EXR} is ${pos.width}x${pos.height}`);
    }
    normal = nml.data;
  }
  const pixels = foregroundPixels(pos.data);
  const N = pixels.length;
  let weights: Float32Array = new Float32Array(0);
  let numJoints = 0;
  const lbsPath = join(dir, INIT_LBS_NPY);
  if (existsSync(lbsPath)) {
    let raw: Uint8Array;
    try {
      raw = readFileSync(lbsPath);
    } catch (e) {
      throw new InputError(`cannot read ${lbsPath}: ${describeFsError(e)}`);
    }
    const a = decodeNpy(raw, lbsPath);
    if (a.shape.length !== 2 || a.shape[0] !== N || a.dtype === 'U' || a.dtype === 'S') {
      throw new FormatError(lbsPath, `shape [${a.shape}] does not match the ${N} foreground pixels of ${posPath}`);
    }
    numJoints = a.shape[1]!;
    weights = a.data instanceof Float32Array ? a.data : Float32Array.from(toFloat64(a));
    checkFinite(weights, lbsPath, 'skinning weights', a.shape);
  }
  let center: Float64Array;
  const ours = join(dir, CANO_MAPS_FILE);
  if (existsSync(ours)) {
    const { metadata } = readSafetensorsHeader(ours); // only its metadata: the file holds the maps again (~70 MB)
    let c: unknown;
    try {
      c = JSON.parse(metadata.center ?? '[0,0,0]');
    } catch {
      c = undefined;
    }
    if (!Array.isArray(c) || c.length !== 3 || !c.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new FormatError(ours, `metadata 'center' must be 3 finite numbers, got ${String(metadata.center)}`);
    }
    center = Float64Array.from(c as number[]);
  } else center = estimateCenter(pos.data, size, pixels);
  return { size, center, position: pos.data, normal, pixels, weights, numJoints };
}

export function writePoseMap(
  dir: string,
  frame: number,
  map: Float32Array,
  size: number,
  exr: ExrWriteOptions = {},
): void {
  writeExrXyz(join(dir, poseMapName(frame)), { width: size, height: size / 2, data: map }, exr);
}

/**
 * A posed position map (size/2 x size x 3, interleaved xyz). With `size`, a map of another size is refused (maps
 * left by a run at another --size must not be mixed with these canonical maps).
 */
export function readPoseMap(
  dir: string,
  frame: number,
  size?: number,
): { width: number; height: number; data: Float32Array } {
  const path = join(dir, poseMapName(frame));
  if (!existsSync(path)) {
    throw new InputError(`no posed position map for frame ${frame}: ${path} (run \`animgs prep\`)`);
  }
  const m = readExrXyz(path);
  if (size !== undefined && (m.width !== size || m.height !== size / 2)) {
    throw new FormatError(
      path,
      `is ${m.width}x${m.height} but the canonical maps are ${size}x${2 * size} (posed maps are ${size}x${size / 2}): ` +
        `run \`animgs prep --force\` to remake them`,
    );
  }
  return m;
}

/** Save/load the pose PCA with the front-map pixels it covers. */
export function writePca(path: string, pca: PosePca, frontPixels: Uint32Array, size: number): void {
  saveSafetensors(
    path,
    new Map([
      ['mean', { shape: [pca.dim], data: Float32Array.from(pca.mean) }],
      ['components', { shape: [pca.count, pca.dim], data: Float32Array.from(pca.components) }],
      ['variance', { shape: [pca.count], data: Float32Array.from(pca.variance) }],
      ['pixels', { shape: [frontPixels.length], data: frontPixels }],
    ]),
    { size: String(size), format: 'animgs pose pca v1' },
  );
}

export function readPca(path: string): { pca: PosePca; pixels: Uint32Array; size: number } {
  const { tensors, metadata } = loadSafetensors(path);
  const get = (k: string, dtype: SafeTensor['dtype'], shape: (number | null)[]): SafeTensor => {
    const t = tensors.get(k);
    if (!t) throw new FormatError(path, `no tensor '${k}': not a pose PCA file of animgs prep`);
    if (t.dtype !== dtype || t.shape.length !== shape.length || shape.some((s, i) => s !== null && s !== t.shape[i])) {
      throw new FormatError(
        path,
        `'${k}' is ${t.dtype} [${t.shape}], expected ${dtype} [${shape.map((s) => s ?? '*')}]`,
      );
    }
    return t;
  };
  const comps = get('components', 'F32', [null, null]);
  const [count, dim] = comps.shape as [number, number];
  const pixels = get('pixels', 'U32', [dim / 3]);
  const size = Number(metadata.size);
  if (dim % 3 !== 0 || !Number.isInteger(size) || size < 2 || size % 2) {
    throw new FormatError(path, `inconsistent PCA: ${dim} features, map size '${metadata.size}'`);
  }
  const half = size / 2;
  for (const p of pixels.data)
    if (p >= half * half) throw new FormatError(path, `pixel ${p} lies outside a ${half}² map`);
  const pca: PosePca = {
    dim,
    count,
    mean: Float64Array.from(get('mean', 'F32', [dim]).data as Float32Array),
    components: Float64Array.from(comps.data as Float32Array),
    variance: Float64Array.from(get('variance', 'F32', [count]).data as Float32Array),
  };
  return { pca, pixels: pixels.data as Uint32Array, size };
}

/** The PCA feature vector of a posed map: xyz of the front-half foreground pixels (pixel indices into the front half). */
export function pcaFeatures(map: Float32Array, size: number, frontPixels: Uint32Array): Float64Array {
  const h = size / 2;
  const out = new Float64Array(frontPixels.length * 3);
  frontPixels.forEach((p, k) => {
    const y = Math.floor(p / h),
      x = p % h;
    const o = (y * size + x) * 3;
    out[k * 3] = map[o]!;
    out[k * 3 + 1] = map[o + 1]!;
    out[k * 3 + 2] = map[o + 2]!;
  });
  return out;
}

/** The front-half foreground (‖xyz‖ > 1e-6, as the reference takes it from the first map), as front-half pixel ids. */
export function frontForeground(map: Float32Array, size: number): Uint32Array {
  const h = size / 2;
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < h; x++) {
      const o = (y * size + x) * 3;
      if (Math.hypot(map[o]!, map[o + 1]!, map[o + 2]!) > 1e-6) out.push(y * h + x);
    }
  }
  return Uint32Array.from(out);
}
