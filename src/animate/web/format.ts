/**
 * The web player's site: what `animgs export-web` writes and the page (src/player) reads. Browser-safe: bytes in,
 * bytes out.
 *   index.html          the page
 *   player.js           the page's code, one ES module bundle
 *   site.json           this manifest: the network sizes, the files with their sizes (the loading bar's total), the
 *                       motions and the initial view
 *   avatar/net.safetensors        AvatarNet's weights under the reference's state-dict names, F16 or F32
 *   avatar/canonical.safetensors  the canonical maps' foreground (pixels, positions, normals, skinning weights) and
 *                                 the pose PCA
 *   motions/<name>.safetensors    per frame the two joint tables the GPU reads (cano → live with and without the
 *                                 root, J × 16 each) and whether the pose is projected onto the PCA
 * Motions carry joint tables, not poses: the page then needs no SMPL-X model (whose licence does not allow
 * putting it on a public site) and does no kinematics; a motion costs J·32 floats per frame.
 */
import type { AvatarNetConfig } from '../../avatar/config.js';
import { FormatError } from '../../io/errors.js';
import { floatsToHalves, halvesToFloats } from '../../io/half.js';
import { decodeSafetensors, encodeSafetensors, type SafeArray, type SafeTensor } from '../../io/safetensors.js';
import type { CanonicalMaps } from '../../prep/maps.js';
import type { PosePca } from '../../prep/pca.js';

export const SITE_FORMAT = 'animgs web avatar v1';
export const MANIFEST = 'site.json';
export const NET_FILE = 'avatar/net.safetensors';
export const CANONICAL_FILE = 'avatar/canonical.safetensors';
export const motionFile = (name: string): string => `motions/${name}.safetensors`;

export interface MotionInfo {
  name: string;
  file: string;
  frames: number;
  /** Frames per second it plays at. */
  fps: number;
  /** Where the poses came from (for the page's picker). */
  source: string;
  /** The synthetic views' rig for this motion: frame 0's posed body centre and U (row-major 3 × 3). */
  center: number[];
  upright: number[];
  /**
   * A baked motion (export-web --bake): the posed Gaussians of every frame, rendered from the front view's colours,
   * in chunk files the page fetches as it plays; it needs no networks, only the rasterizer.
   */
  baked?: { gaussians: number; framesPerChunk: number; chunks: string[]; bytes: number[] };
}

export interface SiteManifest {
  format: string;
  name: string;
  net: { config: AvatarNetConfig; file: string; precision: 'f16' | 'f32' };
  canonical: { file: string; gaussians: number; pcaSigma: number | null };
  motions: MotionInfo[];
  view: { width: number; height: number; background: [number, number, number] };
  /** Every file the page loads, with its size in bytes. */
  files: { path: string; bytes: number }[];
}

type Tensors = Map<string, { shape: readonly number[]; data: SafeArray }>;

/** Network weights as safetensors, F16 (half the bytes; the page widens them to f32) or F32. */
export function encodeNetWeights(
  weights: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, readonly number[]>,
  precision: 'f16' | 'f32',
): Uint8Array {
  const out: Tensors = new Map();
  for (const [k, v] of weights) {
    const shape = shapes.get(k) ?? [v.length];
    // a value beyond f16's range (±65504) keeps its tensor in f32 rather than turning into ±Inf
    const half = precision === 'f16' && v.every((x) => Math.abs(x) <= 65504);
    out.set(k, { shape, data: half ? floatsToHalves(v) : v });
  }
  return encodeSafetensors(out, { format: SITE_FORMAT, precision });
}

export function decodeNetWeights(bytes: Uint8Array, source = NET_FILE): Map<string, Float32Array> {
  const { tensors } = decodeSafetensors(bytes, source);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of tensors) out.set(k, asFloat32(t, k, source));
  return out;
}

