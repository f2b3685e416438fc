/**
 * Float64 twin of cropResize (ops/crop-resize.ts): a square window of a [C, H, W] image, resampled bilinearly
 * (F.interpolate 'bilinear', align_corners=False, no antialias: two taps per axis, from axisTaps) to out × out;
 * window pixels outside the image take the fill colour.
 */
import { axisTaps } from './resize.js';

export interface CropWindow {
  x: number;
  y: number;
  size: number;
}

export function cropResizeRef(
  img: ArrayLike<number>,
  C: number,
  H: number,
  W: number,
  win: CropWindow,
  fill: ArrayLike<number>,
  out: number,
): Float64Array {
  const t = axisTaps(win.size, out, 'bilinear');
  const y = new Float64Array(C * out * out);
  const px = (c: number, wy: number, wx: number) => {
    const iy = win.y + wy;
    const ix = win.x + wx;
    return iy >= 0 && iy < H && ix >= 0 && ix < W ? img[(c * H + iy) * W + ix]! : fill[c]!;
  };
  for (let c = 0; c < C; c++)
    for (let r = 0; r < out; r++)
      for (let q = 0; q < out; q++) {
        let s = 0;
        t.idx[r]!.forEach((wy, a) => t.idx[q]!.forEach((wx, b) => (s += t.w[r]![a]! * t.w[q]![b]! * px(c, wy, wx))));
        y[(c * out + r) * out + q] = s;
      }
  return y;
}

/** The adjoint with respect to the image: gy [C, out, out] → gx [C, H, W] (the fill gets nothing). */
export function cropResizeBackwardRef(
  gy: ArrayLike<number>,
  C: number,
  H: number,
  W: number,
  win: CropWindow,
  out: number,
): Float64Array {
  const t = axisTaps(win.size, out, 'bilinear');
  const gx = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++)
    for (let r = 0; r < out; r++)
      for (let q = 0; q < out; q++) {
        const g = gy[(c * out + r) * out + q]!;
        t.idx[r]!.forEach((wy, a) =>
          t.idx[q]!.forEach((wx, b) => {
            const iy = win.y + wy;
            const ix = win.x + wx;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) gx[(c * H + iy) * W + ix]! += t.w[r]![a]! * t.w[q]![b]! * g;
          }),
        );
      }
  return gx;
}
