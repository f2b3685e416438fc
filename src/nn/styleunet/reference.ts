/**
 * The DualStyleUNet forward pass in float64 on the CPU: the oracle the GPU network is tested against (tiny channel
 * tables only; the full network is ~229 GMAC). Built from the float64 references of the convolution family, layer
 * by layer as the original network computes it, with the state-dict names of spec.ts.
 */
import { conv2dGeometry, convTranspose2dGeometry } from '../../tensor/conv/geometry.js';
import { upfirdnGeometry } from '../../tensor/conv/upfirdn-geometry.js';
import { conv2dRef, convTranspose2dRef, modulateRef } from '../../tensor/reference/conv.js';
import { axisTaps, resizeRef } from '../../tensor/reference/resize.js';
import { blurKernel, haarDwtRef, haarIwtRef, upfirdn2dRef } from '../../tensor/reference/upfirdn.js';
import { styleUnetSpec, type StyleUnetConfig } from './spec.js';
import { COMB_CONCAT_ORDER, LRELU_GAIN, LRELU_SLOPE, MAPPING_LR_MUL, blurPad } from './constants.js';

export type Params = ReadonlyMap<string, ArrayLike<number>>;

/** A float64 activation: [n, c, h, w]. */
export interface F64 {
  data: Float64Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

function get(p: Params, name: string): ArrayLike<number> {
  const v = p.get(name);
  if (!v) throw new Error(`DualStyleUNet reference: missing parameter '${name}'`);
  return v;
}

function fusedLrelu(x: F64, bias: ArrayLike<number>): F64 {
  const out = new Float64Array(x.data.length);
  const hw = x.h * x.w;
  for (let b = 0; b < x.n; b++)
    for (let c = 0; c < x.c; c++)
      for (let i = 0; i < hw; i++) {
        const j = (b * x.c + c) * hw + i;
        const v = x.data[j]! + bias[c]!;
        out[j] = (v >= 0 ? v : v * LRELU_SLOPE) * LRELU_GAIN;
      }
  return { ...x, data: out };
}

function scaled(w: ArrayLike<number>, s: number): Float64Array {
  return Float64Array.from(w as ArrayLike<number>, (v) => v * s);
}

function blur(x: F64, kernel: ArrayLike<number>, pad: [number, number], down = 1, up = 1): F64 {
  const g = upfirdnGeometry(x.n * x.c, x.h, x.w, 4, 4, { up, down, pad });
  return { data: upfirdn2dRef(g, x.data, kernel), n: x.n, c: x.c, h: g.ho, w: g.wo };
}

/** EqualConv2d (no bias) + optional blur-downsample first, as ConvLayer; then FusedLeakyReLU with `bias`. */
function convLayer(p: Params, x: F64, prefix: string, k: number, downsample: boolean): F64 {
  let input = x;
  let wName = `${prefix}.0.weight`;
  let bName = `${prefix}.1.bias`;
  if (downsample) {
    input = blur(x, get(p, `${prefix}.0.kernel`), blurPad(4, 2, k));
    wName = `${prefix}.1.weight`;
    bName = `${prefix}.2.bias`;
  }
  const w = get(p, wName);
  const cout = w.length / (x.c * k * k);
  const g = conv2dGeometry([input.n, input.c, input.h, input.w], [cout, x.c, k, k], {
    stride: downsample ? 2 : 1,
    padding: downsample ? 0 : k >> 1,
  });
  const y = conv2dRef(g, input.data, scaled(w, 1 / Math.sqrt(x.c * k * k)));
  return fusedLrelu({ data: y, n: x.n, c: cout, h: g.ho, w: g.wo }, get(p, bName));
}

/** The style vector: constant ones/√dim through PixelNorm and the mapping MLP (n_mlp EqualLinear + fused lrelu). */
export function styleRef(p: Params, config: StyleUnetConfig): Float64Array {
  const d = config.styleDim;
  let x: Float64Array = new Float64Array(d).fill(1 / Math.sqrt(d));
  let ms = 0;
  for (const v of x) ms += v * v;
  const norm = 1 / Math.sqrt(ms / d + 1e-8);
  x = x.map((v) => v * norm);
  for (let l = 1; l <= config.nMlp; l++) {
    const w = get(p, `style.${l}.weight`);
    const b = get(p, `style.${l}.bias`);
    const scale = MAPPING_LR_MUL / Math.sqrt(d);
    const y = new Float64Array(d);
    for (let o = 0; o < d; o++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += w[o * d + i]! * scale * x[i]!;
      const v = s + b[o]! * MAPPING_LR_MUL;
      y[o] = (v >= 0 ? v : v * LRELU_SLOPE) * LRELU_GAIN;
    }
    x = y;
  }
  return x;
}

/** Modulation: s = EqualLinear(style → cin) (lr_mul 1), bias added unscaled. */
function modulation(p: Params, prefix: string, style: Float64Array, cin: number): Float64Array {
  const w = get(p, `${prefix}.modulation.weight`);
  const b = get(p, `${prefix}.modulation.bias`);
  const d = style.length;
  const s = new Float64Array(cin);
  for (let i = 0; i < cin; i++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += w[i * d + j]! * style[j]!;
    s[i] = acc / Math.sqrt(d) + b[i]!;
  }
  return s;
}

/** ModulatedConv2d for batch n with the same style for every sample (the constant-style case). */
function modConv(
  p: Params,
  x: F64,
  prefix: string,
  style: Float64Array,
  cout: number,
  k: number,
  demodulate: boolean,
  upsample: boolean,
): F64 {
  const s = modulation(p, prefix, style, x.c);
  const { wm } = modulateRef({ n: 1, cout, cin: x.c, kh: k, kw: k, demodulate }, get(p, `${prefix}.weight`), s);
  if (!upsample) {
    const g = conv2dGeometry([x.n, x.c, x.h, x.w], [cout, x.c, k, k], { padding: k >> 1 });
    return { data: conv2dRef(g, x.data, wm), n: x.n, c: cout, h: g.ho, w: g.wo };
  }
  // conv_transpose2d takes [cin, cout, k, k]: transpose the modulated weight's first two axes.
  const wt = new Float64Array(wm.length);
  const kk = k * k;
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < x.c; i++)
      for (let j = 0; j < kk; j++) wt[(i * cout + o) * kk + j] = wm[(o * x.c + i) * kk + j]!;
  const t = convTranspose2dGeometry([x.n, x.c, x.h, x.w], [x.c, cout, k, k], { stride: 2 });
  const y: F64 = { data: convTranspose2dRef(t, x.data, wt), n: x.n, c: cout, h: t.hout, w: t.wout };
  return blur(y, get(p, `${prefix}.blur.kernel`), [1, 1]);
}

