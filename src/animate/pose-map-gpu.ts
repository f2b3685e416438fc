/**
 * The networks' pose condition computed on the GPU from the frame's joint matrices, as `animgs prep` makes it for
 * training frames (src/prep/posemap.ts): the canonical points on even pixels of the front
 * map (prep's `poseMapSampler` picks them) are skinned with their own weights by cano → live without the root, and
 * written into their pixel of the [1, 3, S, S] front map (zero elsewhere). Built from tensor ops (blend + skin,
 * src/avatar/skinning.ts; scatter), so it records into a captured frame like everything else; prep's float64
 * `posedPositionMapCpu` is its oracle.
 *
 * The pose projection follows: the map's xyz at the PCA's front pixels, x, becomes
 *   x' = x̄ + Σ_k clamp(β_k, ±σ√λ_k) v_k,  β = V (x − x̄),
 * computed as u = clamp(A (x − x̄), −1, 1) with A_k = v_k / (σ√λ_k), x' = x̄ + Bᵀ u with B_k = σ√λ_k v_k (a
 * component of zero variance contributes nothing). `on` (a one-value tensor the loop uploads per frame, 0 or 1)
 * scales the change, so one recorded frame serves training poses (kept as they are) and unseen ones (projected).
 */
import { blendJointMatrices, skinGaussians } from '../avatar/skinning.js';
import type { CanonicalMaps } from '../prep/maps.js';
import type { PosePca } from '../prep/pca.js';
import { poseMapSampler } from '../prep/posemap.js';
import { add, clamp, gather, matmul, mul, permute, reshape, scatterAdd, sub, sum, Tensor } from '../tensor/index.js';

export class PoseMapBuilder {
  /** Side S of the front map the networks read. */
  readonly size: number;
  /** Points skinned (the front map's even-pixel Gaussians). */
  readonly count: number;
  readonly numJoints: number;
  private readonly points: Tensor;
  private readonly weights: Tensor;
  private readonly rot: Tensor;
  private readonly index: Tensor;

  /** `maps` of side 2S (the canonical maps AvatarNet was built on; S = its poseMapSize). */
  constructor(maps: CanonicalMaps, S: number) {
    if (maps.size !== 2 * S) {
      throw new Error(
        `pose map: the canonical maps are ${maps.size}² per side but the networks read ${S}² pose maps (need ${2 * S}²): run \`animgs prep --size ${2 * S}\``,
      );
    }
    const s = poseMapSampler(maps); // even pixels of front and back; the posed map is S × 2S
    const J = s.numJoints;
    const sel: number[] = [];
    for (let k = 0; k < s.outPixels.length; k++) if (s.outPixels[k]! % (2 * S) < S) sel.push(k);
    const n = sel.length;
    const pts = new Float32Array(3 * n);
    const wts = new Float32Array(J * n);
    const idx = new Uint32Array(3 * n);
    sel.forEach((k, i) => {
      pts.set(s.points.subarray(3 * k, 3 * k + 3), 3 * i);
      wts.set(s.weights.subarray(J * k, J * (k + 1)), J * i);
      const p = s.outPixels[k]!;
      const pix = Math.floor(p / (2 * S)) * S + (p % (2 * S));
      for (let c = 0; c < 3; c++) idx[c * n + i] = c * S * S + pix;
    });
    this.size = S;
    this.count = n;
    this.numJoints = J;
    const keep = { persistent: true };
    const m = Math.max(1, n); // an empty front (degenerate maps) still makes valid, all-zero tensors
    this.points = Tensor.from(n ? pts : new Float32Array(3), [m, 3], keep);
    this.weights = Tensor.from(n ? wts : new Float32Array(J), [m, J], keep);
    const q = new Float32Array(4 * m);
    for (let i = 0; i < m; i++) q[4 * i] = 1;
    this.rot = Tensor.from(q, [m, 4], keep);
    this.index = Tensor.indices(n ? idx : Uint32Array.of(0, S * S, 2 * S * S)).keep();
  }

  /** jointMatsWoRoot [J, 4, 4] → the front posed map [1, 3, S, S]. No gradient. */
  build(jointMatsWoRoot: Tensor): Tensor {
    const S = this.size;
    const blend = blendJointMatrices(this.weights, jointMatsWoRoot);
    const posed = skinGaussians(this.points, this.rot, blend).positions;
    let planar = reshape(permute(posed, [1, 0]), [3 * Math.max(1, this.count)]);
    if (this.count === 0) planar = mul(planar, 0);
    return reshape(scatterAdd(planar, 0, this.index, [3 * S * S], { unique: true }), [1, 3, S, S]);
  }

