/**
 * Posed position maps: each canonical map pixel's point is skinned with its own weights
 * by the frame's cano2live_woRoot joint matrices and written back into its pixel; the map is then nearest-downsampled
 * ×0.5 by taking the even pixels (2i, 2j). Only those pixels are ever needed, so only they are skinned.
 * Output: (size/2) x size x 3 (front | back, the front half is the network's pose condition), 0 on the background.
 */
import { grid1d, GRID_INDEX, type Gpu } from '../gpu/index.js';
import type { CanonicalMaps } from './maps.js';

export interface PoseMapSampler {
  /** Side of the canonical map; the posed map is (size/2) x size. */
  size: number;
  numJoints: number;
  /** Pixel index into the posed map of each skinned point. */
  outPixels: Uint32Array;
  /** (n x 3) canonical points. */
  points: Float32Array;
  /** (n x J) weights. */
  weights: Float32Array;
}

/** Select the Gaussians that sit on even (row, column) pixels of the combined canonical map. */
export function poseMapSampler(maps: CanonicalMaps): PoseMapSampler {
  const { size, pixels, numJoints: J } = maps;
  if (J === 0) throw new Error('posed position maps need skinning weights in the canonical maps');
  const W = 2 * size;
  const sel: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < pixels.length; i++) {
    const p = pixels[i]!;
    const y = Math.floor(p / W),
      x = p % W;
    if (y % 2 || x % 2) continue;
    sel.push(i);
    out.push((y / 2) * size + x / 2);
  }
  const n = sel.length;
  const points = new Float32Array(n * 3);
  const weights = new Float32Array(n * J);
  sel.forEach((g, k) => {
    const p = pixels[g]! * 3;
    points.set(maps.position.subarray(p, p + 3), k * 3);
    weights.set(maps.weights.subarray(g * J, (g + 1) * J), k * J);
  });
  return { size, numJoints: J, outPixels: Uint32Array.from(out), points, weights };
}

/** Float64 reference: the posed map for joint matrices (J x 16 row-major 4x4, e.g. cano2live_woRoot). */
export function posedPositionMapCpu(s: PoseMapSampler, jointMats: ArrayLike<number>): Float32Array {
  const J = s.numJoints;
  const map = new Float32Array((s.size / 2) * s.size * 3);
  const M = new Float64Array(12);
  for (let k = 0; k < s.outPixels.length; k++) {
    M.fill(0);
    for (let j = 0; j < J; j++) {
      const w = s.weights[k * J + j]!;
      if (w === 0) continue;
      for (let e = 0; e < 12; e++) M[e] += w * jointMats[j * 16 + e]!;
    }
    const x = s.points[k * 3]!,
      y = s.points[k * 3 + 1]!,
      z = s.points[k * 3 + 2]!;
    const o = s.outPixels[k]! * 3;
    for (let r = 0; r < 3; r++) map[o + r] = M[4 * r]! * x + M[4 * r + 1]! * y + M[4 * r + 2]! * z + M[4 * r + 3]!;
  }
  return map;
}

const KERNEL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> pts: array<f32>;
@group(0) @binding(1) var<storage, read> wts: array<f32>;
@group(0) @binding(2) var<storage, read> mats: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
struct P { n: u32, J: u32 }
@group(1) @binding(0) var<uniform> p: P;
${GRID_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 64u);
  if (i >= p.n) { return; }
  var r0 = vec4f(0.0);
  var r1 = vec4f(0.0);
  var r2 = vec4f(0.0);
  for (var j = 0u; j < p.J; j++) {
    let w = wts[i * p.J + j];
    if (w == 0.0) { continue; }
    let m = j * 12u;
    r0 += w * vec4f(mats[m], mats[m + 1u], mats[m + 2u], mats[m + 3u]);
    r1 += w * vec4f(mats[m + 4u], mats[m + 5u], mats[m + 6u], mats[m + 7u]);
    r2 += w * vec4f(mats[m + 8u], mats[m + 9u], mats[m + 10u], mats[m + 11u]);
  }
  let x = vec4f(pts[i * 3u], pts[i * 3u + 1u], pts[i * 3u + 2u], 1.0);
  out[i * 3u] = dot(r0, x);
  out[i * 3u + 1u] = dot(r1, x);
  out[i * 3u + 2u] = dot(r2, x);
}`;

/** The posed-map skinning on the GPU: the points and weights stay resident, one small upload per frame. */
export class PoseMapGpu {
  private readonly pts: GPUBuffer;
  private readonly wts: GPUBuffer;
  private readonly mats: GPUBuffer;
  private readonly out: GPUBuffer;
  private readonly n: number;

  constructor(
    private readonly gpu: Gpu,
    private readonly s: PoseMapSampler,
  ) {
    this.n = s.outPixels.length;
    this.pts = gpu.bufferFrom(s.points.length ? s.points : new Float32Array(4), 'posemap points');
    this.wts = gpu.bufferFrom(s.weights.length ? s.weights : new Float32Array(4), 'posemap weights');
    this.mats = gpu.pool.acquire(s.numJoints * 12 * 4, 'posemap mats');
    this.out = gpu.pool.acquire(Math.max(16, this.n * 12), 'posemap out');
  }

  /** The posed map (size/2 x size x 3) for joint matrices (J x 16 row-major). */
  async compute(jointMats: ArrayLike<number>): Promise<Float32Array> {
    const J = this.s.numJoints;
    const m = new Float32Array(J * 12);
    for (let j = 0; j < J; j++) for (let e = 0; e < 12; e++) m[j * 12 + e] = jointMats[j * 16 + e]!;
    this.gpu.upload(this.mats, m);
    const k = this.gpu.kernel('posemap lbs', KERNEL);
    this.gpu.dispatch(k, [this.pts, this.wts, this.mats, this.out], grid1d(this.n, 64), Uint32Array.of(this.n, J));
    const skinned = this.n ? await this.gpu.readF32(this.out, this.n * 3) : new Float32Array(0);
    const map = new Float32Array((this.s.size / 2) * this.s.size * 3);
    for (let k2 = 0; k2 < this.n; k2++) {
      const o = this.s.outPixels[k2]! * 3;
      map[o] = skinned[k2 * 3]!;
      map[o + 1] = skinned[k2 * 3 + 1]!;
      map[o + 2] = skinned[k2 * 3 + 2]!;
    }
    return map;
  }

  dispose(): void {
    for (const b of [this.pts, this.wts, this.mats, this.out]) this.gpu.pool.release(b);
  }
}

/** The front half (size/2 x size/2 x 3) of a posed map: the network's pose condition. */
export function frontHalf(map: Float32Array, size: number): Float32Array {
  const h = size / 2;
  const out = new Float32Array(h * h * 3);
  for (let y = 0; y < h; y++) out.set(map.subarray(y * size * 3, (y * size + h) * 3), y * h * 3);
  return out;
}
