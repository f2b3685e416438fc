/**
 * StyleGAN2 building blocks as the DualStyleUNet uses them, composed from engine ops (so autograd comes free):
 * ConvLayer (EqualConv2d + FusedLeakyReLU, optional blur-downsample), ModulatedConv2d (optional
 * transposed-conv upsample + blur), StyledConv (+ noise), ToRGB (Haar-domain skip). Parameters are looked up by
 * their state-dict names (spec.ts).
 */
import { add, biasAdd, scale } from '../../tensor/ops/elementwise.js';
import { concat, reshape } from '../../tensor/ops/shape.js';
import { fusedLeakyRelu } from '../../tensor/ops/leaky-relu.js';
import { equalLinear, noiseInjection } from '../stylegan/layers.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  conv2d,
  conv2dFused,
  convTranspose2d,
  haarDwt,
  haarIwt,
  haarSkipUpsample,
  modulate,
  upfirdn2d,
  upfirdn2dTail,
} from '../../tensor/conv/ops.js';
import { blurSpec, downsampleSpec, upsampleSpec } from '../../tensor/conv/fir.js';
import { blurPad } from './constants.js';

/**
 * Parameter lookup by state-dict name. `derived`, when present, caches tensors computed from parameters alone
 * (scaled / modulated weights, the style) under a key: DualStyleUNet.freezeForInference uses it.
 */
export type ParamLookup = ((name: string) => Tensor) & {
  derived?: (key: string, make: () => Tensor) => Tensor;
  /** Whether `derived` keeps what it makes (a network frozen for inference); otherwise it makes it every call. */
  readonly frozen?: boolean;
};

/** A tensor that depends only on parameters, through the lookup's cache when it has one. */
export function derived(p: ParamLookup, key: string, make: () => Tensor): Tensor {
  return p.derived ? p.derived(key, make) : make();
}

let fuseTails = true;

/**
 * Whether ConvLayer and the non-upsampling StyledConvs run their conv + noise + bias + activation as one
 * conv2dFused (default) or as the separate ops (for A/B benches and dispatch counts). Returns the previous setting.
 */
export function setConvTailFusion(enabled: boolean): boolean {
  const prev = fuseTails;
  fuseTails = enabled;
  return prev;
}

/**
 * ConvLayer: [blur-downsample +] EqualConv2d (weight scaled by 1/√fan_in, no bias) + FusedLeakyReLU, plus `residual`
 * where given (the encoder's feat + FromRGB(img): in the conv's epilogue when nothing is recorded, see conv2dFused),
 * on concat([x, more], 1) where `more` is given (the decoder's comb convs: read from both tensors by the conv when
 * nothing is recorded, see conv2dFused).
 */
export function convLayer(
  p: ParamLookup,
  x: Tensor,
  prefix: string,
  k: number,
  downsample: boolean,
  residual?: Tensor,
  more?: Tensor,
): Tensor {
  if (more && (downsample || !fuseTails)) return convLayer(p, concat([x, more], 1), prefix, k, downsample, residual);
  const cin = x.shape[1]! + (more?.shape[1] ?? 0);
  const c = 1 / Math.sqrt(cin * k * k);
  const wi = downsample ? 1 : 0;
  const input = downsample ? upfirdn2d(x, blurSpec(blurPad(4, 2, k))) : x;
  const conv = downsample ? { stride: 2, padding: 0 } : { padding: k >> 1 };
  const raw = p(`${prefix}.${wi}.weight`);
  const b = p(`${prefix}.${wi + 1}.bias`);
  if (!fuseTails) {
    const y = fusedLeakyRelu(conv2d(input, scale(raw, c), null, conv), b);
    return residual ? add(residual, y) : y;
  }
  // Frozen networks keep the scaled weights; otherwise the conv applies the scale (while converting to f16 on tc2).
  if (p.frozen)
    return conv2dFused(
      input,
      derived(p, `${prefix}.${wi}.weight:scaled`, () => scale(raw, c)),
      b,
      { ...conv, lrelu: true, residual, concat: more },
    );
  return conv2dFused(input, raw, b, { ...conv, lrelu: true, weightScale: c, residual, concat: more });
}

/** The blur-downsample of the input image in FromRGB ([1,3,3,1], pad 1, down 2). */
export function downsampleImage(x: Tensor): Tensor {
  return upfirdn2d(x, downsampleSpec(2));
}

