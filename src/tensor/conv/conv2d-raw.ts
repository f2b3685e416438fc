/**
 * conv2d and conv_transpose2d on raw GPU buffers (NCHW f32), forward and backward. Each function records its
 * dispatches and writes (overwrites) its output buffer. `path` picks the kernels:
 *   'direct'  one output per invocation (the oracle)
 *   'tiled'   fp32 tiled implicit GEMM, 64×64 tile (default)
 *   'tuned'   fp32 implicit GEMM, 128×128 tile, 8×8 per thread, double-buffered (gemm-fast.ts)
 *   'tc'      tensor cores: f16 operands, f32 accumulation (falls back to 'tuned' without subgroup matrices)
 *   'tc-sw'   the 'tc' kernel with software subgroup matrices (for testing its index math on any adapter)
 *   'fast'    'tc2' where the adapter has tensor cores, else 'tuned' (the network's default on GPUs)
 *   'tc2'     tensor cores with conv-aware staging and f16 weights converted per call (tc2.ts; falls back to 'tuned')
 *   'tc2-sw'  the 'tc2' kernels with software subgroup matrices (CPU-testable twin)
 * On the tc2 paths, two kinds of forward conv run as one f32 pass instead: 1×1 convs to ≤ 16 channels (ToRGB,
 * narrow1x1.ts) and convs with Cin·kh·kw ≤ 32 (from the 3-channel pose map, shallow.ts).
 */
import { biasGradRaw } from './bias-grad.js';
import { conv1x1NarrowRaw, narrow1x1Applies } from './narrow1x1.js';
import { conv2dShallowRaw, shallowApplies } from './shallow.js';
import { convTranspose2dSubpixelTc2, subpixelApplies } from './tc2-subpixel.js';
import type { Gpu } from '../../gpu/index.js';
import { conv2dBackwardInputDirect, conv2dBackwardWeightDirect, conv2dForwardDirect } from './direct.js';
import type { ConvEpilogue } from './epilogue.js';
import type { GemmTile } from './gemm.js';
import type { TcTile } from './gemm-fast.js';
import type { Conv2dGeom, ConvTranspose2dGeom } from './geometry.js';
import {
  conv2dBackwardInputTiled,
  conv2dBackwardWeightTiled,
  conv2dForwardTiled,
  type GemmEngine,
  type TiledOptions,
} from './implicit.js';
import {
  conv2dBackwardInputTc2,
  conv2dBackwardWeightTc2,
  conv2dForwardTc2,
  defaultTile,
  type Tc2Options,
  type Tc2Tile,
} from './tc2.js';

export type ConvPath = 'direct' | 'tiled' | 'tuned' | 'tc' | 'tc-sw' | 'fast' | 'tc2' | 'tc2-sw';

/**
 * Whether this adapter runs the tensor-core path: subgroup matrices with the f16→f32 16×16×16 config and
 * subgroups of 32 invocations (the kernel maps subgroups to invocation ranges of 32; NVIDIA always has 32).
 */
export function tensorCoresAvailable(gpu: Gpu): boolean {
  const i = gpu.info;
  return (
    gpu.features.subgroupMatrix &&
    gpu.features.f16 &&
    i.subgroupMatrixConfigs.some((c) => c.startsWith('f16→f32 16×16×16')) &&
    ((i.subgroupMinSize === 32 && i.subgroupMaxSize === 32) || /nvidia/i.test(i.vendor))
  );
}

/** The GEMM engine a path runs on this adapter (null for 'direct'). */
export function convEngine(gpu: Gpu, path: ConvPath | undefined): GemmEngine | null {
  switch (path ?? 'tiled') {
    case 'direct':
      return null;
    case 'tiled':
      return 'fp32';
    case 'tuned':
      return 'fp32-tuned';
    case 'tc-sw':
      return 'tc-sw';
    case 'tc2-sw':
      return 'tc-sw';
    default:
      return tensorCoresAvailable(gpu) ? 'tc' : 'fp32-tuned';
  }
}

function tiledOpts(gpu: Gpu, opts: ConvKernelOptions): TiledOptions {
  return { ...opts, engine: convEngine(gpu, opts.path) ?? 'fp32' };
}

/**
 * Whether these options run the tc2 kernels, which can apply `weightScale` while converting the weights, and which
 * round gradients to f16 (so their callers pass a `gradScale`).
 */
export function runsTc2(gpu: Gpu, opts: ConvKernelOptions): boolean {
  return tc2Mode(gpu, opts) !== null;
}

function noFoldedScale(opts: ConvKernelOptions, what: string): void {
  if (opts.weightScale !== undefined && opts.weightScale !== 1)
    throw new Error(`${what}: weightScale needs the tc2 kernels (runsTc2)`);
}

/**
 * conv_transpose2d on the tc2 kernels (also conv2d's input gradient): the sub-pixel GEMM where it applies and is not
 * turned off, else one GEMM per stride phase.
 */
