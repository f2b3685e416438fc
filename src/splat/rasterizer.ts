/**
 * The differentiable Gaussian rasterizer on the GPU (semantics: reference.ts).
 *
 * Forward, per frame:
 *  1. preprocess (per Gaussian): cull, covariances, conic, radius, pixel mean, colour, depth key, and the tiles
 *     touched: those of the 3σ rectangle where the Gaussian can reach α ≥ 1/255 (tileHit; exact, fewer pairs);
 *  2. stable radix sort of the N Gaussians by depth (32 bits);
 *  3. tiles touched in depth order → exclusive prefix sum → pair offsets; the pair count M (Σ tiles touched, summed
 *     right after step 1) is read back while the GPU sorts: the one readback per frame, which sizes the pair
 *     buffers (they only grow);
 *  4. duplicate: one (tile, Gaussian) pair per touched tile, Gaussians visited in depth order;
 *  5. stable radix sort of the pairs by tile id (only ⌈log2 tiles⌉ bits): within a tile the depth order survives;
 *  6. per-tile ranges; 7. blend: one 16×16 workgroup per tile.
 * Backward: blend backward (back to front per pixel; gradients summed per workgroup, then CAS-added globally),
 * then a per-Gaussian kernel chaining the screen-space gradients to the inputs.
 *
 * All per-frame buffers come from the pool once and are kept (Scratch), so a steady loop allocates nothing.
 */
import type { Gpu } from '../gpu/gpu.js';
import { grid1d } from '../gpu/grid.js';
import { deriveCamera, type Camera, type CameraDerived } from './camera.js';
import type { SplatScene } from './reference.js';
import { shLayout } from './reference.js';
import { exclusiveScan, radixSort, Scratch, sumU32 } from './sort.js';
import { blendBackwardWgsl, BLEND, DUPLICATE, GATHER, PREPROCESS, PREPROCESS_BACKWARD, RANGES } from './wgsl.js';

/** A scene on the GPU: float32 buffers, layouts as in SplatScene. */
export interface GpuScene {
  count: number;
  means: GPUBuffer;
  scales: GPUBuffer;
  rotations: GPUBuffer;
  opacities: GPUBuffer;
  /** N×3 precomputed colours (mode 'colors'), or */
  colors?: GPUBuffer;
  /** N×K×3 SH coefficients, with K = shCoeffs (1, 4, 9, 16). */
  sh?: GPUBuffer;
  shCoeffs?: number;
  /** Active SH degree (default: the stored one). */
  shDegree?: number;
}

export interface ForwardResult {
  width: number;
  height: number;
  /** 5 planes of H×W float32: r, g, b, depth, alpha. Owned by the rasterizer; valid until the next forward. */
  image: GPUBuffer;
  /** N int32 screen radii (0 = not drawn). */
  radii: GPUBuffer;
  /** (tile, Gaussian) pairs of this frame. */
  pairs: number;
}

export interface BackwardResult {
  means: GPUBuffer;
  scales: GPUBuffer;
  rotations: GPUBuffer;
  opacities: GPUBuffer;
  /** N×3 (colours) or N×K×3 (SH). */
  colors: GPUBuffer;
}

export interface RasterOptions {
  /** Background colour, default black. */
  background?: ArrayLike<number>;
}

/** Bytes of the camera/scene uniform (struct Cam in wgsl.ts). */
const CAM_BYTES = 160;

export function cameraParams(
  cam: CameraDerived,
  n: number,
  bg: ArrayLike<number>,
  sh: { K: number; degree: number } | null,
): ArrayBuffer {
  const buf = new ArrayBuffer(CAM_BYTES);
  const f = new Float32Array(buf);
  const u = new Uint32Array(buf);
  const R = cam.R;
  for (let r = 0; r < 3; r++) {
    f.set([R[3 * r]!, R[3 * r + 1]!, R[3 * r + 2]!, cam.T[r]!], 4 * r);
  }
  f.set([cam.fx, cam.fy, cam.cx, cam.cy], 12);
  f.set([cam.P00, cam.P02, cam.P11, cam.P12], 16);
  f.set([cam.tanfovx, cam.tanfovy, cam.width, cam.height], 20);
  f.set([cam.campos[0]!, cam.campos[1]!, cam.campos[2]!, 0], 24);
  f.set([bg[0] ?? 0, bg[1] ?? 0, bg[2] ?? 0, 0], 28);
  u.set([n, cam.width, cam.height, cam.tilesX, cam.tilesY, sh?.degree ?? 0, sh?.K ?? 1, sh ? 1 : 0], 32);
  return buf;
}

export class GaussianRasterizer {
  private readonly scratch: Scratch;
  private last: {
    scene: GpuScene;
    cam: CameraDerived;
    params: Uint32Array;
    sh: { K: number; degree: number } | null;
    sorted: GPUBuffer;
  } | null = null;
  /** Force the workgroup reduction without subgroups (for tests of both paths). */
  useSubgroups: boolean;
  /**
   * Dispatches per submission while a forward records (the runtime's default is 128): a frame is ~70 short
   * dispatches, so small batches let the GPU start on the first while the CPU records the rest.
   */
  flushEvery = 16;

