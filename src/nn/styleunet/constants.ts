/** Constants of the StyleGAN2 building blocks as the DualStyleUNet uses them. */

/** FusedLeakyReLU: leaky_relu(x + b, 0.2) · √2 (defined with the engine's fused activation and epilogue). */
export { LRELU_GAIN, LRELU_SLOPE } from '../../tensor/ops/leaky-relu.js';

/** The mapping MLP's EqualLinear layers use lr_mul 0.01 (weights scaled by lr_mul/√in, bias by lr_mul). */
export const MAPPING_LR_MUL = 0.01;

/** Demodulation epsilon: d = 1/√(Σw'² + 1e-8). */
export const DEMOD_EPS = 1e-8;

/**
 * Channel order of the decoder's skip concatenation before each comb conv: the decoder features first, then the
 * encoder skip. The description does not pin this down and both halves have the same size, so a checkpoint cannot
 * tell either; this is the StyleUNet convention as we understand it, kept in this one place so that a comparison
 * against the reference's own outputs can flip it if needed.
 */
export const COMB_CONCAT_ORDER: 'out-first' | 'cond-first' = 'out-first';

/**
 * Padding of the [1,3,3,1] blur before a stride-2 convolution of size `convK` (ConvLayer with downsample), and of
 * the plain blur-downsample (convK = 1): p = len − factor + convK − 1, split as (⌈p/2⌉, ⌊p/2⌋).
 */
export function blurPad(kernelLen: number, factor: number, convK: number): [number, number] {
  const p = kernelLen - factor + convK - 1;
  return [(p + 1) >> 1, p >> 1];
}
