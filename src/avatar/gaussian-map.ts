/**
 * The Gaussian maps and their parameterisation. Each canonical-map foreground pixel is one Gaussian: pixel p of
 * the combined front | back image (M × 2M, row-major, the order src/prep writes) reads the networks' output maps at
 * the same place, and the raw outputs become Gaussians around fixed base values that are not trained (the
 * reference re-derives them from the canonical points at load time):
 *   position = xyz0 + 0.05·Δ, opacity = sigmoid(o + logit 0.1), scale = exp(s + scale_raw0) (isotropic base from
 *   the 3 nearest neighbours), rotation = normalize(q + (1, 0, 0, 0)) (wxyz), colour = raw (BGR, as the
 *   reference's colour network predicts), offset = position − xyz0 = 0.05·Δ.
 * A network giving zeros therefore gives exactly the base Gaussians.
 */
import { add, clamp, div, exp, scale, sigmoid, sqrt, square } from '../tensor/ops/elementwise.js';
import { gather, scatterAdd, split } from '../tensor/ops/indexing.js';
import { reshape, sum } from '../tensor/ops/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { initialScaleRaw } from './knn-scale.js';

export const POSITION_OFFSET_SCALE = 0.05;
export const BASE_OPACITY = 0.1;
export const OPACITY_RAW0 = Math.log(BASE_OPACITY / (1 - BASE_OPACITY));
/** F.normalize's floor on the norm. */
const NORM_EPS = 1e-12;

/** The canonical Gaussian set (src/prep's CanonicalMaps: `gaussianPositions(maps)`, `maps.pixels`, `maps.size`). */
export interface CanonicalGaussians {
  /** xyz0: N × 3 canonical positions. */
  positions: Float32Array;
  /** Foreground pixel of each Gaussian in the combined mapSize × 2·mapSize image (row-major). */
  pixels: Uint32Array;
  /** Pixels per side of the canonical maps. */
  mapSize: number;
  /** log √(mean squared 3-NN distance) per Gaussian, when already known (else computed from positions, ~1 s). */
  scaleRaw0?: Float32Array;
}

/** Per-Gaussian tensors on the tape: positions [N,3], opacities [N,1], scales [N,3], rotations [N,4] wxyz, colors [N,3] BGR, offsets [N,3]. */
export interface AvatarGaussians {
  positions: Tensor;
  opacities: Tensor;
  scales: Tensor;
  rotations: Tensor;
  colors: Tensor;
  offsets: Tensor;
}

/** The values a zero network output gives (the pretraining targets): positions, opacities, scales, rotations. */
export interface BaseGaussians {
  positions: Tensor;
  opacities: Tensor;
  scales: Tensor;
  rotations: Tensor;
}

/** Where Gaussian i lives: its side (0 front, 1 back), row and column within that side. */
export function pixelPlace(p: number, mapSize: number): { side: number; y: number; x: number } {
  const y = Math.floor(p / (2 * mapSize));
  const xc = p - y * 2 * mapSize;
  const side = xc >= mapSize ? 1 : 0;
  return { side, y, x: xc - side * mapSize };
}

export class GaussianMap {
  readonly n: number;
  readonly mapSize: number;
  readonly scaleRaw0: Float32Array;
  /** Base values (persistent, no grad). */
  readonly base: BaseGaussians;
  private readonly xyz0: Tensor;
  private readonly scaleRaw0T: Tensor;
  private readonly rot0: Tensor;
  /** Place of each Gaussian in a side of the map: side·M² + y·M + x. */
  private readonly place: Uint32Array;
  /** Per channel count C: the Gaussians' N·C elements in a [2C, M, M] network output (see `gather`). */
  private readonly planar = new Map<number, Tensor>();
  /** Gaussians on even pixels (the ×0.5 nearest downsample keeps them) and their place in [2, M/2, M/2]. */
  private readonly viewPick: Tensor;
  private readonly viewPlace: Tensor;

