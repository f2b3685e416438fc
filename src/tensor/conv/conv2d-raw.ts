/**
 * conv2d and conv_transpose2d on raw GPU buffers (NCHW f32), forward and backward. Each function records its
 * dispatches and writes (overwrites) its output buffer. `path` picks the kernels:
 *   'direct'  one output per invocation (the oracle)
 *   'tiled'   fp32 tiled implicit GEMM, 64×64 tile (default)
 *   'tuned'   fp32 implicit GEMM, 128×128 tile, 8×8 per thread, double-buffered (gemm-tuned.ts)
 *   'tc2'     tensor cores: f16 operands, f32 accumulation, conv-aware staging (tc2.ts); 'tuned' where the adapter
 *             has no tensor cores
 *   'fast'    what the adapter runs fastest: 'tc2' where it has tensor cores, else 'tuned' (the network's default on
 *             GPUs; today the same as 'tc2')
 *   'tc2-sw'  the 'tc2' kernels with software subgroup matrices (the CPU-testable twin)
 * On the tc2 paths, two kinds of forward conv run as one f32 pass instead: 1×1 convs to ≤ 16 channels (ToRGB,
 * narrow1x1.ts) and convs with Cin·kh·kw ≤ 32 (from the 3-channel pose map, shallow.ts).
 *
 * Options: ConvKernelOptions (the path and, for tests at lavapipe's sizes and bench variants, tiles and K splits)
 * plus what an entry point needs: Conv2dForwardOptions, ConvInputGradOptions, ConvWeightGradOptions.
 */
import { fixedSubgroupSize, type Gpu } from '../../gpu/index.js';
import { biasGradRaw } from './bias-grad.js';
import { conv2dBackwardInputDirect, conv2dBackwardWeightDirect, conv2dForwardDirect } from './direct.js';
import type { ConvEpilogue } from './epilogue.js';
import type { GemmTile } from './gemm.js';
import type { Conv2dGeom, ConvTranspose2dGeom } from './geometry.js';
import {
  conv2dBackwardInputTiled,
  conv2dBackwardWeightTiled,
  conv2dForwardTiled,
  type GemmEngine,
  type TiledOptions,
} from './implicit.js';
import { conv1x1NarrowRaw, narrow1x1Applies } from './narrow1x1.js';
import { conv2dShallowRaw, shallowApplies } from './shallow.js';
import {
  concatChannels,
  conv2dBackwardInputTc2,
  conv2dBackwardWeightTc2,
  conv2dForwardTc2,
  type ChannelConcat,
  type Tc2ForwardOptions,
  type Tc2InputGradOptions,
  type Tc2Run,
} from './tc2.js';
import { convTranspose2dSubpixelTc2, subpixelApplies } from './tc2-subpixel.js';
import { defaultTile, type Tc2Tile } from './tc2-tiles.js';

export type ConvPath = 'direct' | 'tiled' | 'tuned' | 'fast' | 'tc2' | 'tc2-sw';

export const CONV_PATHS: readonly ConvPath[] = ['direct', 'tiled', 'tuned', 'fast', 'tc2', 'tc2-sw'];

/** Which kernels a convolution runs: every entry point takes these. */
export interface ConvKernelOptions {
  path?: ConvPath;
  /** 'tiled' / 'tuned': the GEMM tile (default 64×64×16, resp. 128×128×8). */
  tile?: GemmTile;
  /**
   * tc2 paths: the tile of every GEMM, in place of the per-shape choice (tc2-tiles.ts tileFor: TC2_TILE_16SG or
   * TC2_TILE, TC2_TILE_N64 where a forward / input-gradient GEMM has ≤ 64 columns, TC2_TILE_SMALL_M for 65–1,089
   * rows) and of patch staging (unless tc2PatchTile is given).
   */
  tc2Tile?: Tc2Tile;
  /**
   * tc2 paths, stride-1 forward and input gradient: stage the input patch once for all taps (tc2-patch.ts) with this
   * tile where it applies; null turns patch staging off; by default tc2-patch.ts patchTileFor picks per shape.
   */
  tc2PatchTile?: Tc2Tile | null;
  /** GEMM paths: force the number of K splits (default: enough to fill ~512 workgroups). */
  splits?: number;
  /**
   * tc2 paths: run conv_transpose2d with stride 2 and a 3×3 / 4×4 kernel, and the input gradient of such a conv,
   * as one GEMM over the four output phases (tc2-subpixel.ts) instead of four. On unless false (H200: frozen forward
   * 11.17 → 10.63 ms, training step 35.4 → 34.6 ms; same error against fp32); false runs the four phase GEMMs.
   */
  subpixelTranspose?: boolean;
}

