/**
 * Float64 twins of the VGG16 trunk and LPIPS (the oracles of vgg.ts and lpips.ts): plain loops over NCHW arrays.
 * The channel normalisation is the textbook x / (√Σx² + eps).
 */
import { conv2dGeometry } from '../tensor/conv/geometry.js';
import { conv2dRef, maxPool2Ref } from '../tensor/reference/conv.js';
import { vggConvs, VGG16_WIDTHS } from './vgg.js';
import { LPIPS_EPS, LPIPS_SCALE, LPIPS_SHIFT, lpipsLinEntries } from './lpips.js';

type Arr = ArrayLike<number>;

export interface FeatureRef {
  data: Float64Array;
  /** [N, C, H, W] */
  shape: [number, number, number, number];
}

/** The five taps of the VGG trunk for x [n, 3, h, w]; `values` holds the state dict (`vggEntries` keys). */
export function vggFeaturesRef(
  values: ReadonlyMap<string, Arr>,
  x: Arr,
  [n, , h0, w0]: readonly number[],
  widths = VGG16_WIDTHS,
): FeatureRef[] {
  const taps: FeatureRef[] = [];
  let cur: FeatureRef = { data: Float64Array.from(x), shape: [n!, 3, h0!, w0!] };
  for (const c of vggConvs(widths)) {
    if (taps.length > 0 && cur === taps[taps.length - 1]) {
      const [, ch, h, w] = cur.shape;
      cur = { data: maxPool2Ref(n! * ch, h, w, cur.data), shape: [n!, ch, h >> 1, w >> 1] };
    }
    const wShape = [c.cout, c.cin, 3, 3];
    const g = conv2dGeometry(cur.shape, wShape, { padding: 1 });
    const y = conv2dRef(g, cur.data, values.get(`${c.name}.weight`)!, values.get(`${c.name}.bias`)!);
    for (let i = 0; i < y.length; i++) y[i] = Math.max(y[i]!, 0);
    cur = { data: y, shape: [n!, c.cout, g.ho, g.wo] };
    if (c.tap >= 0) taps.push(cur);
  }
  return taps;
}

/** The VGG input of an image [n, 3, h, w] in [0, 1]: 2x − 1, then the scaling layer. */
export function lpipsInputRef(img: Arr, [, , h, w]: readonly number[]): Float64Array {
  const out = new Float64Array(img.length);
  for (let i = 0; i < img.length; i++) {
    const c = Math.floor(i / (h! * w!)) % 3;
    out[i] = (2 * img[i]! - 1 - LPIPS_SHIFT[c]!) / LPIPS_SCALE[c]!;
  }
  return out;
}

/** LPIPS per image for pred and target [n, 3, h, w] in [0, 1]; `lin` holds the heads (`lpipsLinEntries` keys). */
export function lpipsRef(
  vgg: ReadonlyMap<string, Arr>,
  lin: ReadonlyMap<string, Arr>,
  pred: Arr,
  target: Arr,
  shape: readonly number[],
  widths = VGG16_WIDTHS,
): Float64Array {
  const n = shape[0]!;
  const fa = vggFeaturesRef(vgg, lpipsInputRef(pred, shape), shape, widths);
  const fb = vggFeaturesRef(vgg, lpipsInputRef(target, shape), shape, widths);
  const heads = lpipsLinEntries(widths).map((e) => lin.get(e.name)!);
  const out = new Float64Array(n);
  fa.forEach((a, k) => {
    const b = fb[k]!;
    const [, ch, fh, fw] = a.shape;
    const hw = fh * fw;
    for (let b0 = 0; b0 < n; b0++)
      for (let p = 0; p < hw; p++) {
        let na = 0;
        let nb = 0;
        for (let c = 0; c < ch; c++) {
          na += a.data[(b0 * ch + c) * hw + p]! ** 2;
          nb += b.data[(b0 * ch + c) * hw + p]! ** 2;
        }
        na = Math.sqrt(na) + LPIPS_EPS;
        nb = Math.sqrt(nb) + LPIPS_EPS;
        let s = 0;
        for (let c = 0; c < ch; c++) {
          const i = (b0 * ch + c) * hw + p;
          s += heads[k]![c]! * (a.data[i]! / na - b.data[i]! / nb) ** 2;
        }
        out[b0]! += s / hw;
      }
  });
  return out;
}
