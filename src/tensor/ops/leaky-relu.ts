/**
 * The fused bias + leaky ReLU activation, `leaky_relu(x + b, slope) · gain`, and the noise + bias + activation tail
 * of a convolution, with the gradients the convolution's own fused backward shares. Generic engine ops: the slope
 * and gain are parameters; their defaults are StyleGAN2's FusedLeakyReLU, which the model layers (nn/stylegan) and
 * the convolutions' fused epilogue use.
 */
import { cachedKernel, dispatch1d, f, main1d, params } from '../kernels/util.js';
import { record } from '../tape.js';
import { gpu, Tensor } from '../tensor.js';
import { biasGradRaw } from '../conv/bias-grad.js';
import { mul } from './elementwise.js';
import { sum } from './shape.js';

/** StyleGAN2's FusedLeakyReLU: negative slope 0.2, then a gain of √2 that keeps the activations' variance. */
export const LRELU_SLOPE = 0.2;
export const LRELU_GAIN = Math.SQRT2;

const FLRELU_F = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, c: u32, inner: u32, slope: f32, gain: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let v = X[i] + Bias[(i / P.inner) % P.c];
  Y[i] = select(v * P.slope, v, v > 0.0) * P.gain;
}`;

const FLRELU_NOBIAS_F = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, c: u32, inner: u32, slope: f32, gain: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let v = X[i];
  Y[i] = select(v * P.slope, v, v > 0.0) * P.gain;
}`;

const FLRELU_B = /* wgsl */ `
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> Yv: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
struct PP { n: u32, slope: f32, gain: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  GX[i] = G[i] * select(P.slope, 1.0, Yv[i] > 0.0) * P.gain;
}`;

/**
 * StyleGAN2 FusedLeakyReLU: `leaky_relu(x + b[c], slope) · gain` with b [C] on axis 1 of x [N, C, ...] (b may be
 * null). Backward uses the output's sign, as the original does.
 */
export function fusedLeakyRelu(x: Tensor, bias: Tensor | null, slope = LRELU_SLOPE, gain = LRELU_GAIN): Tensor {
  const C = x.shape[1] ?? 1;
  if (bias && bias.size !== C) throw new Error(`fusedLeakyRelu: bias of ${bias.size} for ${C} channels`);
  const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const y = Tensor.empty(x.shape);
  const p = params(x.size, C, inner, f(slope), f(gain));
  if (bias)
    dispatch1d(
      cachedKernel('flrelu', () => FLRELU_F),
      [x.buffer, bias.buffer, y.buffer],
      x.size,
      p,
    );
  else
    dispatch1d(
      cachedKernel('flrelu:nobias', () => FLRELU_NOBIAS_F),
      [x.buffer, y.buffer],
      x.size,
      p,
    );
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const rank = x.rank;
  return record({
    name: 'fusedLeakyRelu',
    inputs: [x, bias],
    output: y,
    save: [y],
    backward: (gy, [ys], needs) => {
      if (needs[1] && rank >= 2) {
        const [gx, gb] = leakyReluGradAndBias(gy, ys!, { slope, gain });
        return [needs[0] ? gx : null, gb];
      }
      const gx = leakyReluGradFromOutput(gy, ys!, slope, gain);
      const gb = needs[1] ? Tensor.view(sum(gx, axes), [C]) : null;
      return [needs[0] ? gx : null, gb];
    },
  });
}

/**
 * leakyReluGradFromOutput and the bias gradient (Σ over every axis but 1) in one pass over gy and y (bias-grad.ts):
 * [gt, gb [C], range, gs]; with `range`, also gt's f16 range scale (f16-range.ts; a pooled buffer the caller releases)
 * from maxima taken in the same pass, for a tensor-core backward of gt, else null; with `noise` (the layer's injected
 * noise [1 or N, 1, H, W] of a [N, C, H, W] gy), also the noise strength's gradient Σ gt·noise [1] from the same
 * pass, else null. Not recorded (for backward closures).
 */
export function leakyReluGradAndBias(
  gy: Tensor,
  y: Tensor,
  {
    slope = LRELU_SLOPE,
    gain = LRELU_GAIN,
    range = false,
    noise,
  }: { slope?: number; gain?: number; range?: boolean; noise?: Tensor } = {},
): [Tensor, Tensor, GPUBuffer | null, Tensor | null] {
  const C = gy.shape[1] ?? 1;
  const inner = gy.shape.slice(2).reduce((a, b) => a * b, 1);
  const gt = Tensor.empty(gy.shape);
  const gb = Tensor.empty([C]);
  const gs = noise ? Tensor.empty([1]) : null;
  const nz = noise && gs ? { noise: noise.buffer, perSample: noise.shape[0] !== 1, out: gs.buffer } : undefined;
  const lrelu = { y: y.buffer, gt: gt.buffer, slope, gain, range, noise: nz };
  const scale = biasGradRaw(gpu(), gy.shape[0] ?? 1, C, inner, gy.buffer, gb.buffer, lrelu);
  return [gt, gb, scale, gs];
}

/**
 * gy · (y > 0 ? 1 : slope) · gain: the input gradient of FusedLeakyReLU from its saved output y (the sign of the
 * output is the sign of the pre-activation since slope, gain > 0; at y = 0 the slope side, as the original).
 * Not recorded (for backward closures).
 */
