/**
 * The differentiable Gaussian rasterizer on the GPU (semantics: reference.ts).
 *
 * Forward, per frame:
 *  1. preprocess (per Gaussian): cull, covariances, conic, radius, pixel mean, colour, depth key, and the tiles
 *     touched: those of the 3σ rectangle where the Gaussian can reach α ≥ 1/255 (tileHit; exact, fewer pairs);
 *  2. stable radix sort of the N Gaussians by depth (32 bits);
 *  3. tiles touched in depth order → exclusive prefix sum → pair offsets and the pair count M, on the GPU. The
 *     read-back path (`forward`) sums M right after step 1 and reads it back while the GPU sorts (one readback
 *     per frame, which sizes the pair buffers; they only grow). The capturable path (`forwardCapturable`) reads
 *     nothing back: its pair buffers have a fixed capacity, a kernel limits M to it on the GPU (flagging an
 *     overflow for `checkOverflow`) and writes the ranges pass's indirect grid;
 *  4. duplicate: one (tile, Gaussian) pair per touched tile, Gaussians visited in depth order;
 *  5. stable radix sort of the pairs by tile id (only ⌈log2 tiles⌉ bits): within a tile the depth order survives
 *     (the capturable path sorts all `capacity` keys, the unused tail padded with the largest key);
 *  6. per-tile ranges; 7. blend: one 16×16 workgroup per tile.
 * Backward: blend backward (back to front per pixel; each pair's gradients summed over its tile in a fixed order
 * and written to the pair's own slot), then a per-Gaussian kernel that sums its pairs' slots in emission order and
 * chains the screen-space gradients to the inputs. No float atomics: the gradients are the same bits every run.
 *
 * The camera and background reach the kernels in a uniform buffer (view.ts), the sizes as per-dispatch
 * parameters (`frameParams`). All per-frame buffers come from the pool once and are kept (Scratch), so a steady
 * loop allocates nothing.
 */
import type { Gpu } from '../gpu/gpu.js';
import { fixedSubgroupSize } from '../gpu/adapter.js';
import { grid1d } from '../gpu/grid.js';
import { deriveCamera, TILE, type Camera } from './camera.js';
import { shLayout, type SplatScene } from './scene.js';
import { exclusiveScan, radixSort, Scratch, sumU32 } from './sort.js';
import { createViewBuffer, viewBytes, type SplatView } from './view.js';
import {
  blendBackwardWgsl,
  BLEND,
  DUPLICATE,
  GATHER,
  PAIR_LIMIT,
  PREPROCESS,
  PREPROCESS_BACKWARD,
  RANGES,
} from './wgsl.js';

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
  /**
   * The per-Gaussian record (layout in wgsl.ts): the screen radius of Gaussian i (i32, 0 = not drawn) is word
   * 4i + 3; `readImages` extracts the radii.
   */
  gaussians: GPUBuffer;
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

/** The capturable path's result: like ForwardResult, with the pair capacity instead of the (GPU-only) count. */
export interface CapturableResult {
  width: number;
  height: number;
  /** 5 planes of H×W float32 (the buffer passed as `image`, or one owned by the rasterizer). */
  image: GPUBuffer;
  /** The per-Gaussian record, as in ForwardResult. */
  gaussians: GPUBuffer;
  /** The pair capacity this frame was recorded with. */
  capacity: number;
}

/** What the pair-count check found since the previous check (GaussianRasterizer.checkOverflow). */
export interface OverflowReport {
  /** Whether some frame had more (tile, Gaussian) pairs than the capacity (its farthest pairs were dropped). */
  overflowed: boolean;
  /** The largest pair count of those frames. */
  maxPairs: number;
  /** The capacity from now on (grown when overflowed). */
  capacity: number;
}

/**
 * The sizes of a frame (struct Frame in wgsl.ts), per-dispatch parameters: fixed for a capture. `cap` bounds the
 * pairs duplicate writes.
 */