/**
 * The modulated (and optionally demodulated) weight [Cout, Cin, k, k] of a ModulatedConv2d for one style [1, styleDim];
 * `transposed`: [Cin, Cout, k, k], the layout of the upsampling convs' conv_transpose2d.
 */
export function modulatedWeight(
  p: ParamLookup,
  prefix: string,
  style: Tensor,
  demodulate: boolean,
  transposed = false,
): Tensor {
  const key = `${prefix}.weight:modulated${demodulate ? ':demodulated' : ''}${transposed ? ':transposed' : ''}`;
  return derived(p, key, () => {
    const w5 = p(`${prefix}.weight`); // [1, Cout, Cin, k, k]
    const [, cout, cin, k] = w5.shape as unknown as [number, number, number, number];
    const s = equalLinear(style, p(`${prefix}.modulation.weight`), p(`${prefix}.modulation.bias`));
    return modulate(reshape(w5, [cout, cin, k, k]), s, demodulate, transposed);
  });
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
  if (!upsample) {
    const wm = modulatedWeight(p, prefix, style, demodulate);
    return conv2d(x, wm, null, { padding: wm.shape[3]! >> 1 });
  }
  return upfirdn2d(modulatedConvTransposed(p, x, prefix, style, demodulate), UP_BLUR);
}

/** The blur after an upsampling ModulatedConv2d's transposed conv (Blur([1,3,3,1]·4, pad (1, 1))). */
const UP_BLUR = blurSpec([1, 1], [1, 3, 3, 1], 2);

/** An upsampling ModulatedConv2d before its blur: conv_transpose2d stride 2 with the modulated weight. */
function modulatedConvTransposed(
  p: ParamLookup,
  x: Tensor,
  prefix: string,
  style: Tensor,
  demodulate: boolean,
): Tensor {
  const wt = modulatedWeight(p, prefix, style, demodulate, true); // written in conv_transpose2d's layout
  return convTranspose2d(x, wt, null, { stride: 2 });
}

/**
 * StyledConv: ModulatedConv2d (demodulated) → + w·noise → FusedLeakyReLU. Without upsampling the conv, noise, bias
 * and activation run as one conv2dFused (one dispatch on the GEMM paths); the upsampling ones go through the
 * transposed conv, then the blur with the noise, bias and activation as its epilogue (upfirdn2dTail).
 */
export function styledConv(
  p: ParamLookup,
  x: Tensor,
  prefix: string,
  style: Tensor,
  up: boolean,
  noise: Tensor,
): Tensor {
  const strength = p(`${prefix}.noise.weight`);
  const bias = p(`${prefix}.activate.bias`);
  if (!up && fuseTails) {
    const wm = modulatedWeight(p, `${prefix}.conv`, style, true);
    return conv2dFused(x, wm, bias, { padding: wm.shape[3]! >> 1, noise: { noise, strength }, lrelu: true });
  }
  if (fuseTails) {
    // the blur and the tail in one kernel (on GPUs; two ops on the CPU's direct upfirdn path)
    return upfirdn2dTail(modulatedConvTransposed(p, x, `${prefix}.conv`, style, true), UP_BLUR, noise, strength, bias);
  }
  const y = modulatedConv(p, x, `${prefix}.conv`, style, true, up);
  return fusedLeakyRelu(noiseInjection(y, strength, noise), bias);
}

/** ToRGB: 1×1 modulated conv (no demodulation) + bias, plus the previous level's skip carried through IWT → 2× up → DWT. */
export function toRgb(p: ParamLookup, x: Tensor, prefix: string, style: Tensor, skip: Tensor | null): Tensor {
  const bias = p(`${prefix}.bias`);
  const b = reshape(bias, [bias.size]);
  let y: Tensor;
  if (fuseTails) {
    const wm = modulatedWeight(p, `${prefix}.conv`, style, false);
    y = conv2dFused(x, wm, b, { padding: wm.shape[3]! >> 1 }); // the bias in the conv's epilogue
  } else {
    y = biasAdd(modulatedConv(p, x, `${prefix}.conv`, style, false, false), b);
  }
  if (!skip) return y;
  if (fuseTails) return haarSkipUpsample(skip, y); // the same chain and add in one kernel
  return add(y, haarDwt(upfirdn2d(haarIwt(skip), upsampleSpec(2))));
}
