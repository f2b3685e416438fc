/**
 * Fresh DualStyleUNet parameters as the reference initialises them: EqualConv/EqualLinear weights ~ N(0, 1) (their
 * 1/√fan_in scale is applied at run time; the mapping MLP's weights are N(0, 1)/lr_mul), biases 0 except the
 * modulation biases (1), noise weights 0, and the fixed buffers: blur kernels, Haar filters, noise images N(0, 1).
 */
import { blurKernel, haarFilters } from '../../tensor/reference/upfirdn.js';
import { MAPPING_LR_MUL } from './constants.js';
import type { StyleUnetSpec } from './spec.js';

/** Standard normal samples from a seeded generator (xorshift + Box–Muller), so a seed fixes the model. */
export function gaussianSampler(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function initStyleUnetParams(spec: StyleUnetSpec, seed = 1): Map<string, Float32Array> {
  const randn = gaussianSampler(seed);
  const haar = haarFilters();
  const haarByName: Record<string, Float64Array> = { ll: haar[0]!, lh: haar[1]!, hl: haar[2]!, hh: haar[3]! };
  const out = new Map<string, Float32Array>();
  for (const e of spec.entries) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    const name = e.name;
    let v: Float32Array;
    if (name.endsWith('.kernel')) {
      // Downsampling blurs keep unit gain; upsampling ones are scaled by factor² = 4.
      const up = name.includes('.blur.') || name.includes('.upsample.');
      v = Float32Array.from(blurKernel([1, 3, 3, 1], up ? 2 : 1));
    } else if (/\.(iwt|dwt)\.(ll|lh|hl|hh)$/.test(name) || /^iwt\./.test(name)) {
      v = Float32Array.from(haarByName[name.slice(-2)]!);
    } else if (name.startsWith('noises.')) {
      v = Float32Array.from({ length: size }, randn);
    } else if (name.endsWith('modulation.bias')) {
      v = new Float32Array(size).fill(1);
    } else if (name.endsWith('.weight') && !name.endsWith('noise.weight')) {
      const scale = name.startsWith('style.') ? 1 / MAPPING_LR_MUL : 1;
      v = Float32Array.from({ length: size }, () => randn() * scale);
    } else {
      v = new Float32Array(size); // biases, noise weights
    }
    out.set(name, v);
  }
  return out;
}
