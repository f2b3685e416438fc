/**
 * StyleGAN2's small layers as compositions of engine ops: NoiseInjection, PixelNorm and EqualLinear (the fused
 * leaky ReLU itself is an engine op, tensor/ops/leaky-relu.ts, since the convolutions fuse it).
 */
import { add, mul, rsqrt, scale, square } from '../../tensor/ops/elementwise.js';
import { fusedLeakyRelu } from '../../tensor/ops/leaky-relu.js';
import { matmul } from '../../tensor/ops/linalg.js';
import { mean } from '../../tensor/ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/** StyleGAN2 NoiseInjection: `x + w · noise` (w a learned scalar [1], noise [1 or N, 1, H, W] broadcast over C). */
export function noiseInjection(x: Tensor, weight: Tensor, noise: Tensor): Tensor {
  return add(x, mul(weight, noise));
}

/** PixelNorm: x / sqrt(mean(x², axis 1) + eps). */
export function pixelNorm(x: Tensor, eps = 1e-8): Tensor {
  return mul(x, rsqrt(add(mean(square(x), 1, true), eps)));
}

export interface EqualLinearOptions {
  lrMul?: number;
  /** 'fused_lrelu': bias + leaky ReLU(0.2)·√2 (StyleGAN2 EqualLinear(activation='fused_lrelu')). */
  activation?: 'fused_lrelu' | null;
}

/**
 * StyleGAN2 EqualLinear: y = x · (W · lrMul/√in)ᵀ + b · lrMul, x [N, in], W [out, in], b [out] (or null);
 * with activation, the bias goes through FusedLeakyReLU.
 */
export function equalLinear(x: Tensor, weight: Tensor, bias: Tensor | null, opts: EqualLinearOptions = {}): Tensor {
  const lrMul = opts.lrMul ?? 1;
  const inDim = weight.shape[1]!;
  const alpha = lrMul / Math.sqrt(inDim);
  if (opts.activation === 'fused_lrelu') {
    const b = bias ? (lrMul === 1 ? bias : scale(bias, lrMul)) : null;
    return fusedLeakyRelu(matmul(x, weight, { transB: true, alpha }), b);
  }
  // One kernel: the weight scale and the bias (times lr_mul) are the product's epilogue.
  return matmul(x, weight, { transB: true, alpha, bias, biasScale: lrMul });
}