export function frameParams(
  width: number,
  height: number,
  n: number,
  sh: { K: number; degree: number } | null,
  cap: number,
): Uint32Array {
  const tilesX = Math.ceil(width / TILE);
  const tilesY = Math.ceil(height / TILE);
  const bits = tileBits(tilesX * tilesY);
  return new Uint32Array([n, width, height, tilesX, tilesY, sh?.degree ?? 0, sh?.K ?? 1, sh ? 1 : 0, cap, bits, 0, 0]);
}

/** The bits of a tile id: the pair sort's key width; the key's bits above carry the tile's ordinal (wgsl.ts). */
export function tileBits(numTiles: number): number {
  return Math.max(1, Math.ceil(Math.log2(numTiles)));
}

/**
 * The backward needs a Gaussian's tile ordinal (< the tile count) to fit in the 32 − tileBits key bits above the
 * tile id: up to 65536 tiles, e.g. 4096×4096 pixels.
 */
const MAX_BACKWARD_TILES = 1 << 16;

/** The buffers and sizes of one frame between its passes. */
interface Frame {
  scene: GpuScene;
  n: number;
  N: number;
  width: number;
  height: number;
  tilesX: number;
  tilesY: number;
  sh: { K: number; degree: number } | null;
  view: GPUBuffer;
  order: GPUBuffer;
  offsets: GPUBuffer;
  /** u32 [0]: the pair count M (the scan's total). */
  total: GPUBuffer;
}

/** Bytes per Gaussian of its record `gs` (six vec4f planes, wgsl.ts). */
const GS_BYTES = 96;

/** The headroom a grown pair capacity gets over the count that outgrew it. */
const GROWTH = 1.25;

export class GaussianRasterizer {
  private readonly scratch: Scratch;
  private last: {
    scene: GpuScene;
    frame: Uint32Array;
    view: GPUBuffer;
    width: number;
    height: number;
    tilesX: number;
    tilesY: number;
    sh: { K: number; degree: number } | null;
    sorted: GPUBuffer;
    /** The sorted pair keys (tile id and ordinal). */
    keys: GPUBuffer;
    /** Pair slots the frame has room for (the pair count, or the capacity). */
    slots: number;
  } | null = null;
  /** The view buffer of the read-back path (uploaded by `forward`). */
  private eagerView: GPUBuffer | null = null;
  /** u32 [overflow flag, largest pair count] of the capturable path, cleared by checkOverflow. */
  private stats: GPUBuffer | null = null;
  private frames = 0;
  /** Force the workgroup reduction without subgroups (for tests of both paths). */
  useSubgroups: boolean;
  /**
   * The subgroup size the blend backward's butterfly reduction is generated for: the adapter's when it has one size
   * (NVIDIA: always 32), else 0 (ten subgroupAdd calls per Gaussian instead). Tests set 0 to check that path.
   */
  butterflySize: number;
  /**
   * Dispatches per submission while a forward records (the runtime's default is 128): a frame is ~70 short
   * dispatches, so small batches let the GPU start on the first while the CPU records the rest.
   */
  flushEvery = 16;
  /**
   * (tile, Gaussian) pairs the capturable path has room for; 0 until its first frame, which sets max(1024, 4N).
   * checkOverflow grows it; set it beforehand to start larger.
   */
  capacity = 0;

  constructor(private readonly gpu: Gpu) {
    this.scratch = new Scratch(gpu);
    this.useSubgroups = gpu.features.subgroups;
    this.butterflySize = fixedSubgroupSize(gpu.info);
  }

  /** Frames recorded so far (a backward belongs to the latest one). */
  get frameCount(): number {
    return this.frames;
  }

  private buf(name: string, bytes: number): GPUBuffer {
    return this.scratch.get(name, bytes);
  }

  private batched<T>(fn: () => T): T {
    const prev = this.gpu.autoFlushDispatches;
    this.gpu.autoFlushDispatches = this.flushEvery;
    try {
      return fn();
    } finally {
      this.gpu.autoFlushDispatches = prev;
    }
  }