/** The canonical maps (their foreground only: background pixels are zero) and the PCA, as one safetensors file. */
export function encodeCanonical(
  maps: CanonicalMaps,
  pca: { pca: PosePca; pixels: Uint32Array; size: number } | null,
  sigma: number | null,
): Uint8Array {
  const N = maps.pixels.length;
  const pos = new Float32Array(3 * N);
  const nml = new Float32Array(3 * N);
  for (let i = 0; i < N; i++) {
    const p = maps.pixels[i]!;
    for (let c = 0; c < 3; c++) {
      pos[3 * i + c] = maps.position[3 * p + c]!;
      nml[3 * i + c] = maps.normal[3 * p + c]!;
    }
  }
  const t: Tensors = new Map<string, { shape: readonly number[]; data: SafeArray }>([
    ['pixels', { shape: [N], data: maps.pixels }],
    ['position', { shape: [N, 3], data: pos }],
    ['normal', { shape: [N, 3], data: nml }],
    ['weights', { shape: [N, maps.numJoints], data: maps.weights }],
  ]);
  const meta: Record<string, string> = {
    format: SITE_FORMAT,
    size: String(maps.size),
    // the centre in JSON keeps its float64 value (safetensors has no F64)
    center: JSON.stringify(Array.from(maps.center)),
  };
  if (pca) {
    const { dim: D, count: K } = pca.pca;
    t.set('pca.mean', { shape: [D], data: Float32Array.from(pca.pca.mean) });
    t.set('pca.components', { shape: [K, D], data: Float32Array.from(pca.pca.components) });
    t.set('pca.variance', { shape: [K], data: Float32Array.from(pca.pca.variance) });
    t.set('pca.pixels', { shape: [pca.pixels.length], data: pca.pixels });
    meta.pca_size = String(pca.size);
    meta.pca_sigma = String(sigma ?? 2);
  }
  return encodeSafetensors(t, meta);
}

export interface DecodedCanonical {
  maps: CanonicalMaps;
  pca: { pca: PosePca; pixels: Uint32Array; size: number; sigma: number } | null;
}

export function decodeCanonical(bytes: Uint8Array, source = CANONICAL_FILE): DecodedCanonical {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const get = (k: string): SafeTensor => {
    const t = tensors.get(k);
    if (!t) throw new FormatError(source, `no tensor '${k}': not an avatar exported by animgs export-web`);
    return t;
  };
  const size = Number(metadata.size);
  if (!(Number.isInteger(size) && size >= 2)) throw new FormatError(source, `bad map size '${metadata.size}'`);
  const pixels = get('pixels').data as Uint32Array;
  const N = pixels.length;
  const pos = asFloat32(get('position'), 'position', source);
  const nml = asFloat32(get('normal'), 'normal', source);
  const w = get('weights');
  const position = new Float32Array(size * 2 * size * 3);
  const normal = new Float32Array(position.length);
  for (let i = 0; i < N; i++) {
    const p = pixels[i]!;
    if (p >= size * 2 * size) throw new FormatError(source, `pixel ${p} lies outside the ${size}×${2 * size} maps`);
    for (let c = 0; c < 3; c++) {
      position[3 * p + c] = pos[3 * i + c]!;
      normal[3 * p + c] = nml[3 * i + c]!;
    }
  }
  const maps: CanonicalMaps = {
    size,
    center: Float64Array.from(JSON.parse(metadata.center ?? '[0,0,0]') as number[]),
    position,
    normal,
    pixels,
    weights: asFloat32(w, 'weights', source),
    numJoints: w.shape[1] ?? 0,
  };
  let pca: DecodedCanonical['pca'] = null;
  if (tensors.has('pca.components')) {
    const comps = get('pca.components');
    const [K, D] = comps.shape as [number, number];
    pca = {
      pca: {
        dim: D,
        count: K,
        mean: Float64Array.from(asFloat32(get('pca.mean'), 'pca.mean', source)),
        components: Float64Array.from(asFloat32(comps, 'pca.components', source)),
        variance: Float64Array.from(asFloat32(get('pca.variance'), 'pca.variance', source)),
      },
      pixels: get('pca.pixels').data as Uint32Array,
      size: Number(metadata.pca_size),
      sigma: Number(metadata.pca_sigma ?? 2),
    };
  }
  return { maps, pca };
}

export interface Motion {
  frames: number;
  numJoints: number;
  /** [frames, J, 16] cano → live with the root. */
  joints: Float32Array;
  /** [frames, J, 16] without the root. */
  jointsWoRoot: Float32Array;
  /** Per frame: project the pose map onto the PCA (an unseen pose). */
  project: Uint8Array;
}