  dispose(): void {
    for (const t of [this.points, this.weights, this.rot, this.index]) t.dispose();
  }
}

/** The pose PCA on the GPU (see the file comment). */
export class PcaProjector {
  readonly components: number;
  private readonly index: Tensor;
  private readonly chunkIndex: Tensor;
  private readonly mean: Tensor;
  private readonly chunkMean: Tensor;
  private readonly a: Tensor;
  private readonly b: Tensor;
  private readonly dim: number;
  private readonly chunks: number;
  private readonly chunkLen: number;

  /**
   * `pixels`: the PCA's front-map pixels (row-major ids in the S × S front half, as prep writes them);
   * `sigma`: the clamp in standard deviations (the reference's σ_pca = 2).
   */
  constructor(pca: PosePca, pixels: Uint32Array, S: number, sigma: number) {
    const D = pca.dim;
    if (D !== 3 * pixels.length) {
      throw new Error(`pose PCA: ${D} features for ${pixels.length} pixels (expected 3 per pixel)`);
    }
    if (!(sigma >= 0 && Number.isFinite(sigma))) throw new Error(`pose PCA: σ ${sigma} must be a finite number ≥ 0`);
    const K = pca.count;
    const idx = new Uint32Array(D);
    for (let k = 0; k < pixels.length; k++) {
      const p = pixels[k]!;
      if (p >= S * S) throw new Error(`pose PCA: pixel ${p} is outside the ${S}² front map (a PCA of other maps?)`);
      for (let c = 0; c < 3; c++) idx[3 * k + c] = c * S * S + p;
    }
    // A (x − x̄) is K dot products of length D (~300k at full size): as one [K, D] · [D, 1] product it runs on two
    // workgroups walking all of D (4 ms on an H200). Split D into C chunks of L ≈ √D, A stored [C, K, L] (zero-padded),
    // so the batched product runs C·K dot products of length L in parallel and a sum over the C chunks finishes them.
    const L = Math.max(1, Math.ceil(Math.sqrt(D)));
    const C = Math.max(1, Math.ceil(D / L));
    const a = new Float32Array(C * K * L);
    const b = new Float32Array(K * D);
    for (let k = 0; k < K; k++) {
      const lim = sigma * Math.sqrt(Math.max(0, pca.variance[k]!));
      if (!(lim > 0)) continue; // clamped to 0: contributes nothing
      for (let d = 0; d < D; d++) {
        const v = pca.components[k * D + d]!;
        a[(Math.floor(d / L) * K + k) * L + (d % L)] = v / lim;
        b[k * D + d] = v * lim;
      }
    }
    // The padded tail reads the map's first feature against zero weights and a zero mean (finite, contributes 0).
    const chunkIdx = new Uint32Array(C * L);
    chunkIdx.set(idx);
    if (C * L > D) chunkIdx.fill(D > 0 ? idx[0]! : 0, D);
    const chunkMean = new Float32Array(C * L);
    chunkMean.set(pca.mean.subarray(0, D));
    const keep = { persistent: true };
    this.components = K;
    this.dim = D;
    this.chunks = C;
    this.chunkLen = L;
    this.index = Tensor.indices(idx).keep();
    this.chunkIndex = Tensor.indices(chunkIdx).keep();
    this.mean = Tensor.from(Float32Array.from(pca.mean), [D, 1], keep);
    this.chunkMean = Tensor.from(chunkMean, [C, L, 1], keep);
    this.a = Tensor.from(a, [C, K, L], keep);
    this.b = Tensor.from(b, [K, D], keep);
  }

  /** map [1, 3, S, S] → the map with its PCA pixels projected, scaled by `on` ([1]: 1 projects, 0 keeps the map). */
  project(map: Tensor, on: Tensor): Tensor {
    const shape = map.shape;
    const flat = reshape(map, [map.size]);
    const x = reshape(gather(flat, 0, this.index, { unique: true }), [this.dim, 1]);
    const xc = reshape(gather(flat, 0, this.chunkIndex), [this.chunks, this.chunkLen, 1]);
    const u = clamp(sum(matmul(this.a, sub(xc, this.chunkMean)), 0), -1, 1);
    const change = mul(sub(add(matmul(this.b, u, { transA: true }), this.mean), x), on);
    return reshape(add(flat, scatterAdd(reshape(change, [this.dim]), 0, this.index, [map.size], { unique: true })), [
      ...shape,
    ]);
  }

  dispose(): void {
    for (const t of [this.index, this.chunkIndex, this.mean, this.chunkMean, this.a, this.b]) t.dispose();
  }
}