/**
 * Forward and input gradient on the tc2 paths only (see runsTc2): convolve with weightScale·w, the scale applied
 * during the f16 weight conversion. Other paths reject it. gradScale: on the tc2 paths, the range scale [s, 1/s] of
 * the operand that is a gradient (f16RangeScale), so that it is rounded to f16 as v·s (f16-range.ts); other paths
 * compute in f32 and ignore it.
 */
export interface ConvInputGradOptions extends ConvKernelOptions {
  weightScale?: number;
  gradScale?: GPUBuffer;
}

/** conv2d's forward (also conv_transpose2d's input gradient, whose input is a gradient: `gradScale`). */
export interface Conv2dForwardOptions extends ConvInputGradOptions {
  /** GEMM paths: fused epilogue after the bias (demodulation, noise, leaky ReLU·√2). */
  epilogue?: ConvEpilogue;
  /**
   * The input is concat([x, concat.buffer]) along channels (x has cin − concat.channels of them): read from both
   * buffers by the patch-staged tc2 GEMMs, concatenated into a temporary buffer first elsewhere (tc2.ts ChannelConcat).
   */
  concat?: ChannelConcat;
}

export interface ConvWeightGradOptions extends ConvKernelOptions {
  /** tc2 paths: the range scale of the operand `gradScaleOn` names ('gy' unless conv_transpose2d's backward). */
  gradScale?: GPUBuffer;
  gradScaleOn?: 'x' | 'gy';
  /**
   * tc2 paths: the gradient of w where the forward convolved with outScale·w (its `weightScale`), i.e. outScale
   * times the GEMM's result, applied as it is stored (no separate scale pass). Other paths reject it.
   */
  outScale?: number;
}

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
    fixedSubgroupSize(i) === 32
  );
}

/** The kernels a path runs on this adapter: 'tc2' / 'tc2-sw', an fp32 GEMM engine, or 'direct'. */
export function convKernels(gpu: Gpu, path: ConvPath | undefined): 'direct' | 'tc2' | 'tc2-sw' | GemmEngine {
  switch (path ?? 'tiled') {
    case 'direct':
      return 'direct';
    case 'tiled':
      return 'fp32';
    case 'tuned':
      return 'fp32-tuned';
    case 'tc2-sw':
      return 'tc2-sw';
    default:
      return tensorCoresAvailable(gpu) ? 'tc2' : 'fp32-tuned';
  }
}

function tiledOpts(gpu: Gpu, opts: ConvKernelOptions): TiledOptions {
  return {
    tile: opts.tile,
    splits: opts.splits,
    engine: convKernels(gpu, opts.path) === 'fp32' ? 'fp32' : 'fp32-tuned',
  };
}

/**
 * Whether these options run the tc2 kernels, which can apply `weightScale` while converting the weights, and which
 * round gradients to f16 (so their callers pass a `gradScale`).
 */
export function runsTc2(gpu: Gpu, opts: ConvKernelOptions): boolean {
  const k = convKernels(gpu, opts.path);
  return k === 'tc2' || k === 'tc2-sw';
}

function noFoldedScale(opts: ConvInputGradOptions, what: string): void {
  if (opts.weightScale !== undefined && opts.weightScale !== 1)
    throw new Error(`${what}: weightScale needs the tc2 kernels (runsTc2)`);
}

/** The tc2 run of these options on this adapter, or null where the path runs other kernels. */
function tc2Run(gpu: Gpu, opts: ConvKernelOptions): Tc2Run | null {
  const k = convKernels(gpu, opts.path);
  if (k !== 'tc2' && k !== 'tc2-sw') return null;
  return {
    mode: k === 'tc2' ? 'hw' : 'sw',
    tile: opts.tc2Tile,
    tileDefault: defaultTile(gpu.limits),
    patchTile: opts.tc2PatchTile,
    splits: opts.splits,
  };
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
  opts: Tc2InputGradOptions,
  subpixel: boolean,
): void {
  if (subpixel && subpixelApplies(t)) convTranspose2dSubpixelTc2(gpu, t, x, w, bias, y, opts);
  else conv2dBackwardInputTc2(gpu, t.conv, x, w, y, bias, opts);
}