export function encodeMotion(m: Motion): Uint8Array {
  const { frames: F, numJoints: J } = m;
  return encodeSafetensors(
    new Map<string, { shape: readonly number[]; data: SafeArray }>([
      ['joints', { shape: [F, J, 16], data: m.joints }],
      ['joints_wo_root', { shape: [F, J, 16], data: m.jointsWoRoot }],
      ['project', { shape: [F], data: m.project }],
    ]),
    { format: SITE_FORMAT },
  );
}

export function decodeMotion(bytes: Uint8Array, source: string): Motion {
  const { tensors } = decodeSafetensors(bytes, source);
  const j = tensors.get('joints');
  const w = tensors.get('joints_wo_root');
  const p = tensors.get('project');
  if (!j || !w || !p || j.shape.length !== 3 || j.shape[2] !== 16) {
    throw new FormatError(source, 'not a motion exported by animgs export-web (joints, joints_wo_root, project)');
  }
  const [F, J] = j.shape as [number, number];
  if (w.data.length !== F * J * 16 || p.data.length !== F) throw new FormatError(source, 'inconsistent motion tables');
  return {
    frames: F,
    numJoints: J,
    joints: asFloat32(j, 'joints', source),
    jointsWoRoot: asFloat32(w, 'joints_wo_root', source),
    project: p.data as Uint8Array,
  };
}

export const bakedChunkFile = (name: string, k: number): string =>
  `motions/${name}.baked.${String(k).padStart(4, '0')}.safetensors`;

/** Posed Gaussians of F frames (what renderGaussians takes): positions F32, the rest F16, colours RGB. */
export interface BakedFrames {
  frames: number;
  gaussians: number;
  /** [F, N, 3] */
  means: Float32Array;
  /** [F, N, 3] activated */
  scales: Float32Array;
  /** [F, N, 4] wxyz */
  rotations: Float32Array;
  /** [F, N, 1] activated */
  opacities: Float32Array;
  /** [F, N, 3] RGB */
  colors: Float32Array;
}

const BAKED_PARTS = [
  ['means', 3],
  ['scales', 3],
  ['rotations', 4],
  ['opacities', 1],
  ['colors', 3],
] as const;

/**
 * Positions stay F32 (f16's step is ~1 mm at a metre from the origin, half a pixel at 1024² and 2.5 m); scales,
 * rotations, opacities and colours are F16, which halves them with a relative error of 2^-11.
 */
export function encodeBaked(b: BakedFrames): Uint8Array {
  const t: Tensors = new Map();
  for (const [k, c] of BAKED_PARTS) {
    const shape = [b.frames, b.gaussians, c];
    t.set(k, { shape, data: k === 'means' ? b[k] : floatsToHalves(b[k]) });
  }
  return encodeSafetensors(t, { format: SITE_FORMAT });
}

export function decodeBaked(bytes: Uint8Array, source: string): BakedFrames {
  const { tensors } = decodeSafetensors(bytes, source);
  const out: Partial<Record<(typeof BAKED_PARTS)[number][0], Float32Array>> = {};
  let F = -1;
  let N = -1;
  for (const [k, c] of BAKED_PARTS) {
    const t = tensors.get(k);
    if (!t || t.shape.length !== 3 || t.shape[2] !== c)
      throw new FormatError(source, `no '${k}' of [frames, N, ${c}]: not a baked motion chunk of animgs export-web`);
    if (F < 0) [F, N] = [t.shape[0]!, t.shape[1]!];
    if (t.shape[0] !== F || t.shape[1] !== N)
      throw new FormatError(source, `'${k}' is [${t.shape}], not [${F}, ${N}, ${c}]`);
    out[k] = asFloat32(t, k, source);
  }
  return { frames: F, gaussians: N, ...(out as Required<typeof out>) };
}

function asFloat32(t: SafeTensor, name: string, source: string): Float32Array {
  if (t.dtype === 'F32') return t.data as Float32Array;
  if (t.dtype === 'F16') return halvesToFloats(t.data as Uint16Array);
  throw new FormatError(source, `'${name}' is ${t.dtype}, expected F32 or F16`);
}