  /**
   * Render with the read-back path: resolves once the pair count is known and the work is recorded (not
   * necessarily finished). The pair buffers are sized to the count, so no pair is ever dropped.
   */
  async forward(scene: GpuScene, camera: Camera, opts: RasterOptions = {}): Promise<ForwardResult> {
    const gpu = this.gpu;
    const cam = deriveCamera(camera);
    this.eagerView ??= createViewBuffer(gpu, 'splat view (read-back path)');
    gpu.upload(this.eagerView, viewBytes(cam, opts.background ?? [0, 0, 0]));
    let count: Promise<ArrayBuffer> | null = null;
    const f = this.batched(() =>
      this.front(scene, cam.width, cam.height, this.eagerView!, (tiles, n) => {
        // The pair count (Σ tiles touched per Gaussian) does not depend on the depth order: sum it now and start
        // its readback, so the GPU sorts by depth while the count travels to the CPU.
        const pairCount = this.buf('pairCount', 16);
        sumU32(gpu, tiles, n, pairCount);
        count = gpu.read(pairCount, 0, 4);
        count.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      }),
    );
    gpu.flush();
    const m = new Uint32Array(await count!)[0]!;
    return this.batched(() => {
      const out = this.back(f, { m }, undefined);
      return { width: f.width, height: f.height, image: out.image, gaussians: out.gaussians, pairs: m };
    });
  }

  /**
   * Record a frame with no read-back, so it can be captured (Gpu.capture) and replayed: the camera and background
   * come from `view` (upload them before each replay), the pair count stays on the GPU, and the pair buffers have
   * room for `capacity` pairs. A frame with more pairs keeps the first `capacity` in depth order (the farthest
   * Gaussians lose tiles) and raises a flag that `checkOverflow` reads outside the step; it then grows the
   * capacity, and the caller records its capture again. `opts.image` receives the 5 planes (else a rasterizer
   * buffer, valid until the next frame).
   */
  forwardCapturable(scene: GpuScene, view: SplatView, opts: { image?: GPUBuffer } = {}): CapturableResult {
    if (this.capacity <= 0) this.capacity = Math.max(1024, 4 * scene.count);
    const capacity = this.capacity;
    return this.batched(() => {
      const f = this.front(scene, view.width, view.height, view.buffer, null);
      const out = this.back(f, { capacity }, opts.image);
      return { width: f.width, height: f.height, image: out.image, gaussians: out.gaussians, capacity };
    });
  }

  /**
   * Read (and clear) what the capturable frames since the last call found: whether one overflowed the pair
   * capacity, and the largest pair count. On overflow the capacity grows to 1.25× that count; the pair buffers
   * grow at the next frame, so a capture made before must be recorded again (its replay refuses to run once the
   * old buffers are gone). Not inside a capture (it reads back).
   */
  async checkOverflow(): Promise<OverflowReport> {
    if (!this.stats) return { overflowed: false, maxPairs: 0, capacity: this.capacity };
    const [flag, maxPairs] = new Uint32Array(await this.gpu.read(this.stats, 0, 8));
    this.gpu.upload(this.stats, new Uint32Array(4));
    const overflowed = flag !== 0;
    if (overflowed) this.capacity = Math.max(this.capacity, Math.ceil(maxPairs! * GROWTH));
    return { overflowed, maxPairs: maxPairs!, capacity: this.capacity };
  }

