/**
 * The convolution family as autograd ops on Tensors: thin wrappers that call the raw-buffer kernels of this folder
 * forward and record a backward that calls their gradient kernels. NCHW f32.
 */
import { gpu, sameShape, Tensor } from '../tensor.js';
import { haarSkipAdjointRaw, haarSkipRaw } from './haar-skip.js';
import { needsGrad, record } from '../tape.js';
import {
  conv2dBackwardBiasRaw,
  conv2dBackwardInputRaw,
  conv2dBackwardWeightRaw,
  conv2dForwardRaw,
  runsTc2,
  convTranspose2dBackwardBiasRaw,
  convTranspose2dBackwardInputRaw,
  convTranspose2dBackwardWeightRaw,
  convTranspose2dForwardRaw,
  CONV_PATHS,
  type ConvInputGradOptions,
  type ConvKernelOptions,
  type ConvPath,
} from './conv2d-raw.js';
import {
  conv2dGeometry,
  convTranspose2dGeometry,
  type Conv2dGeom,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
} from './geometry.js';
import { upfirdnGeometry } from './upfirdn-geometry.js';
import {
  constantBuffer,
  haarDwtBackwardRaw,
  haarDwtRaw,
  haarIwtBackwardRaw,
  haarIwtRaw,
  separableFilterBackwardRaw,
  separableFilterRaw,
  separableGeoms,
  pathOf,
  upfirdn2dAdjointRaw,
  upfirdn2dRaw,
  upfirdn2dTailRaw,
  type SeparablePadding,
  type UpfirdnPath,
} from './upfirdn.js';
import { modulateBackwardRaw, modulateRaw } from './modulate.js';
import { f16RangeScale } from './f16-range.js';
import { maxPool2BackwardRaw, maxPool2Raw } from './pool2.js';
import type { FirSpec } from './fir.js';
import type { ConvEpilogue } from './epilogue.js';
import {
  fusedLeakyRelu,
  leakyReluGradAndBias,
  leakyReluGradFromOutput,
  noiseGrads,
  noiseBiasLeakyRelu,
  checkTailInputs,
  tailGrads,
} from '../ops/leaky-relu.js';
import { add, biasAdd, mul, scale } from '../ops/elementwise.js';
import { concat } from '../ops/indexing.js';

/**
 * Kernel choice when the caller names none: on a GPU 'fast', i.e. the tensor cores (tc2: f16 operands, f32
 * accumulation, ~2.6e-4 relative error against fp32; 95–122 TFLOP/s on the large layers of the H100) where the
 * adapter has them, else the tuned fp32 implicit GEMM (25–28 TFLOP/s; exact to f32 rounding); on a CPU adapter
 * (lavapipe) the direct kernels, whose WGSL does not depend on the shape, so a network's many shapes compile once
 * instead of once each (seconds per shape there). `ANIMGS_CONV_PATH=tuned` (or any ConvPath) or
 * setDefaultConvKernel overrides it, e.g. to reproduce fp32 results exactly. Every path is tested against the
 * float64 reference; mixed-precision training was checked against fp32 (bench tc-training).
 */
function kernelOptions(k: ConvKernelOptions | undefined): ConvKernelOptions {
  if (k?.path) return k;
  return { ...defaults, ...k, path: defaults?.path ?? envPath() ?? (gpu().info.kind === 'cpu' ? 'direct' : 'fast') };
}

function envPath(): ConvPath | undefined {
  const v = typeof process === 'undefined' ? undefined : process.env?.ANIMGS_CONV_PATH;
  if (!v) return undefined;
  if (!(CONV_PATHS as readonly string[]).includes(v))
    throw new Error(`ANIMGS_CONV_PATH=${v}: expected one of ${CONV_PATHS.join(', ')}`);
  return v as ConvPath;
}

let defaults: ConvKernelOptions | null = null;

/**
 * Kernel options for every convolution that names no path (null restores the default), e.g. a whole network on
 * the tensor cores (`{ path: 'tc2' }`) to compare its training against fp32. Returns the previous setting.
 */
export function setDefaultConvKernel(opts: ConvKernelOptions | null): ConvKernelOptions | null {
  const prev = defaults;
  defaults = opts;
  return prev;
}