export function leakyReluGradFromOutput(gy: Tensor, y: Tensor, slope = LRELU_SLOPE, gain = LRELU_GAIN): Tensor {
  const gx = Tensor.empty(gy.shape);
  dispatch1d(
    cachedKernel('flrelu:grad', () => FLRELU_B),
    [gy.buffer, y.buffer, gx.buffer],
    gy.size,
    params(gy.size, f(slope), f(gain)),
  );
  return gx;
}

const TAIL_F = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Noise: array<f32>;
@group(0) @binding(2) var<storage, read> Strength: array<f32>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, c: u32, inner: u32, perSample: u32, slope: f32, gain: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let p = i % P.inner;
  let nz = select(p, (i / (P.c * P.inner)) * P.inner + p, P.perSample != 0u);
  let v = (X[i] + Strength[0] * Noise[nz]) + Bias[(i / P.inner) % P.c];
  Y[i] = select(v * P.slope, v, v > 0.0) * P.gain;
}`;

/**
 * The StyledConv tail in one kernel: fusedLeakyRelu(noiseInjection(x, strength, noise), bias), i.e.
 * `leaky_relu(x + strength·noise + b[c], 0.2)·√2` (noise [1 or N, 1, H, W], strength [1], bias [C]). The upsampling
 * StyledConvs use it (the others fuse it into their conv); the same rounding order as the separate ops.
 */
export function noiseBiasLeakyRelu(x: Tensor, noise: Tensor, strength: Tensor, bias: Tensor): Tensor {
  if (x.rank !== 4) throw new Error(`noiseBiasLeakyRelu: input must be [N, C, H, W], got [${x.shape}]`);
  const [, C, H, W] = x.shape as unknown as [number, number, number, number];
  const perSample = checkTailInputs('noiseBiasLeakyRelu', x.shape, noise, strength, bias);
  const y = Tensor.empty(x.shape);
  dispatch1d(
    cachedKernel('noise_bias_lrelu', () => TAIL_F),
    [x.buffer, noise.buffer, strength.buffer, bias.buffer, y.buffer],
    x.size,
    params(x.size, C, H * W, perSample ? 1 : 0, f(LRELU_SLOPE), f(LRELU_GAIN)),
  );
  return record({
    name: 'noiseBiasLeakyRelu',
    inputs: [x, noise, strength, bias],
    output: y,
    save: [y, noise, strength],
    backward: (gy, [ys, nz, st], needs) => {
      const { gt, gn, gs, gb } = tailGrads(gy, ys!, nz!, st!, needs);
      return [needs[0] ? gt : null, gn, gs, gb];
    },
  });
}

/**
 * Checks the operands of a StyledConv tail on an output of shape [N, C, H, W]: noise [1 or N, 1, H, W], strength [1],
 * bias [C]. Returns whether the noise is per sample.
 */
export function checkTailInputs(
  op: string,
  shape: readonly number[],
  noise: Tensor,
  strength: Tensor,
  bias: Tensor,
): boolean {
  const [N, C, H, W] = shape as unknown as [number, number, number, number];
  const ns = noise.shape;
  if (ns.length !== 4 || ns[1] !== 1 || ns[2] !== H || ns[3] !== W || (ns[0] !== 1 && ns[0] !== N))
    throw new Error(`${op}: noise [${ns}] does not broadcast to [${shape}]`);
  if (strength.size !== 1) throw new Error(`${op}: the noise strength must have one value`);
  if (bias.size !== C) throw new Error(`${op}: bias of ${bias.size} for ${C} channels`);
  return ns[0] !== 1;
}

/**
 * Gradients of a StyledConv tail y = lrelu(t + strength·noise + bias)·√2 from gy and the saved output y, for the
 * inputs in the order (t, noise, strength, bias) of `needs`: gt (the gradient of t, always computed), and the
 * others or null. Not recorded.
 */
export function tailGrads(
  gy: Tensor,
  y: Tensor,
  noise: Tensor,
  strength: Tensor,
  needs: readonly boolean[],
): { gt: Tensor; gn: Tensor | null; gs: Tensor | null; gb: Tensor | null } {
  if (needs[3] && needs[2] && !needs[1]) {
    // the strength's gradient from the bias gradient's pass (the noise itself is a constant input)
    const [gt, gb, , g] = leakyReluGradAndBias(gy, y, { noise });
    return { gt, gn: null, gs: Tensor.view(g!, strength.shape), gb };
  }
  const [gt, gb] = needs[3] ? leakyReluGradAndBias(gy, y) : [leakyReluGradFromOutput(gy, y), null];
  const [gn, gs] = noiseGrads(gt, noise, strength, needs[1]!, needs[2]!);
  return { gt, gn, gs, gb };
}

/**
 * Gradients of `t = … + strength·noise` (noise [1 or N, 1, H, W] broadcast over the channels of gt [N, C, H, W])
 * for the noise and the strength, both from the channel sum Σ_c gt (one read of gt, no gt-sized product):
 * ∂noise = strength·Σ_c gt (also over N for a shared noise), ∂strength = Σ noise·Σ_c gt. Not recorded.
 */
export function noiseGrads(
  gt: Tensor,
  noise: Tensor,
  strength: Tensor,
  needNoise: boolean,
  needStrength: boolean,
): [Tensor | null, Tensor | null] {
  if (!needNoise && !needStrength) return [null, null];
  const gc = sum(gt, [1], true); // [N, 1, H, W]
  const gn = needNoise
    ? mul(Tensor.view(noise.shape[0] === gt.shape[0] ? gc : sum(gc, [0], true), noise.shape), strength)
    : null;
  const gs = needStrength ? Tensor.view(sum(mul(gc, noise)), strength.shape) : null;
  return [gn, gs];
}
