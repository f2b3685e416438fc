/**
 * Fused epilogues of the forward convolution (StyleGAN2's StyledConv / ConvLayer tail), applied per output
 * element y[b, c, p] right where the GEMM stores it (or after the split-K sum):
 *   t = v · demod[b, c]            (demodulation, when the weights are modulated but not demodulated)
 *   t += strength[0] · noise[b|0, p]  (NoiseInjection; the noise image is shared across the batch unless perSample)
 *   t += bias[c]
 *   t = leaky_relu(t, 0.2) · √2    (FusedLeakyReLU)
 *   t += residual[b, c, p]          (a tensor of the output's shape added last: the encoder's FromRGB sum)
 * The constant style modulation is folded into the weights beforehand (modulateRaw with n = 1: w·scale·s·d,
 * once per step), so the GEMM itself sees plain weights.
 */
import { LRELU_GAIN, LRELU_SLOPE } from '../ops/leaky-relu.js';

export interface ConvEpilogue {
  /** d [n, cout]: y ·= d[b, c]. */
  demod?: GPUBuffer;
  /** y += strength[0] · noise[b, p] (perSample) or noise[p]; noise has ho·wo (·n) values. */
  noise?: { noise: GPUBuffer; strength: GPUBuffer; perSample?: boolean };
  /** leaky ReLU (slope 0.2) times √2 after the bias. */
  lrelu?: boolean;
  /**
   * y += residual[b, c, p] after everything else (same shape as y; not y's own buffer): an add of the conv's output
   * to another tensor without writing and re-reading the output in a separate add.
   */
  residual?: GPUBuffer;
}

export function hasEpilogue(e: ConvEpilogue): boolean {
  return !!(e.demod || e.noise || e.lrelu || e.residual);
}

/** Buffers the epilogue binds, in binding order after the GEMM's inputs: bias, demod, noise, strength, residual. */
export function epilogueBuffers(bias: GPUBuffer | null, e: ConvEpilogue): GPUBuffer[] {
  const out: GPUBuffer[] = [];
  if (bias) out.push(bias);
  if (e.demod) out.push(e.demod);
  if (e.noise) out.push(e.noise.noise, e.noise.strength);
  if (e.residual) out.push(e.residual);
  return out;
}

/**
 * WGSL bindings (from binding `first`) and `fn epi(b, c, p, v) -> f32`; needs the constants COUT and HOWO.
 * `key` names the variant for source caches.
 */
export function epilogueWgsl(bias: boolean, e: ConvEpilogue, first: number): { decl: string; fn: string; key: string } {
  let bind = first;
  const decl: string[] = [];
  const body: string[] = [];
  const ro = (name: string) => decl.push(`@group(0) @binding(${bind++}) var<storage, read> ${name}: array<f32>;`);
  if (bias) ro('EpiBias');
  if (e.demod) {
    ro('EpiDemod');
    body.push('t = t * EpiDemod[b * COUT + c];');
  }
  if (e.noise) {
    ro('EpiNoise');
    ro('EpiNoiseW');
    body.push(`t = fma(EpiNoiseW[0], EpiNoise[${e.noise.perSample ? 'b * HOWO + p' : 'p'}], t);`);
  }
  if (bias) body.push('t = t + EpiBias[c];');
  if (e.lrelu) body.push(`t = select(t * ${LRELU_SLOPE}, t, t >= 0.0) * ${LRELU_GAIN};`);
  if (e.residual) {
    ro('EpiRes');
    body.push('t = t + EpiRes[(b * COUT + c) * HOWO + p];');
  }
  const key = `${bias ? 'b' : ''}${e.demod ? 'd' : ''}${e.noise ? (e.noise.perSample ? 'N' : 'n') : ''}${e.lrelu ? 'a' : ''}${e.residual ? 'r' : ''}`;
  return {
    decl: decl.join('\n'),
    fn: `fn epi(b: u32, c: u32, p: u32, v: f32) -> f32 {\n  var t = v;\n  ${body.join('\n  ')}\n  return t;\n}`,
    key,
  };
}

/** The options of a single-pass f32 conv kernel (narrow1x1.ts, shallow.ts). */
export interface F32PassOptions {
  epilogue?: ConvEpilogue;
  weightScale?: number;
}

/**
 * The epilogue of a single-pass f32 conv kernel (narrow1x1.ts, shallow.ts: x and w at bindings 0 and 1, the
 * epilogue's buffers from binding 2, the output after them) and the weight scale it folds into the weights.
 */
export function f32PassEpilogue(
  bias: GPUBuffer | null,
  opts: F32PassOptions,
): { e: ReturnType<typeof epilogueWgsl>; extra: GPUBuffer[]; scale: number } {
  const epi = opts.epilogue ?? {};
  return { e: epilogueWgsl(bias !== null, epi, 2), extra: epilogueBuffers(bias, epi), scale: opts.weightScale ?? 1 };
}

/** Float64 reference of the epilogue on y [n, c, hw] (in place). */
export function epilogueRef(
  y: Float64Array,
  n: number,
  c: number,
  hw: number,
  opts: {
    bias?: ArrayLike<number> | null;
    demod?: ArrayLike<number>;
    noise?: { noise: ArrayLike<number>; strength: number; perSample?: boolean };
    lrelu?: boolean;
    residual?: ArrayLike<number>;
  },
): Float64Array {
  for (let b = 0; b < n; b++)
    for (let o = 0; o < c; o++)
      for (let p = 0; p < hw; p++) {
        const i = (b * c + o) * hw + p;
        let t = y[i]!;
        if (opts.demod) t *= opts.demod[b * c + o]!;
        if (opts.noise) t += opts.noise.strength * opts.noise.noise[opts.noise.perSample ? b * hw + p : p]!;
        if (opts.bias) t += opts.bias[o]!;
        if (opts.lrelu) t = (t >= 0 ? t : t * LRELU_SLOPE) * LRELU_GAIN;
        if (opts.residual) t += opts.residual[i]!;
        y[i] = t;
      }
  return y;
}