function convTransposeTc2(
  gpu: Gpu,
  t: ConvTranspose2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  tc2: Tc2Mode,
): void {
  if (tc2.subpixelTranspose !== false && subpixelApplies(t)) convTranspose2dSubpixelTc2(gpu, t, x, w, bias, y, tc2);
  else conv2dBackwardInputTc2(gpu, t.conv, x, w, y, bias, tc2);
}

type Tc2Mode = Tc2Options & { mode: 'hw' | 'sw'; subpixelTranspose?: boolean };

/**
 * 'hw' / 'sw' where the path runs the tc2 kernels on this adapter, else null ('tc2' and 'fast' fall back to
 * 'tuned'). Every entry point asks this before the GEMM engines, so 'fast' never reaches the 'tc' engine.
 */
function tc2Mode(gpu: Gpu, opts: ConvKernelOptions): Tc2Mode | null {
  const mode =
    opts.path === 'tc2-sw'
      ? 'sw'
      : (opts.path === 'tc2' || opts.path === 'fast') && tensorCoresAvailable(gpu)
        ? 'hw'
        : null;
  if (!mode) return null;
  return {
    ...opts,
    tile: opts.tc2Tile,
    tileN64: opts.tc2TileN64,
    tileSmallM: opts.tc2TileSmallM,
    tileDefault: opts.tc2TileDefault ?? defaultTile(gpu.limits),
    patchTile: opts.tc2PatchTile,
    mode,
  };
}

export interface ConvKernelOptions {
  path?: ConvPath;
  /** Tile of the implicit GEMM (tiled path). */
  tile?: GemmTile;
  /** Tiled path: aim for about this many workgroups by splitting the K sum when the output has fewer tiles. */
  targetWorkgroups?: number;
  /** Tiled path: force the number of K splits. */
  splits?: number;
  /** Tile of the 'tc' / 'tc-sw' paths (default TC_TILE: 128×128×32, 2×4 subgroups). */
  tcTile?: TcTile;
  /**
   * Tile of every GEMM of the 'tc2' / 'tc2-sw' paths; by default TC2_TILE (128×128×32, 2×4 subgroups, rows padded
   * by 8 halves), or TC2_TILE_N64 where a forward / input-gradient GEMM has at most 64 columns (tc2.ts tileFor).
   */
  tc2Tile?: Tc2Tile;
  /** Replaces the narrow default TC2_TILE_N64 (bench A/B). */
  tc2TileN64?: Tc2Tile;
  /**
   * tc2 forward / input gradient: the tile where the narrow and small-M tiles do not apply; by default TC2_TILE_16SG
   * where the device allows 512 invocations and its workgroup memory, else TC2_TILE (tc2.ts defaultTile).
   */
  tc2TileDefault?: Tc2Tile;
  /**
   * tc2 forward: stage the input patch once for all taps (tc2-patch.ts) with this tile where it applies; null turns
   * patch staging off; by default tc2-patch.ts patchTileFor picks per shape (none where tc2Tile is given).
   */
  tc2PatchTile?: Tc2Tile | null;
  /** Replaces TC2_TILE_SMALL_M, the tc2 forward / input-gradient tile of GEMMs with few rows (tc2.ts tileFor). */
  tc2TileSmallM?: Tc2Tile;
  /** Replaces SMALL_M_ROWS.max (tc2.ts), the most GEMM rows for the small-M tile; 0 turns it off. */
  smallMRows?: number;
  /** tc2 split-K: the fewest K slices per workgroup (default 8). */
  minSlicesPerSplit?: number;
  /** Forward only, GEMM paths: fused epilogue after the bias (demodulation, noise, leaky ReLU·√2). */
  epilogue?: ConvEpilogue;
  /**
   * 'tc2' paths: run conv_transpose2d with stride 2 and a 3×3 / 4×4 kernel, and the input gradient of such a conv,
   * as one GEMM over the four output phases (tc2-subpixel.ts) instead of four. On unless false (H200: frozen forward
   * 11.17 → 10.63 ms, training step 35.4 → 34.6 ms; same error against fp32); false runs the four phase GEMMs.
   */
  subpixelTranspose?: boolean;
  /** The sub-pixel GEMM of a 3×3 kernel walks only the taps each tile's phases use; false walks all (bench A/B). */
  subpixelSkipTaps?: boolean;
  /**
   * Forward and input gradient on the tc2 paths only (see runsTc2): convolve with weightScale·w, the scale
   * applied during the f16 weight conversion. Other paths reject it.
   */
  weightScale?: number;
  /**
   * tc2 paths, gradient kernels: the range scale [s, 1/s] of the output gradient (f16RangeScale), so that it is
   * rounded to f16 as gy·s (f16-range.ts). conv2d's input and weight gradients and conv_transpose2d's take it for
   * their gy; other paths compute in f32 and ignore it.
   */
  gradScale?: GPUBuffer;
  /** Weight gradient: the operand `gradScale` belongs to ('gy' unless conv_transpose2d's backward sets 'x'). */
  gradScaleOn?: 'x' | 'gy';
}