function styledConv(
  p: Params,
  x: F64,
  prefix: string,
  style: Float64Array,
  cout: number,
  up: boolean,
  noise: ArrayLike<number>,
): F64 {
  const y = modConv(p, x, `${prefix}.conv`, style, cout, 3, true, up);
  const nw = get(p, `${prefix}.noise.weight`)[0]!;
  const hw = y.h * y.w;
  for (let b = 0; b < y.n * y.c; b++) for (let i = 0; i < hw; i++) y.data[b * hw + i]! += nw * noise[i]!;
  return fusedLrelu(y, get(p, `${prefix}.activate.bias`));
}

function toRgb(p: Params, x: F64, prefix: string, style: Float64Array, rgbCh: number, skip: F64 | null): F64 {
  const y = modConv(p, x, `${prefix}.conv`, style, rgbCh, 1, false, false);
  const bias = get(p, `${prefix}.bias`);
  const hw = y.h * y.w;
  for (let b = 0; b < y.n; b++)
    for (let c = 0; c < y.c; c++) for (let i = 0; i < hw; i++) y.data[(b * y.c + c) * hw + i]! += bias[c]!;
  if (!skip) return y;
  const c = skip.c / 4;
  const img: F64 = {
    data: haarIwtRef(skip.n, c, skip.h, skip.w, skip.data),
    n: skip.n,
    c,
    h: 2 * skip.h,
    w: 2 * skip.w,
  };
  const up = blur(img, get(p, `${prefix}.upsample.kernel`), [2, 1], 1, 2);
  const sub = haarDwtRef(up.n, c, up.h, up.w, up.data);
  for (let i = 0; i < y.data.length; i++) y.data[i]! += sub[i]!;
  return y;
}