  constructor(private readonly gpu: Gpu) {
    this.scratch = new Scratch(gpu);
    this.useSubgroups = gpu.features.subgroups;
  }

  private buf(name: string, bytes: number): GPUBuffer {
    return this.scratch.get(name, bytes);
  }

  /** Render; resolves once the pair count is known and the work is recorded (not necessarily finished). */
  async forward(scene: GpuScene, camera: Camera, opts: RasterOptions = {}): Promise<ForwardResult> {
    const prev = this.gpu.autoFlushDispatches;
    this.gpu.autoFlushDispatches = this.flushEvery;
    try {
      return await this.recordForward(scene, camera, opts);
    } finally {
      this.gpu.autoFlushDispatches = prev;
    }
  }

  private async recordForward(scene: GpuScene, camera: Camera, opts: RasterOptions): Promise<ForwardResult> {
    const gpu = this.gpu;
    const cam = deriveCamera(camera);
    const n = scene.count;
    const sh = scene.sh ? shInfo(scene) : null;
    if (!sh && !scene.colors) throw new Error('GaussianRasterizer: the scene needs colors or sh');
    const params = new Uint32Array(cameraParams(cam, n, opts.background ?? [0, 0, 0], sh));
    const feat = (sh ? scene.sh : scene.colors)!;
    const N = Math.max(1, n);
    const xyd = this.buf('xyd', 16 * N);
    const conicO = this.buf('conicO', 16 * N);
    const rgbc = this.buf('rgbc', 16 * N);
    const radii = this.buf('radii', 4 * N);
    const tiles = this.buf('tiles', 4 * N);
    const dk = {
      keysA: this.buf('dkA', 4 * N),
      valsA: this.buf('dvA', 4 * N),
      keysB: this.buf('dkB', 4 * N),
      valsB: this.buf('dvB', 4 * N),
    };
    const tilesSorted = this.buf('tilesSorted', 4 * N);
    const offsets = this.buf('offsets', 4 * N);
    const total = this.buf('total', 16);
    const grid = grid1d(n, 256);
    gpu.dispatch(
      gpu.kernel('splat_preprocess', PREPROCESS),
      [
        scene.means,
        scene.scales,
        scene.rotations,
        scene.opacities,
        feat,
        xyd,
        conicO,
        rgbc,
        radii,
        tiles,
        dk.keysA,
        dk.valsA,
      ],
      grid,
      params,
    );
    // The pair count (Σ tiles touched per Gaussian) does not depend on the depth order: sum it now and start its
    // readback, so the GPU sorts by depth while the count travels to the CPU.
    const pairCount = this.buf('pairCount', 16);
    sumU32(gpu, tiles, n, pairCount);
    const count = gpu.read(pairCount, 0, 4);
    count.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    const order = radixSort(gpu, this.scratch, dk, n, 32, 'depth').vals;
    gpu.dispatch(gpu.kernel('splat_gather', GATHER), [order, tiles, tilesSorted], grid, new Uint32Array([n]));
    exclusiveScan(gpu, this.scratch, tilesSorted, offsets, n, total, 0);
    gpu.flush();
    const m = new Uint32Array(await count)[0]!;

    const numTiles = cam.tilesX * cam.tilesY;
    const ranges = this.buf('ranges', 8 * numTiles);
    gpu.clear(ranges, 0, 8 * numTiles);
    const M = Math.max(1, m);
    const pk = {
      keysA: this.buf('pkA', 4 * M),
      valsA: this.buf('pvA', 4 * M),
      keysB: this.buf('pkB', 4 * M),
      valsB: this.buf('pvB', 4 * M),
    };
    let sorted = pk.valsA;
    if (m > 0) {
      gpu.dispatch(
        gpu.kernel('splat_duplicate', DUPLICATE),
        [order, offsets, xyd, radii, conicO, pk.keysA, pk.valsA],
        grid,
        params,
      );
      const bits = Math.max(1, Math.ceil(Math.log2(numTiles)));
      const s = radixSort(gpu, this.scratch, pk, m, bits, 'tiles');
      sorted = s.vals;
      gpu.dispatch(gpu.kernel('splat_ranges', RANGES), [s.keys, ranges], grid1d(m, 256), new Uint32Array([m]));
    }
    const hw = cam.width * cam.height;
    const image = this.buf('image', 20 * hw);
    const aux = this.buf('aux', 8 * hw);
    gpu.dispatch(
      gpu.kernel('splat_blend', BLEND),
      [ranges, sorted, xyd, conicO, rgbc, image, aux],
      [cam.tilesX, cam.tilesY],
      params,
    );
    this.last = { scene, cam, params, sh, sorted };
    return { width: cam.width, height: cam.height, image, radii, pairs: m };
  }