/** y [n,cout,ho,wo] = conv2d(x [n,cin,h,w], w [cout,cin,kh,kw]) + bias [cout]. */
export function conv2dForwardRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: Conv2dForwardOptions = {},
): void {
  const tc2 = tc2Run(gpu, opts);
  if (!tc2) noFoldedScale(opts, 'conv2d');
  const f32Pass = { epilogue: opts.epilogue, weightScale: opts.weightScale };
  const narrow = tc2 !== null && narrow1x1Applies(g, gpu.limits.maxComputeWorkgroupStorageSize);
  const shallow = tc2 !== null && !narrow && shallowApplies(g);
  if (opts.concat && (!tc2 || opts.path === 'direct' || narrow || shallow)) {
    const xc = concatChannels(gpu, g, x, opts.concat);
    conv2dForwardRaw(gpu, g, xc, w, bias, y, { ...opts, concat: undefined });
    gpu.pool.release(xc);
    return;
  }
  if (opts.path === 'direct') {
    if (opts.epilogue && Object.keys(opts.epilogue).length) throw new Error('conv2d: the direct path has no epilogue');
    conv2dForwardDirect(gpu, g, x, w, bias, y);
  } else if (narrow) conv1x1NarrowRaw(gpu, g, x, w, bias, y, f32Pass);
  else if (shallow) conv2dShallowRaw(gpu, g, x, w, bias, y, f32Pass);
  else if (tc2) {
    const o: Tc2ForwardOptions = { ...tc2, ...f32Pass, gradScale: opts.gradScale, concat: opts.concat };
    conv2dForwardTc2(gpu, g, x, w, bias, y, o);
  } else conv2dForwardTiled(gpu, g, x, w, bias, y, { ...tiledOpts(gpu, opts), epilogue: opts.epilogue });
}

/** gx [n,cin,h,w] = ∂L/∂x from gy [n,cout,ho,wo]. */
export function conv2dBackwardInputRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  opts: ConvInputGradOptions = {},
): void {
  const tc2 = tc2Run(gpu, opts);
  if (!tc2) noFoldedScale(opts, 'conv2d input gradient');
  if (opts.path === 'direct') conv2dBackwardInputDirect(gpu, g, gy, w, gx);
  else if (tc2) {
    // The input gradient is the transposed conv of gy with the same weights ([cout, cin] = its [in, out]).
    const t = { n: g.n, cin: g.cout, cout: g.cin, h: g.ho, w: g.wo, hout: g.h, wout: g.w, conv: g };
    const o = { ...tc2, weightScale: opts.weightScale, gradScale: opts.gradScale };
    convTransposeTc2(gpu, t, gy, w, null, gx, o, opts.subpixelTranspose !== false);
  } else conv2dBackwardInputTiled(gpu, g, gy, w, gx, null, tiledOpts(gpu, opts));
}

/** gw [cout,cin,kh,kw] = ∂L/∂w from x and gy. */
export function conv2dBackwardWeightRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  gy: GPUBuffer,
  gw: GPUBuffer,
  opts: ConvWeightGradOptions = {},
): void {
  const tc2 = tc2Run(gpu, opts);
  if (tc2) {
    const { gradScale, gradScaleOn, outScale } = opts;
    conv2dBackwardWeightTc2(gpu, g, x, gy, gw, { ...tc2, gradScale, gradScaleOn, outScale });
    return;
  }
  if (opts.outScale !== undefined && opts.outScale !== 1)
    throw new Error('conv2d weight gradient: outScale needs the tc2 kernels (runsTc2)');
  if (opts.path === 'direct') conv2dBackwardWeightDirect(gpu, g, x, gy, gw);
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
  opts: ConvInputGradOptions = {},
): void {
  const tc2 = tc2Run(gpu, opts);
  if (opts.path === 'direct') conv2dBackwardInputDirect(gpu, t.conv, x, w, y, bias);
  else if (tc2) {
    const o = { ...tc2, weightScale: opts.weightScale, gradScale: opts.gradScale };
    convTransposeTc2(gpu, t, x, w, bias, y, o, opts.subpixelTranspose !== false);
  } else conv2dBackwardInputTiled(gpu, t.conv, x, w, y, bias, tiledOpts(gpu, opts));
}

/** gx [n,cin,h,w] of conv_transpose2d = conv2d(gy, w). */
export function convTranspose2dBackwardInputRaw(
  gpu: Gpu,
  t: ConvTranspose2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  opts: ConvInputGradOptions = {},
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
  opts: ConvWeightGradOptions = {},
): void {
  // conv2d's "input" here is the gradient: the range scale belongs to the other operand of the weight-gradient GEMM.
  conv2dBackwardWeightRaw(gpu, t.conv, gy, x, gw, { ...opts, gradScaleOn: 'x' });
}

export function convTranspose2dBackwardBiasRaw(gpu: Gpu, t: ConvTranspose2dGeom, gy: GPUBuffer, gb: GPUBuffer): void {
  biasGradRaw(gpu, t.n, t.cout, t.hout * t.wout, gy, gb);
}