function nchw(x: Tensor, op: string): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got [${x.shape.join(', ')}]`);
  return x.shape as unknown as [number, number, number, number];
}

/** conv2d(x [N,Cin,H,W], w [Cout,Cin,kh,kw]) + bias [Cout]. */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null = null,
  opts: Conv2dOptions & { kernel?: ConvKernelOptions } = {},
): Tensor {
  const g = conv2dGeometry(x.shape, w.shape, opts);
  const kopts = kernelOptions(opts.kernel);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.cout)) throw new Error(`conv2d: bias must be [${g.cout}]`);
  const y = Tensor.empty([g.n, g.cout, g.ho, g.wo]);
  conv2dForwardRaw(gpu(), g, x.buffer, w.buffer, bias?.buffer ?? null, y.buffer, kopts);
  return record({
    name: 'conv2d',
    inputs: [x, w, bias],
    output: y,
    save: [x, w],
    backward: (gy, [xs, ws], needs) => conv2dGrads(g, gy, xs!, ws!, needs, kopts),
  });
}

/** Input, weight and bias gradients of conv2d for the output gradient gy (each only where needed). */
function conv2dGrads(
  g: Conv2dGeom,
  gy: Tensor,
  x: Tensor,
  w: Tensor,
  needs: readonly boolean[],
  kopts: ConvInputGradOptions,
  gyScale: GPUBuffer | null = null,
): [Tensor | null, Tensor | null, Tensor | null] {
  let gx: Tensor | null = null;
  let gw: Tensor | null = null;
  let gb: Tensor | null = null;
  const { opts, done } = withGradScale(gy, kopts, needs[0]! || needs[1]!, gyScale);
  if (needs[0]) {
    gx = Tensor.empty(x.shape);
    conv2dBackwardInputRaw(gpu(), g, gy.buffer, w.buffer, gx.buffer, opts);
  }
  if (needs[1]) {
    gw = Tensor.empty(w.shape);
    // with a folded weight scale (tc2 only) the gradient is of the raw weight: scaled as the GEMM stores it
    conv2dBackwardWeightRaw(gpu(), g, x.buffer, gy.buffer, gw.buffer, { ...opts, outScale: kopts.weightScale });
  }
  done();
  if (needs[2]) {
    gb = Tensor.empty([g.cout]);
    conv2dBackwardBiasRaw(gpu(), g, gy.buffer, gb.buffer);
  }
  return [gx, gw, gb];
}

/**
 * On the paths that round gradients to f16 (tc2), the options with gy's range scale (f16-range.ts; one scale for
 * the input and the weight gradient; `given` where the pass that made gy took its maxima), and `done` to release
 * it once their dispatches are recorded.
 */
function withGradScale(
  gy: Tensor,
  kopts: ConvInputGradOptions,
  wanted: boolean,
  given: GPUBuffer | null = null,
): { opts: ConvInputGradOptions; done: () => void } {
  if (!wanted || !runsTc2(gpu(), kopts)) {
    return { opts: kopts, done: () => given && gpu().pool.release(given) };
  }
  const s = given ?? f16RangeScale(gpu(), gy.buffer, gy.size);
  return { opts: { ...kopts, gradScale: s }, done: () => gpu().pool.release(s) };
}

export interface Conv2dFusedOptions extends Conv2dOptions {
  kernel?: ConvKernelOptions;
  /** NoiseInjection before the bias: + strength[0] · noise, noise [1 or N, 1, Ho, Wo] broadcast over channels. */
  noise?: { noise: Tensor; strength: Tensor };
  /** FusedLeakyReLU after the bias: leaky ReLU(0.2)·√2. */
  lrelu?: boolean;
  /**
   * Convolve with weightScale·w (EqualConv2d's 1/√fan_in; w's gradient gets the factor too). On the tc2 paths the
   * scale is applied while the weights are converted to f16 (one dispatch less per call); elsewhere it is a
   * separate scale op.
   */
  weightScale?: number;
  /**
   * Added to the result last (after the activation): a tensor of the output's shape. Without gradients to record
   * (inference) it is read by the conv's epilogue, so the sum costs no dispatch and no extra pass over the output;
   * while recording, and on 'direct', it is a separate add (the backward's activation gradient reads the
   * activation's output, which the sum would overwrite).
   */
  residual?: Tensor;
  /**
   * More input channels: the conv runs on concat([x, concat], 1). Without gradients to record, the patch-staged
   * tensor-core GEMMs read both tensors (no concatenated copy is written: conv2d-raw.ts `concat`); while recording,
   * and on 'direct', it is the concat op and the conv.
   */
  concat?: Tensor;
}

/** Whether `conv2dFused` runs as one dispatch for these kernel options (every GEMM path; not 'direct'). */
export function convEpilogueSupported(k?: ConvKernelOptions): boolean {
  return kernelOptions(k).path !== 'direct';
}

/**
 * StyleGAN2's conv tail in one op: y = lrelu?(conv2d(x, w) + strength·noise + bias)·√2, i.e. the composition
 * `fusedLeakyRelu(noiseInjection(conv2d(x, w), strength, noise), bias)` (or `biasAdd` without lrelu). On the GEMM
 * paths the forward is ONE convolution dispatch with the fused epilogue (epilogue.ts); on 'direct' (the CPU
 * default) it runs that composition of ops. Backward: gt = gy·lrelu'(y)·√2 (sign from the saved output, slope at
 * y = 0 like FusedLeakyReLU), gbias = Σ_{n,h,w} gt, gstrength = Σ gt·noise, gnoise = strength·Σ_c gt, and the
 * convolution's input / weight gradients of gt.
 */
export function conv2dFused(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dFusedOptions = {}): Tensor {
  const res = opts.residual;
  const more = opts.concat;
  const recording = needsGrad([x, w, bias, opts.noise?.noise, opts.noise?.strength, res, more]);
  if (more && (recording || !convEpilogueSupported(opts.kernel)))
    return conv2dFused(concat([x, more], 1), w, bias, { ...opts, concat: undefined });
  if (res && (recording || !convEpilogueSupported(opts.kernel)))
    return add(conv2dFused(x, w, bias, { ...opts, residual: undefined }), res);
  const base = kernelOptions(opts.kernel);
  const c = opts.weightScale ?? 1;
  if (c !== 1 && !runsTc2(gpu(), base)) {
    return conv2dFused(x, scale(w, c), bias, { ...opts, weightScale: undefined });
  }
  const kopts: ConvInputGradOptions = c !== 1 ? { ...base, weightScale: c } : base;
  const { noise, lrelu } = opts;
  if (kopts.path === 'direct') {
    let y = conv2d(x, w, null, { ...opts, kernel: kopts });
    if (noise) y = add(y, mul(noise.strength, noise.noise)); // NoiseInjection
    if (lrelu) return fusedLeakyRelu(y, bias);
    return bias ? biasAdd(y, bias) : y;
  }
  if (more && (more.rank !== 4 || x.rank !== 4 || [0, 2, 3].some((d) => more.shape[d] !== x.shape[d])))
    throw new Error(`conv2dFused: cannot concatenate [${more.shape}] to the input [${x.shape}] along channels`);
  const xShape = more ? [x.shape[0]!, x.shape[1]! + more.shape[1]!, x.shape[2]!, x.shape[3]!] : x.shape;
  const g = conv2dGeometry(xShape, w.shape, opts);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.cout)) throw new Error(`conv2dFused: bias must be [${g.cout}]`);
  let perSample = false;
  if (noise) {
    const ns = noise.noise.shape;
    if (ns.length !== 4 || ns[1] !== 1 || ns[2] !== g.ho || ns[3] !== g.wo || (ns[0] !== 1 && ns[0] !== g.n)) {
      throw new Error(`conv2dFused: noise must be [1 or ${g.n}, 1, ${g.ho}, ${g.wo}], got [${ns.join(', ')}]`);
    }
    if (noise.strength.size !== 1) throw new Error('conv2dFused: noise strength must have one value');
    perSample = ns[0] !== 1;
  }
  if (res && !sameShape(res.shape, [g.n, g.cout, g.ho, g.wo]))
    throw new Error(`conv2dFused: the residual [${res.shape}] should be [${[g.n, g.cout, g.ho, g.wo]}]`);
  const epilogue: ConvEpilogue = {
    noise: noise ? { noise: noise.noise.buffer, strength: noise.strength.buffer, perSample } : undefined,
    lrelu: !!lrelu,
    residual: res?.buffer,
  };
  const y = Tensor.empty([g.n, g.cout, g.ho, g.wo]);
  const cat = more ? { buffer: more.buffer, channels: more.shape[1]! } : undefined;
  conv2dForwardRaw(gpu(), g, x.buffer, w.buffer, bias?.buffer ?? null, y.buffer, { ...kopts, epilogue, concat: cat });
  return record({
    name: 'conv2d_fused',
    inputs: [x, w, bias, noise?.noise, noise?.strength],
    output: y,
    save: [x, w, ...(lrelu ? [y] : []), ...(noise ? [noise.noise, noise.strength] : [])],
    backward: (gy, saved, needs) => {
      const [xs, ws] = saved;
      let k = 2;
      const ys = lrelu ? saved[k++]! : null;
      const ns = noise ? saved[k++]! : null;
      const ss = noise ? saved[k++]! : null;
      // With the activation, its gradient, the bias gradient and (on the tensor cores) the f16 range of the
      // gradient come out of one pass (bias-grad.ts).
      const range = (needs[0]! || needs[1]!) && runsTc2(gpu(), kopts);
      // the noise strength's gradient comes out of the bias gradient's pass when the noise itself needs none
      const fuseNoise = !!noise && needs[4]! && !needs[3];
      const [gt, gbFused, gtScale, gsFused] =
        ys && needs[2]
          ? leakyReluGradAndBias(gy, ys, { range, noise: fuseNoise ? ns! : undefined })
          : [ys ? leakyReluGradFromOutput(gy, ys) : gy, null, null, null];
      const needsConv = gbFused ? [needs[0]!, needs[1]!, false] : needs;
      const [gx, gw, gbConv] = conv2dGrads(g, gt, xs!, ws!, needsConv, kopts, gtScale);
      const gb = gbFused ?? gbConv;
      const [gn, gs] = gsFused
        ? [null, Tensor.view(gsFused, ss!.shape)]
        : noise
          ? noiseGrads(gt, ns!, ss!, needs[3]!, needs[4]!)
          : [null, null];
      return [gx, gw, gb, gn, gs];
    },
  });
}

/** conv_transpose2d(x [N,Cin,H,W], w [Cin,Cout,kh,kw]) + bias [Cout], PyTorch semantics. */
export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose2dOptions & { kernel?: ConvKernelOptions } = {},
): Tensor {
  const t = convTranspose2dGeometry(x.shape, w.shape, opts);
  const kopts = kernelOptions(opts.kernel);
  const y = Tensor.empty([t.n, t.cout, t.hout, t.wout]);
  convTranspose2dForwardRaw(gpu(), t, x.buffer, w.buffer, bias?.buffer ?? null, y.buffer, kopts);
  return record({
    name: 'conv_transpose2d',
    inputs: [x, w, bias],
    output: y,
    save: [x, w],
    backward: (gy, [xs, ws], needs) => {
      let gx: Tensor | null = null;
      let gw: Tensor | null = null;
      let gb: Tensor | null = null;
      const { opts, done } = withGradScale(gy, kopts, needs[0]! || needs[1]!);
      if (needs[0]) {
        gx = Tensor.empty(x.shape);
        convTranspose2dBackwardInputRaw(gpu(), t, gy.buffer, ws!.buffer, gx.buffer, opts);
      }
      if (needs[1]) {
        gw = Tensor.empty(w.shape);
        convTranspose2dBackwardWeightRaw(gpu(), t, xs!.buffer, gy.buffer, gw.buffer, opts);
      }
      done();
      if (needs[2]) {
        gb = Tensor.empty([t.cout]);
        convTranspose2dBackwardBiasRaw(gpu(), t, gy.buffer, gb.buffer);
      }
      return [gx, gw, gb];
    },
  });
}

/** upfirdn2d with a constant FIR (blur, up/downsample), per channel. */
export function upfirdn2d(x: Tensor, fir: FirSpec): Tensor {
  const [n, c, h, w] = nchw(x, 'upfirdn2d');
  const g = upfirdnGeometry(n * c, h, w, fir.kh, fir.kw, fir.opts);
  const k = constantBuffer(gpu(), fir.kernel);
  const y = Tensor.empty([n, c, g.ho, g.wo]);
  upfirdn2dRaw(gpu(), g, x.buffer, k, y.buffer);
  return record({
    name: 'upfirdn2d',
    inputs: [x],
    output: y,
    backward: (gy) => {
      const gx = Tensor.empty(x.shape);
      upfirdn2dAdjointRaw(gpu(), g, gy.buffer, k, gx.buffer);
      return [gx];
    },
  });
}

/**
 * The upsampling StyledConv's blur and tail: noiseBiasLeakyRelu(upfirdn2d(x, fir), noise, strength, bias), on GPUs
 * as one tiled kernel (the tail is the output epilogue); on the 'direct' upfirdn path (CPU adapters) as the two ops.
 * `opts` picks the upfirdn path and block (tests).
 */
export function upfirdn2dTail(
  x: Tensor,
  fir: FirSpec,
  noise: Tensor,
  strength: Tensor,
  bias: Tensor,
  opts: { path?: UpfirdnPath; block?: readonly [number, number] } = {},
): Tensor {
  if (pathOf(gpu(), opts) === 'direct') return noiseBiasLeakyRelu(upfirdn2d(x, fir), noise, strength, bias);
  const [n, c, h, w] = nchw(x, 'upfirdn2dTail');
  const g = upfirdnGeometry(n * c, h, w, fir.kh, fir.kw, fir.opts);
  const shape = [n, c, g.ho, g.wo];
  const perSample = checkTailInputs('upfirdn2dTail', shape, noise, strength, bias);
  const k = constantBuffer(gpu(), fir.kernel);
  const y = Tensor.empty(shape);
  const tail = { noise: noise.buffer, strength: strength.buffer, bias: bias.buffer, perSample };
  upfirdn2dTailRaw(gpu(), g, c, x.buffer, k, y.buffer, tail, opts.block);
  return record({
    name: 'upfirdn2d_tail',
    inputs: [x, noise, strength, bias],
    output: y,
    save: [y, noise, strength],
    backward: (gy, [ys, nz, st], needs) => {
      const { gt, gn, gs, gb } = tailGrads(gy, ys!, nz!, st!, needs);
      let gx: Tensor | null = null;
      if (needs[0]) {
        gx = Tensor.empty(x.shape);
        upfirdn2dAdjointRaw(gpu(), g, gt.buffer, k, gx.buffer, opts);
      }
      return [gx, gn, gs, gb];
    },
  });
}

/**
 * The ToRGB skip in one kernel: (add +) haarDwt(upfirdn2d(haarIwt(s), 2× upsample, [1,3,3,1])) for s [N, 4C, h, w]
 * → [N, 4C, 2h, 2w] (haar-skip.ts); `add` (that shape, or null) is the residual it is added to.
 */
export function haarSkipUpsample(s: Tensor, add: Tensor | null = null): Tensor {
  const [n, c4, h, w] = nchw(s, 'haarSkipUpsample');
  if (c4 % 4) throw new Error(`haarSkipUpsample: channels ${c4} not a multiple of 4`);
  const shape = [n, c4, 2 * h, 2 * w];
  if (add && !sameShape(add.shape, shape))
    throw new Error(`haarSkipUpsample: the residual [${add.shape}] should be [${shape}]`);
  const y = Tensor.empty(shape);
  haarSkipRaw(gpu(), n, c4 / 4, h, w, s.buffer, y.buffer, add?.buffer ?? null);
  return record({
    name: 'haar_skip',
    inputs: [s, add],
    output: y,
    backward: (gy, _saved, needs) => {
      let gs: Tensor | null = null;
      if (needs[0]) {
        gs = Tensor.empty(s.shape);
        haarSkipAdjointRaw(gpu(), n, c4 / 4, h, w, gy.buffer, gs.buffer);
      }
      return [gs, needs[1] ? gy : null];
    },
  });
}

/** Haar DWT: [N,C,H,W] → [N,4C,H/2,W/2] (sub-bands ll, lh, hl, hh). */
export function haarDwt(x: Tensor): Tensor {
  const [n, c, h, w] = nchw(x, 'haarDwt');
  const y = Tensor.empty([n, 4 * c, h >> 1, w >> 1]);
  haarDwtRaw(gpu(), n, c, h, w, x.buffer, y.buffer);
  return record({
    name: 'haar_dwt',
    inputs: [x],
    output: y,
    backward: (gy) => {
      const gx = Tensor.empty(x.shape);
      haarDwtBackwardRaw(gpu(), n, c, h, w, gy.buffer, gx.buffer);
      return [gx];
    },
  });
}

/** Haar IWT: [N,4C,H,W] → [N,C,2H,2W]. */
export function haarIwt(x: Tensor): Tensor {
  const [n, c4, h, w] = nchw(x, 'haarIwt');
  if (c4 % 4) throw new Error(`haarIwt: channels ${c4} not a multiple of 4`);
  const c = c4 / 4;
  const y = Tensor.empty([n, c, 2 * h, 2 * w]);
  haarIwtRaw(gpu(), n, c, h, w, x.buffer, y.buffer);
  return record({
    name: 'haar_iwt',
    inputs: [x],
    output: y,
    backward: (gy) => {
      const gx = Tensor.empty(x.shape);
      haarIwtBackwardRaw(gpu(), n, c, h, w, gy.buffer, gx.buffer);
      return [gx];
    },
  });
}

/**
 * StyleGAN2 modulated (and optionally demodulated) weight for one style s [Cin] (the constant-style case: every
 * sample of the batch shares it): w'' [Cout,Cin,kh,kw] = w·s/√(Cin·kh·kw), times 1/√(Σw'²+1e-8) per output channel;
 * `transposed`: w'' as [Cin,Cout,kh,kw] (conv_transpose2d's weight layout) in the same pass.
 */
export function modulate(w: Tensor, s: Tensor, demodulate: boolean, transposed = false): Tensor {
  if (w.rank !== 4) throw new Error(`modulate: weight must be [Cout, Cin, kh, kw], got [${w.shape.join(', ')}]`);
  const [cout, cin, kh, kw] = w.shape as unknown as [number, number, number, number];
  if (s.size !== cin) throw new Error(`modulate: style has ${s.size} values for ${cin} input channels`);
  const m = { n: 1, cout, cin, kh, kw, demodulate };
  const wm = Tensor.empty(transposed ? [cin, cout, kh, kw] : w.shape);
  const d = Tensor.empty([cout]);
  modulateRaw(gpu(), m, w.buffer, s.buffer, wm.buffer, d.buffer, transposed);
  return record({
    name: 'modulate',
    inputs: [w, s],
    output: wm,
    save: [w, s, d],
    backward: (g, [ws, ss, ds]) => {
      const gw = Tensor.empty(w.shape);
      const gs = Tensor.empty(s.shape);
      modulateBackwardRaw(gpu(), m, ws!.buffer, ss!.buffer, ds!.buffer, g.buffer, gw.buffer, gs.buffer, transposed);
      return [gw, gs];
    },
  });
}

/** 2×2 max pool, stride 2. */
export function maxPool2(x: Tensor): Tensor {
  const [n, c, h, w] = nchw(x, 'maxPool2');
  const y = Tensor.empty([n, c, h >> 1, w >> 1]);
  maxPool2Raw(gpu(), n * c, h, w, x.buffer, y.buffer);
  return record({
    name: 'maxpool2',
    inputs: [x],
    output: y,
    save: [x],
    backward: (gy, [xs]) => {
      const gx = Tensor.empty(x.shape);
      maxPool2BackwardRaw(gpu(), n * c, h, w, xs!.buffer, gy.buffer, gx.buffer);
      return [gx];
    },
  });
}

/** Depthwise separable correlation with a 1-D window along rows then columns ('valid' or zero-padded 'same'). */
export function separableFilter(x: Tensor, window: ArrayLike<number>, padding: SeparablePadding): Tensor {
  const [n, c, h, w] = nchw(x, 'separableFilter');
  const [, gCols] = separableGeoms(n * c, h, w, window.length, padding);
  const y = Tensor.empty([n, c, gCols.ho, gCols.wo]);
  separableFilterRaw(gpu(), n * c, h, w, window, padding, x.buffer, y.buffer);
  return record({
    name: 'separable_filter',
    inputs: [x],
    output: y,
    backward: (gy) => {
      const gx = Tensor.empty(x.shape);
      separableFilterBackwardRaw(gpu(), n * c, h, w, window, padding, gy.buffer, gx.buffer);
      return [gx];
    },
  });
}