  /** Preprocess, the depth sort and the scan of the tiles touched: the pair offsets and count, on the GPU. */
  private front(
    scene: GpuScene,
    width: number,
    height: number,
    view: GPUBuffer,
    afterPreprocess: ((tiles: GPUBuffer, n: number) => void) | null,
  ): Frame {
    const gpu = this.gpu;
    const n = scene.count;
    const sh = scene.sh ? shInfo(scene) : null;
    if (!sh && !scene.colors) throw new Error('GaussianRasterizer: the scene needs colors or sh');
    const feat = (sh ? scene.sh : scene.colors)!;
    const N = Math.max(1, n);
    const tiles = this.buf('tiles', 4 * N);
    const dk = {
      keysA: this.buf('dkA', 4 * N),
      valsA: this.buf('dvA', 4 * N), // the sort's identity pass fills it
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
        this.buf('gs', GS_BYTES * N),
        tiles,
        dk.keysA,
        view,
      ],
      grid,
      frameParams(width, height, n, sh, 0),
    );
    afterPreprocess?.(tiles, n);
    const order = radixSort(gpu, this.scratch, dk, n, 32, 'depth', true).vals;
    gpu.dispatch(gpu.kernel('splat_gather', GATHER), [order, tiles, tilesSorted], grid, new Uint32Array([n]));
    exclusiveScan(gpu, this.scratch, tilesSorted, offsets, n, total, 0);
    const tilesX = Math.ceil(width / TILE);
    const tilesY = Math.ceil(height / TILE);
    return { scene, n, N, width, height, tilesX, tilesY, sh, view, order, offsets, total };
  }

  /**
   * Duplicate, the pair sort by tile, ranges and the blend. With `m` (read back) the pair buffers hold exactly m
   * pairs; with `capacity` the count is limited on the GPU, the sort runs on all `capacity` keys (the unused tail
   * padded to sort last) and the ranges pass is dispatched indirectly over the count.
   */
  private back(
    f: Frame,
    size: { m: number } | { capacity: number },
    imageOut: GPUBuffer | undefined,
  ): { image: GPUBuffer; gaussians: GPUBuffer } {
    const gpu = this.gpu;
    const { n, N, tilesX, tilesY } = f;
    const numTiles = tilesX * tilesY;
    const ranges = this.buf('ranges', 8 * numTiles);
    gpu.clear(ranges, 0, 8 * numTiles);
    const eager = 'm' in size;
    const cap = eager ? size.m : size.capacity;
    const C = Math.max(1, cap);
    const pk = {
      keysA: this.buf('pkA', 4 * C),
      valsA: this.buf('pvA', 4 * C),
      keysB: this.buf('pkB', 4 * C),
      valsB: this.buf('pvB', 4 * C),
    };
    const frame = frameParams(f.width, f.height, n, f.sh, cap);
    const gs = this.buf('gs', GS_BYTES * N);
    let sorted = pk.valsA;
    let sortedKeys = pk.keysA;
    if (cap > 0) {
      gpu.dispatch(
        gpu.kernel('splat_duplicate', DUPLICATE),
        [f.order, f.offsets, gs, pk.keysA, pk.valsA, f.view],
        grid1d(n, 256),
        frame,
      );
      const bits = tileBits(numTiles);
      const mask = new Uint32Array([bits >= 32 ? 0xffffffff : 2 ** bits - 1]);
      const kr = gpu.kernel('splat_ranges', RANGES);
      if (eager) {
        const s = radixSort(gpu, this.scratch, pk, cap, bits, 'tiles');
        sorted = s.vals;
        sortedKeys = s.keys;
        gpu.dispatch(kr, [s.keys, ranges, f.total], grid1d(cap, 256), mask);
      } else {
        const count = this.buf('pairLimit', 16);
        const args = this.buf('rangeArgs', 16);
        this.stats ??= gpu.device.createBuffer({
          label: 'splat pair stats',
          size: 16,
          usage: 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */,
        });
        gpu.dispatch(
          gpu.kernel('splat_pair_limit', PAIR_LIMIT),
          [f.total, pk.keysA, count, args, this.stats],
          grid1d(cap, 256),
          new Uint32Array([cap]),
        );
        const s = radixSort(gpu, this.scratch, pk, cap, bits, 'tiles');
        sorted = s.vals;
        sortedKeys = s.keys;
        gpu.dispatchIndirect(kr, [s.keys, ranges, count], args, 0, mask);
      }
    } // else no pairs: the spans stay empty as the preprocess wrote them
    const image = imageOut ?? this.buf('image', 20 * f.width * f.height);
    const aux = this.buf('aux', 8 * f.width * f.height);
    gpu.dispatch(gpu.kernel('splat_blend', BLEND), [ranges, sorted, gs, image, aux, f.view], [tilesX, tilesY], frame);
    this.frames++;
    this.last = {
      scene: f.scene,
      frame,
      view: f.view,
      width: f.width,
      height: f.height,
      tilesX,
      tilesY,
      sh: f.sh,
      sorted,
      keys: sortedKeys,
      slots: C,
    };
    return { image, gaussians: gs };
  }

  /**
   * Record the backward of the last frame. `dImage` holds 5 planes of H×W float32 (dL/d r, g, b, depth, alpha).
   * The gradients go to the buffers in `out` where given, else to buffers owned by the rasterizer (valid until
   * the next backward).
   */
  backward(dImage: GPUBuffer, out: Partial<BackwardResult> = {}): BackwardResult {
    if (!this.last) throw new Error('GaussianRasterizer.backward: no forward to differentiate');
    const gpu = this.gpu;
    const { scene, frame, view, width, height, tilesX, tilesY, sh, sorted, keys, slots } = this.last;
    if (tilesX * tilesY > MAX_BACKWARD_TILES)
      throw new Error(
        `GaussianRasterizer.backward: ${width}×${height} has ${tilesX * tilesY} tiles; the backward supports up to ${MAX_BACKWARD_TILES}`,
      );
    const n = scene.count;
    const N = Math.max(1, n);
    const K = sh ? sh.K : 1;
    const part = this.buf('pairGrads', 40 * slots);
    const gs = this.buf('gs', GS_BYTES * N);
    const ranges = this.buf('ranges', 8 * tilesX * tilesY);
    const kb = gpu.kernel(
      `splat_blend_backward${this.useSubgroups ? (this.butterflySize ? '_bf' : '_sg') : ''}`,
      blendBackwardWgsl(this.useSubgroups, gpu.info.subgroupMinSize, this.butterflySize),
    );
    gpu.dispatch(
      kb,
      [ranges, keys, sorted, gs, this.buf('aux', 8 * width * height), dImage, part, view],
      [tilesX, tilesY],
      frame,
    );
    const res: BackwardResult = {
      means: out.means ?? this.buf('dMeans', 12 * N),
      scales: out.scales ?? this.buf('dScales', 12 * N),
      rotations: out.rotations ?? this.buf('dRots', 16 * N),
      opacities: out.opacities ?? this.buf('dOpac', 4 * N),
      colors: out.colors ?? this.buf('dFeat', 12 * N * K),
    };
    gpu.dispatch(
      gpu.kernel('splat_preprocess_backward', PREPROCESS_BACKWARD),
      [
        gs,
        (sh ? scene.sh : scene.colors)!,
        part,
        res.means,
        res.scales,
        res.rotations,
        res.opacities,
        res.colors,
        view,
      ],
      grid1d(n, 256),
      frame,
    );
    return res;
  }

  /** Give every buffer back to the pool (the capacity stays). */
  release(): void {
    this.scratch.release();
    this.eagerView?.destroy();
    this.eagerView = null;
    this.stats?.destroy();
    this.stats = null;
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
export async function readImages(
  gpu: Gpu,
  r: Pick<ForwardResult, 'width' | 'height' | 'image' | 'gaussians'>,
  count: number,
): Promise<RenderedImages> {
  const hw = r.width * r.height;
  const all = await gpu.readF32(r.image, 5 * hw);
  const radii = new Int32Array(count);
  if (count > 0) {
    const xyd = new Int32Array(await gpu.read(r.gaussians, 0, 16 * count)); // plane 0: (x, y, depth, radius)
    for (let i = 0; i < count; i++) radii[i] = xyd[4 * i + 3]!;
  }
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