  constructor(canonical: CanonicalGaussians) {
    const { positions, pixels, mapSize: M } = canonical;
    const n = pixels.length;
    if (positions.length !== 3 * n) {
      throw new Error(
        `GaussianMap: ${positions.length / 3} positions for ${n} pixels: both come from the same canonical maps`,
      );
    }
    if (M % 2 !== 0) throw new Error(`GaussianMap: mapSize ${M} must be even`);
    this.n = n;
    this.mapSize = M;
    this.scaleRaw0 = canonical.scaleRaw0 ?? initialScaleRaw(positions);
    if (this.scaleRaw0.length !== n)
      throw new Error(`GaussianMap: scaleRaw0 has ${this.scaleRaw0.length} values for ${n} Gaussians`);
    const mapIndex = new Uint32Array(n);
    const pick: number[] = [];
    const place: number[] = [];
    const S = M / 2;
    for (let i = 0; i < n; i++) {
      const p = pixels[i]!;
      if (p >= 2 * M * M) throw new Error(`GaussianMap: pixel ${p} of Gaussian ${i} is outside the ${M}×${2 * M} map`);
      const { side, y, x } = pixelPlace(p, M);
      mapIndex[i] = side * M * M + y * M + x;
      if (y % 2 === 0 && x % 2 === 0) {
        pick.push(i);
        place.push(side * S * S + (y / 2) * S + x / 2);
      }
    }
    const keep = { persistent: true };
    this.place = mapIndex;
    for (const c of [3, 8]) this.planarIndex(c); // the networks' outputs: Δ and colour 3, other 8
    this.viewPick = Tensor.indices(Uint32Array.from(pick)).keep();
    this.viewPlace = Tensor.indices(Uint32Array.from(place)).keep();
    this.xyz0 = Tensor.from(positions, [n, 3], keep);
    this.scaleRaw0T = Tensor.from(this.scaleRaw0, [n, 1], keep);
    this.rot0 = Tensor.from([1, 0, 0, 0], [4], keep);
    const baseScale = new Float32Array(3 * n);
    for (let i = 0; i < 3 * n; i++) baseScale[i] = Math.exp(this.scaleRaw0[Math.floor(i / 3)]!);
    const baseRot = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) baseRot[4 * i] = 1;
    this.base = {
      positions: this.xyz0,
      opacities: Tensor.full([n, 1], BASE_OPACITY, keep),
      scales: Tensor.from(baseScale, [n, 3], keep),
      rotations: Tensor.from(baseRot, [n, 4], keep),
    };
  }

  /** A network output [1, 2C, M, M] (front channels, then back) → [N, C] at the Gaussians' pixels. */
  gather(maps: Tensor): Tensor {
    const M = this.mapSize;
    const c2 = maps.shape[1]!;
    if (maps.rank !== 4 || maps.shape[0] !== 1 || c2 % 2 !== 0 || maps.shape[2] !== M || maps.shape[3] !== M) {
      throw new Error(`GaussianMap.gather: maps must be [1, 2C, ${M}, ${M}] (front | back), got [${maps.shape}]`);
    }
    const c = c2 / 2;
    // Straight from the channel-planar output (no [2, M², C] transpose of the whole map first: the maps are ~30×
    // larger than the Gaussians' values in them).
    return reshape(gather(reshape(maps, [maps.size]), 0, this.planarIndex(c), { unique: true }), [this.n, c]);
  }

  /** Element (i, k) of the gathered [N, C] is output channel k of Gaussian i's side at its pixel. */
  private planarIndex(c: number): Tensor {
    let t = this.planar.get(c);
    if (!t) {
      const MM = this.mapSize * this.mapSize;
      const idx = new Uint32Array(this.n * c);
      for (let i = 0; i < this.n; i++) {
        const p = this.place[i]!;
        const side = Math.floor(p / MM);
        for (let k = 0; k < c; k++) idx[i * c + k] = (side * c + k) * MM + (p % MM);
      }
      t = Tensor.indices(idx).keep();
      this.planar.set(c, t);
    }
    return t;
  }

  /**
   * View cosines [N] → the view CNN's input [2, 1, M/2, M/2] (front, back): the cosines scattered into the
   * combined map, nearest-downsampled ×0.5 (the even pixels) and split into the two sides; zero elsewhere.
   */
  viewInput(cosines: Tensor): Tensor {
    if (cosines.size !== this.n)
      throw new Error(`GaussianMap.viewInput: ${cosines.size} cosines for ${this.n} Gaussians`);
    const S = this.mapSize / 2;
    const picked = gather(reshape(cosines, [this.n]), 0, this.viewPick, { unique: true });
    return reshape(scatterAdd(picked, 0, this.viewPlace, [2 * S * S], { unique: true }), [2, 1, S, S]);
  }

  /** Raw gathered outputs → Gaussians: Δ [N,3], colour [N,3], other [N,8] = [opacity 1 | scale 3 | rotation 4]. */
  parameterize(delta: Tensor, color: Tensor, other: Tensor): AvatarGaussians {
    const offsets = scale(delta, POSITION_OFFSET_SCALE);
    const [o, s, q] = split(other, [1, 3, 4], 1) as [Tensor, Tensor, Tensor];
    const q1 = add(q, this.rot0);
    const norm = clamp(sqrt(sum(square(q1), 1, true)), NORM_EPS, 3.4e38);
    return {
      positions: add(this.xyz0, offsets),
      opacities: sigmoid(add(o, OPACITY_RAW0)),
      scales: exp(add(s, this.scaleRaw0T)),
      rotations: div(q1, norm),
      colors: color,
      offsets,
    };
  }

  dispose(): void {
    for (const t of this.planar.values()) t.dispose();
    this.planar.clear();
    for (const t of [this.viewPick, this.viewPlace, this.scaleRaw0T, this.rot0, ...Object.values(this.base)]) {
      t.dispose();
    }
  }
}
