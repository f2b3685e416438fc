/**
 * AvatarNet in float64 on the CPU, written the literal way (the view cosines scattered into the full combined map,
 * downsampled, split; the output maps reassembled front | back and read at each pixel): the oracle of the GPU
 * AvatarNet (tiny configurations only).
 */
import { conv2dGeometry } from '../tensor/conv/geometry.js';
import { conv2dRef } from '../tensor/reference/conv.js';
import { styleUnetForwardRef, type F64 } from '../nn/styleunet/reference.js';
import {
  AVATAR_NET_KEYS,
  avatarNetUnetConfig,
  viewdirOutChannels,
  type AvatarNetConfig,
  type AvatarNetKey,
} from './config.js';
import { BASE_OPACITY, POSITION_OFFSET_SCALE, type CanonicalGaussians } from './gaussian-map.js';
import { VIEWDIR_SLOPE } from './viewdir-net.js';

export type FullParams = ReadonlyMap<string, ArrayLike<number>>;

export interface AvatarGaussiansRef {
  positions: Float64Array;
  opacities: Float64Array;
  scales: Float64Array;
  rotations: Float64Array;
  colors: Float64Array;
  offsets: Float64Array;
}

/** Cosines [N] → front and back [1, 1, M/2, M/2]: scatter into the M × 2M map, keep pixels (2i, 2j), split. */
export function viewInputRef(cos: ArrayLike<number>, pixels: Uint32Array, M: number): [F64, F64] {
  const full = new Float64Array(2 * M * M);
  pixels.forEach((p, i) => (full[p] = cos[i]!));
  const S = M / 2;
  const sides = [0, 1].map(() => new Float64Array(S * S));
  for (let y = 0; y < S; y++)
    for (let x = 0; x < 2 * S; x++) {
      const v = full[2 * y * 2 * M + 2 * x]!;
      const side = x >= S ? 1 : 0;
      sides[side]![y * S + x - side * S] = v;
    }
  return sides.map((data) => ({ data, n: 1, c: 1, h: S, w: S })) as [F64, F64];
}

function conv(x: F64, w: ArrayLike<number>, b: ArrayLike<number>, cout: number): F64 {
  const g = conv2dGeometry([x.n, x.c, x.h, x.w], [cout, x.c, 4, 4], { stride: 2, padding: 1 });
  return { data: conv2dRef(g, x.data, w, b), n: x.n, c: cout, h: g.ho, w: g.wo };
}

/** The view CNN on one side's map. */
export function viewdirForwardRef(p: FullParams, hidden: number, out: number, x: F64): F64 {
  const h = conv(x, p.get('viewdir_net.0.weight')!, p.get('viewdir_net.0.bias')!, hidden);
  h.data = h.data.map((v) => (v >= 0 ? v : v * VIEWDIR_SLOPE));
  return conv(h, p.get('viewdir_net.2.weight')!, p.get('viewdir_net.2.bias')!, out);
}

/** The parameters of one network, prefix removed. */
function netParams(p: FullParams, net: string): Map<string, ArrayLike<number>> {
  const out = new Map<string, ArrayLike<number>>();
  for (const [k, v] of p) if (k.startsWith(`${net}.`)) out.set(k.slice(net.length + 1), v);
  return out;
}

/**
 * One network's raw output read at the Gaussians' pixels, [N × outCh]: its front/back maps reassembled as
 * M × 2M (front | back) per channel; the colour network gets the view features from the cosines.
 */
export function avatarNetOutputRef(
  config: AvatarNetConfig,
  p: FullParams,
  canonical: CanonicalGaussians,
  poseMap: F64,
  net: AvatarNetKey,
  cosines?: ArrayLike<number>,
): Float64Array {
  const M = config.mapSize;
  let view: [F64, F64] | undefined;
  if (net === 'color_net' && config.withViewdirs) {
    const [f, b] = viewInputRef(cosines!, canonical.pixels, M);
    const out = viewdirOutChannels(config);
    view = [viewdirForwardRef(p, config.viewdirHidden, out, f), viewdirForwardRef(p, config.viewdirHidden, out, b)];
  }
  const c = avatarNetUnetConfig(config, net);
  const y = styleUnetForwardRef(c, netParams(p, net), poseMap, view);
  const C = c.outCh;
  const out = new Float64Array(canonical.pixels.length * C);
  canonical.pixels.forEach((px, i) => {
    const row = Math.floor(px / (2 * M));
    const col = px % (2 * M);
    const side = col >= M ? 1 : 0;
    for (let k = 0; k < C; k++) out[i * C + k] = y.data[((side * C + k) * M + row) * M + col - side * M]!;
  });
  return out;
}

/** Raw outputs (Δ [N×3], colour [N×3], other [N×8]) → the Gaussians around the base values. */
export function parameterizeRef(
  canonical: CanonicalGaussians & { scaleRaw0: Float32Array },
  delta: Float64Array,
  colors: Float64Array,
  other: Float64Array,
): AvatarGaussiansRef {
  const n = canonical.pixels.length;
  const positions = new Float64Array(3 * n);
  const offsets = new Float64Array(3 * n);
  const opacities = new Float64Array(n);
  const scales = new Float64Array(3 * n);
  const rotations = new Float64Array(4 * n);
  const logit0 = Math.log(BASE_OPACITY / (1 - BASE_OPACITY));
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      positions[3 * i + a] = canonical.positions[3 * i + a]! + POSITION_OFFSET_SCALE * delta[3 * i + a]!;
      offsets[3 * i + a] = positions[3 * i + a]! - canonical.positions[3 * i + a]!;
      scales[3 * i + a] = Math.exp(other[8 * i + 1 + a]! + canonical.scaleRaw0[i]!);
    }
    opacities[i] = 1 / (1 + Math.exp(-(other[8 * i]! + logit0)));
    const q = [0, 1, 2, 3].map((a) => other[8 * i + 4 + a]! + (a === 0 ? 1 : 0));
    const norm = Math.max(Math.hypot(...q), 1e-12);
    for (let a = 0; a < 4; a++) rotations[4 * i + a] = q[a]! / norm;
  }
  return { positions, opacities, scales, rotations, colors, offsets };
}

/** The canonical Gaussians from the pose map [1, inpCh, S, S] (and the view cosines [N] with view conditioning). */
export function avatarForwardRef(
  config: AvatarNetConfig,
  p: FullParams,
  canonical: CanonicalGaussians & { scaleRaw0: Float32Array },
  poseMap: F64,
  cosines?: ArrayLike<number>,
): AvatarGaussiansRef {
  const [delta, colors, other] = AVATAR_NET_KEYS.map((net) =>
    avatarNetOutputRef(config, p, canonical, poseMap, net, cosines),
  ) as [Float64Array, Float64Array, Float64Array];
  return parameterizeRef(canonical, delta, colors, other);
}
