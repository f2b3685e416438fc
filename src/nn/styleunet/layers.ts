/**
 * StyleGAN2 building blocks as the DualStyleUNet uses them, composed from engine ops (so autograd comes free):
 * ConvLayer (EqualConv2d + FusedLeakyReLU, optional blur-downsample), ModulatedConv2d (optional
 * transposed-conv upsample + blur), StyledConv (+ noise), ToRGB (Haar-domain skip). Parameters are looked up by
 * their state-dict names (spec.ts).
 */
import { add, biasAdd, scale } from '../../tensor/ops/elementwise.js';
import { reshape } from '../../tensor/ops/shape.js';
import { permute } from '../../tensor/ops/linalg.js';
import { equalLinear, fusedLeakyRelu, noiseInjection } from '../../tensor/ops/stylegan.js';
import type { Tensor } from '../../tensor/tensor.js';
import { conv2d, convTranspose2d, haarDwt, haarIwt, modulate, upfirdn2d } from '../../tensor/conv/ops.js';
import { blurSpec, downsampleSpec, upsampleSpec } from '../../tensor/conv/fir.js';
import { blurPad } from './constants.js';

export type ParamLookup = (name: string) => Tensor;

/** ConvLayer: [blur-downsample +] EqualConv2d (weight scaled by 1/√fan_in, no bias) + FusedLeakyReLU. */
export function convLayer(p: ParamLookup, x: Tensor, prefix: string, k: number, downsample: boolean): Tensor {
  const cin = x.shape[1]!;
  if (downsample) {
    const blurred = upfirdn2d(x, blurSpec(blurPad(4, 2, k)));
    const w = scale(p(`${prefix}.1.weight`), 1 / Math.sqrt(cin * k * k));
    return fusedLeakyRelu(conv2d(blurred, w, null, { stride: 2, padding: 0 }), p(`${prefix}.2.bias`));
  }
  const w = scale(p(`${prefix}.0.weight`), 1 / Math.sqrt(cin * k * k));
  return fusedLeakyRelu(conv2d(x, w, null, { padding: k >> 1 }), p(`${prefix}.1.bias`));
}

/** The blur-downsample of the input image in FromRGB ([1,3,3,1], pad 1, down 2). */
export function downsampleImage(x: Tensor): Tensor {
  return upfirdn2d(x, downsampleSpec(2));
}

/**
 * ModulatedConv2d with one style [1, styleDim] for the whole batch: s = EqualLinear(style → Cin, bias init 1); weight modulated
 * (and demodulated); upsample = conv_transpose2d stride 2, then Blur([1,3,3,1]·4, pad (1, 1)).
 */
export function modulatedConv(
  p: ParamLookup,
  x: Tensor,
  prefix: string,
  style: Tensor,
  demodulate: boolean,
  upsample: boolean,
): Tensor {
  const w5 = p(`${prefix}.weight`); // [1, Cout, Cin, k, k]
  const [, cout, cin, k] = w5.shape as unknown as [number, number, number, number];
  const s = equalLinear(style, p(`${prefix}.modulation.weight`), p(`${prefix}.modulation.bias`));
  const wm = modulate(reshape(w5, [cout, cin, k, k]), s, demodulate);
  if (!upsample) return conv2d(x, wm, null, { padding: k >> 1 });
  const y = convTranspose2d(x, permute(wm, [1, 0, 2, 3]), null, { stride: 2 });
  return upfirdn2d(y, blurSpec([1, 1], [1, 3, 3, 1], 2));
}

/** StyledConv: ModulatedConv2d (demodulated) → + w·noise → FusedLeakyReLU. */
export function styledConv(
  p: ParamLookup,
  x: Tensor,
  prefix: string,
  style: Tensor,
  up: boolean,
  noise: Tensor,
): Tensor {
  const y = modulatedConv(p, x, `${prefix}.conv`, style, true, up);
  return fusedLeakyRelu(noiseInjection(y, p(`${prefix}.noise.weight`), noise), p(`${prefix}.activate.bias`));
}

/** ToRGB: 1×1 modulated conv (no demodulation) + bias, plus the previous level's skip carried through IWT → 2× up → DWT. */
export function toRgb(p: ParamLookup, x: Tensor, prefix: string, style: Tensor, skip: Tensor | null): Tensor {
  const bias = p(`${prefix}.bias`);
  const y = biasAdd(modulatedConv(p, x, `${prefix}.conv`, style, false, false), reshape(bias, [bias.size]));
  if (!skip) return y;
  return add(y, haarDwt(upfirdn2d(haarIwt(skip), upsampleSpec(2))));
}