  /**
   * Record the backward of the last forward. `dImage` holds 5 planes of H×W float32 (dL/d r, g, b, depth, alpha).
   * The returned buffers are owned by the rasterizer and valid until the next backward.
   */
  backward(dImage: GPUBuffer): BackwardResult {
    if (!this.last) throw new Error('GaussianRasterizer.backward: no forward to differentiate');
    const gpu = this.gpu;
    const { scene, cam, params, sh, sorted } = this.last;
    const n = scene.count;
    const N = Math.max(1, n);
    const K = sh ? sh.K : 1;
    const g2 = this.buf('g2', 40 * N);
    gpu.clear(g2, 0, 40 * N);
    const numTiles = cam.tilesX * cam.tilesY;
    const ranges = this.buf('ranges', 8 * numTiles);
    const kb = gpu.kernel(
      `splat_blend_backward${this.useSubgroups ? '_sg' : ''}`,
      blendBackwardWgsl(this.useSubgroups),
    );
    gpu.dispatch(
      kb,
      [
        ranges,
        sorted,
        this.buf('xyd', 16 * N),
        this.buf('conicO', 16 * N),
        this.buf('rgbc', 16 * N),
        this.buf('aux', 8 * cam.width * cam.height),
        dImage,
        g2,
      ],
      [cam.tilesX, cam.tilesY],
      params,
    );
    const out: BackwardResult = {
      means: this.buf('dMeans', 12 * N),
      scales: this.buf('dScales', 12 * N),
      rotations: this.buf('dRots', 16 * N),
      opacities: this.buf('dOpac', 4 * N),
      colors: this.buf('dFeat', 12 * N * K),
    };
    gpu.dispatch(
      gpu.kernel('splat_preprocess_backward', PREPROCESS_BACKWARD),
      [
        scene.means,
        scene.scales,
        scene.rotations,
        (sh ? scene.sh : scene.colors)!,
        this.buf('radii', 4 * N),
        this.buf('conicO', 16 * N),
        this.buf('rgbc', 16 * N),
        g2,
        out.means,
        out.scales,
        out.rotations,
        out.opacities,
        out.colors,
      ],
      grid1d(n, 256),
      params,
    );
    return out;
  }

  /** Give every buffer back to the pool. */
  release(): void {
    this.scratch.release();
    this.last = null;
  }
}

function shInfo(scene: GpuScene): { K: number; degree: number } {
  const K = scene.shCoeffs ?? 16;
  const stored = Math.round(Math.sqrt(K)) - 1;
  if ((stored + 1) ** 2 !== K || stored > 3) throw new Error(`GaussianRasterizer: shCoeffs ${K} is not 1, 4, 9 or 16`);
  const degree = scene.shDegree ?? stored;
  if (degree > stored) throw new Error(`GaussianRasterizer: shDegree ${degree} exceeds the stored degree ${stored}`);
  return { K, degree };
}

/** Upload a CPU scene (float64 or float32 arrays) as float32 pooled buffers; `free` returns them to the pool. */
export function uploadScene(gpu: Gpu, s: SplatScene): GpuScene & { free(): void } {
  const up = (a: ArrayLike<number>, width: number) =>
    gpu.bufferFrom(Float32Array.from(a.length ? a : new Array(width).fill(0)));
  const lay = shLayout(s);
  const bufs: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (bufs.push(b), b);
  const g: GpuScene & { free(): void } = {
    count: s.count,
    means: keep(up(s.means, 3)),
    scales: keep(up(s.scales, 3)),
    rotations: keep(up(s.rotations, 4)),
    opacities: keep(up(s.opacities, 1)),
    free: () => bufs.forEach((b) => gpu.pool.release(b)),
  };
  if (lay) {
    g.sh = keep(up(s.sh!, 3));
    g.shCoeffs = lay.K;
    g.shDegree = lay.degree;
  } else {
    g.colors = keep(up(s.colors ?? [], 3));
  }
  return g;
}

export interface RenderedImages {
  width: number;
  height: number;
  color: Float32Array;
  depth: Float32Array;
  alpha: Float32Array;
  radii: Int32Array;
}

/** Read a forward result back to the CPU. */
export async function readImages(gpu: Gpu, r: ForwardResult, count: number): Promise<RenderedImages> {
  const hw = r.width * r.height;
  const all = await gpu.readF32(r.image, 5 * hw);
  const radii = count > 0 ? new Int32Array(await gpu.read(r.radii, 0, 4 * count)) : new Int32Array(0);
  return {
    width: r.width,
    height: r.height,
    color: all.slice(0, 3 * hw),
    depth: all.slice(3 * hw, 4 * hw),
    alpha: all.slice(4 * hw),
    radii,
  };
}

/** One-shot: upload, render, read back (CLI and tests). */
export async function renderScene(
  gpu: Gpu,
  s: SplatScene,
  camera: Camera,
  background?: ArrayLike<number>,
): Promise<RenderedImages> {
  const g = uploadScene(gpu, s);
  const r = new GaussianRasterizer(gpu);
  try {
    const out = await r.forward(g, camera, background ? { background } : {});
    return await readImages(gpu, out, s.count);
  } finally {
    r.release();
    g.free();
  }
}
