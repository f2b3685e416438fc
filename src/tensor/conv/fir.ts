/**
 * StyleGAN2's FIR helpers as the DualStyleUNet uses them, as (kernel, upfirdn2d options) pairs:
 * - Blur(kernel, pad, upsample_factor): kernel = outer(k, k)/Σ · factor², pad (p0, p1) on both axes;
 * - Upsample(factor): up = factor, pad ((p+1)/2 + factor − 1, p/2) with p = taps − factor, kernel ×factor²;
 * - Downsample(factor): down = factor, pad ((p+1)/2, p/2).
 * With [1,3,3,1]: Upsample(2) pads (2, 1), Downsample(2) pads (1, 1); the conv-downsample blur pads (2, 2) and the
 * conv-transpose upsample blur pads (1, 1) with factor 2.
 */
import { blurKernel } from '../reference/upfirdn.js';
import type { UpfirdnOptions } from './upfirdn-geometry.js';

export interface FirSpec {
  /** Row-major taps (kh·kw) as upfirdn2d takes them (it flips them). */
  kernel: Float32Array;
  kh: number;
  kw: number;
  opts: UpfirdnOptions;
}

export function blurSpec(
  pad: readonly [number, number],
  kernel1d: readonly number[] = [1, 3, 3, 1],
  upsampleFactor = 1,
): FirSpec {
  const n = kernel1d.length;
  return { kernel: Float32Array.from(blurKernel(kernel1d, upsampleFactor)), kh: n, kw: n, opts: { pad } };
}

export function upsampleSpec(factor = 2, kernel1d: readonly number[] = [1, 3, 3, 1]): FirSpec {
  const n = kernel1d.length;
  const p = n - factor;
  const pad: [number, number] = [((p + 1) >> 1) + factor - 1, p >> 1];
  return { kernel: Float32Array.from(blurKernel(kernel1d, factor)), kh: n, kw: n, opts: { up: factor, pad } };
}

export function downsampleSpec(factor = 2, kernel1d: readonly number[] = [1, 3, 3, 1]): FirSpec {
  const n = kernel1d.length;
  const p = n - factor;
  const pad: [number, number] = [(p + 1) >> 1, p >> 1];
  return { kernel: Float32Array.from(blurKernel(kernel1d, 1)), kh: n, kw: n, opts: { down: factor, pad } };
}