function concat(a: F64, b: F64): F64 {
  const out = new Float64Array(a.data.length + b.data.length);
  const ha = a.c * a.h * a.w;
  const hb = b.c * b.h * b.w;
  for (let n = 0; n < a.n; n++) {
    out.set(a.data.subarray(n * ha, (n + 1) * ha), n * (ha + hb));
    out.set(b.data.subarray(n * hb, (n + 1) * hb), n * (ha + hb) + ha);
  }
  return { data: out, n: a.n, c: a.c + b.c, h: a.h, w: a.w };
}

/** Bilinear resize (align_corners false) of x to h × w; x itself when it already has that size. */
function resizeTo(x: F64, h: number, w: number): F64 {
  if (x.h === h && x.w === w) return x;
  const data = resizeRef(x.data, x.n * x.c, x.h, x.w, axisTaps(x.h, h, 'bilinear'), axisTaps(x.w, w, 'bilinear'));
  return { data, n: x.n, c: x.c, h, w };
}

/**
 * Forward pass: x [n, inpCh, S, S] → [n, 2·outCh, 2S, 2S] (front then back). `view` optionally holds the view
 * features added to each decoder after the 256² level ([n, viewCh, h, w] each, front and back; resized
 * bilinearly to S/2 when they have another size, e.g. the view CNN's S/4).
 */
export function styleUnetForwardRef(config: StyleUnetConfig, p: Params, x: F64, view?: [F64, F64]): F64 {
  const spec = styleUnetSpec(config);
  const style = styleRef(p, config);
  // Encoder.
  let feat = convLayer(p, x, 'conv_in', 3, true);
  const conds: F64[] = [feat];
  let img = x;
  for (const e of spec.encoder) {
    img = blur(img, get(p, `${e.fromRgb}.downsample.kernel`), blurPad(4, 2, 1), 2);
    const rgb = convLayer(p, img, `${e.fromRgb}.conv`, 1, false);
    feat = { ...feat, data: feat.data.map((v, i) => v + rgb.data[i]!) };
    feat = convLayer(p, feat, `${e.condConv}.conv1`, 3, false);
    feat = convLayer(p, feat, `${e.condConv}.conv2`, 3, true);
    conds.push(feat);
  }
  // Two decoders.
  const outputs: F64[] = [];
  const rgbCh = 4 * config.outCh;
  spec.decoders.forEach((dec, di) => {
    let out = convLayer(p, conds[5]!, spec.start.name, 3, false);
    let skip: F64 | null = null;
    for (const lv of spec.levels) {
      if (lv.comb) {
        const cond = conds[lv.comb.condIndex]!;
        out = convLayer(
          p,
          COMB_CONCAT_ORDER === 'out-first' ? concat(out, cond) : concat(cond, out),
          lv.comb.name,
          3,
          false,
        );
      }
      for (const sc of lv.convs) {
        out = styledConv(
          p,
          out,
          `${dec.convs}.${sc.name}`,
          style,
          sc.outCh,
          sc.upsample,
          get(p, `noises.noise_${sc.noise}`),
        );
      }
      skip = toRgb(p, out, `${dec.toRgbs}.${lv.toRgb.name}`, style, rgbCh, skip);
      if (view && lv.level === spec.viewLevel) {
        const v = resizeTo(view[di]!, out.h, out.w);
        out = { ...out, data: out.data.map((a, i) => a + v.data[i]!) };
      }
    }
    const s = skip!;
    outputs.push({
      data: haarIwtRef(s.n, config.outCh, s.h, s.w, s.data),
      n: s.n,
      c: config.outCh,
      h: 2 * s.h,
      w: 2 * s.w,
    });
  });
  return concat(outputs[0]!, outputs[1]!);
}

export { blurKernel };