/** y [n,cout,ho,wo] = conv2d(x [n,cin,h,w], w [cout,cin,kh,kw]) + bias [cout]. */
export function conv2dForwardRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: ConvKernelOptions = {},
): void {
  const tc2 = tc2Mode(gpu, opts);
  if (!tc2) noFoldedScale(opts, 'conv2d');
  if (opts.path === 'direct') {
    if (opts.epilogue && Object.keys(opts.epilogue).length) throw new Error('conv2d: the direct path has no epilogue');
    conv2dForwardDirect(gpu, g, x, w, bias, y);
  } else if (tc2 && narrow1x1Applies(g, gpu.limits.maxComputeWorkgroupStorageSize))
    conv1x1NarrowRaw(gpu, g, x, w, bias, y, opts);
  else if (tc2 && shallowApplies(g)) conv2dShallowRaw(gpu, g, x, w, bias, y, opts);
  else if (tc2) conv2dForwardTc2(gpu, g, x, w, bias, y, tc2);
  else conv2dForwardTiled(gpu, g, x, w, bias, y, tiledOpts(gpu, opts));
}

/** gx [n,cin,h,w] = ∂L/∂x from gy [n,cout,ho,wo]. */
export function conv2dBackwardInputRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  opts: ConvKernelOptions = {},
): void {
  const tc2 = tc2Mode(gpu, opts);
  if (!tc2) noFoldedScale(opts, 'conv2d input gradient');
  if (opts.path === 'direct') conv2dBackwardInputDirect(gpu, g, gy, w, gx);
  else if (tc2) {
    // The input gradient is the transposed conv of gy with the same weights ([cout, cin] = its [in, out]).
    const t = { n: g.n, cin: g.cout, cout: g.cin, h: g.ho, w: g.wo, hout: g.h, wout: g.w, conv: g };
    convTransposeTc2(gpu, t, gy, w, null, gx, tc2);
  } else conv2dBackwardInputTiled(gpu, g, gy, w, gx, null, tiledOpts(gpu, opts));
}

/** gw [cout,cin,kh,kw] = ∂L/∂w from x and gy. */
export function conv2dBackwardWeightRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  gy: GPUBuffer,
  gw: GPUBuffer,
  opts: ConvKernelOptions = {},
): void {
  const tc2 = tc2Mode(gpu, opts);
  if (opts.path === 'direct') conv2dBackwardWeightDirect(gpu, g, x, gy, gw);
  else if (tc2) conv2dBackwardWeightTc2(gpu, g, x, gy, gw, tc2);
  else conv2dBackwardWeightTiled(gpu, g, x, gy, gw, tiledOpts(gpu, opts));
}

/** gb [cout] = Σ gy over batch and pixels. */
export function conv2dBackwardBiasRaw(gpu: Gpu, g: Conv2dGeom, gy: GPUBuffer, gb: GPUBuffer): void {
  biasGradRaw(gpu, g.n, g.cout, g.ho * g.wo, gy, gb);
}

/** y [n,cout,hout,wout] = conv_transpose2d(x [n,cin,h,w], w [cin,cout,kh,kw]) + bias [cout] (PyTorch semantics). */
export function convTranspose2dForwardRaw(
  gpu: Gpu,
  t: ConvTranspose2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: ConvKernelOptions = {},
): void {
  const tc2 = tc2Mode(gpu, opts);
  if (opts.path === 'direct') conv2dBackwardInputDirect(gpu, t.conv, x, w, y, bias);
  else if (tc2) convTransposeTc2(gpu, t, x, w, bias, y, tc2);
  else conv2dBackwardInputTiled(gpu, t.conv, x, w, y, bias, tiledOpts(gpu, opts));
}

/** gx [n,cin,h,w] of conv_transpose2d = conv2d(gy, w). */
export function convTranspose2dBackwardInputRaw(
  gpu: Gpu,
  t: ConvTranspose2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  opts: ConvKernelOptions = {},
): void {
  conv2dForwardRaw(gpu, t.conv, gy, w, null, gx, opts);
}

/** gw [cin,cout,kh,kw] of conv_transpose2d: conv2d's weight gradient with the roles of input and output swapped. */
export function convTranspose2dBackwardWeightRaw(
  gpu: Gpu,
  t: ConvTranspose2dGeom,
  x: GPUBuffer,
  gy: GPUBuffer,
  gw: GPUBuffer,
  opts: ConvKernelOptions = {},
): void {
  // conv2d's "input" here is the gradient: the range scale belongs to the other operand of the weight-gradient GEMM.
  conv2dBackwardWeightRaw(gpu, t.conv, gy, x, gw, { ...opts, gradScaleOn: 'x' });
}

export function convTranspose2dBackwardBiasRaw(gpu: Gpu, t: ConvTranspose2dGeom, gy: GPUBuffer, gb: GPUBuffer): void {
  biasGradRaw(gpu, t.n, t.cout, t.hout * t.wout, gy, gb);
}
