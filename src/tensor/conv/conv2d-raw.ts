/**
 * conv2d and conv_transpose2d on raw GPU buffers (NCHW f32), forward and backward. Each function records its
 * dispatches and writes (overwrites) its output buffer. `path` picks the tiled implicit GEMM (default) or the
 * direct one-output-per-invocation kernels (the oracle).
 */
import type { Gpu } from '../../gpu/index.js';
import { channelSum, conv2dBackwardInputDirect, conv2dBackwardWeightDirect, conv2dForwardDirect } from './direct.js';
import type { GemmTile } from './gemm.js';
import type { Conv2dGeom, ConvTranspose2dGeom } from './geometry.js';
import { conv2dBackwardInputTiled, conv2dBackwardWeightTiled, conv2dForwardTiled } from './implicit.js';

export type ConvPath = 'direct' | 'tiled';

export interface ConvKernelOptions {
  path?: ConvPath;
  /** Tile of the implicit GEMM (tiled path). */
  tile?: GemmTile;
  /** Tiled path: aim for about this many workgroups by splitting the K sum when the output has fewer tiles. */
  targetWorkgroups?: number;
  /** Tiled path: force the number of K splits. */
  splits?: number;
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
  if (opts.path === 'direct') conv2dForwardDirect(gpu, g, x, w, bias, y);
  else conv2dForwardTiled(gpu, g, x, w, bias, y, opts);
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
  if (opts.path === 'direct') conv2dBackwardInputDirect(gpu, g, gy, w, gx);
  else conv2dBackwardInputTiled(gpu, g, gy, w, gx, null, opts);
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
  if (opts.path === 'direct') conv2dBackwardWeightDirect(gpu, g, x, gy, gw);
  else conv2dBackwardWeightTiled(gpu, g, x, gy, gw, opts);
}

/** gb [cout] = Σ gy over batch and pixels. */
export function conv2dBackwardBiasRaw(gpu: Gpu, g: Conv2dGeom, gy: GPUBuffer, gb: GPUBuffer): void {
  channelSum(gpu, g.n, g.cout, g.ho * g.wo, gy, gb);
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
  if (opts.path === 'direct') conv2dBackwardInputDirect(gpu, t.conv, x, w, y, bias);
  else conv2dBackwardInputTiled(gpu, t.conv, x, w, y, bias, opts);
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
  conv2dBackwardWeightRaw(gpu, t.conv, gy, x, gw, opts);
}

export function convTranspose2dBackwardBiasRaw(gpu: Gpu, t: ConvTranspose2dGeom, gy: GPUBuffer, gb: GPUBuffer): void {
  channelSum(gpu, t.n, t.cout, t.hout * t.wout, gy, gb);
}
