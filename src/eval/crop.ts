/**
 * The reference evaluation's LPIPS crop: the bounding box of the ground-truth mask grown by 50 pixels on each side
 * and clipped to the image, padded with white to a square (the box centred in it; the odd pixel after), resized to
 * 512² with bilinear interpolation as OpenCV's INTER_LINEAR computes it (pixel centres aligned, edge pixels
 * repeated, no antialiasing). The same box crops the rendering and the photo.
 */
import { maskBounds } from '../data/mask.js';

/** Image pixels [x0, x1) × [y0, y1). */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The padding the reference adds around the mask's bounding box. */
export const LPIPS_EVAL_PAD = 50;
/** The side the reference resizes the crop to. */
export const LPIPS_EVAL_SIZE = 512;

/** The mask's bounding box grown by `pad` and clipped to the image (an empty mask: the whole image). */
export function lpipsEvalBox(mask: ArrayLike<number>, width: number, height: number, pad = LPIPS_EVAL_PAD): PixelBox {
  const b = maskBounds(mask, width, height);
  if (!b) return { x0: 0, y0: 0, x1: width, y1: height };
  const { x0, y0, x1, y1 } = b;
  return {
    x0: Math.max(0, x0 - pad),
    y0: Math.max(0, y0 - pad),
    x1: Math.min(width, x1 + 1 + pad),
    y1: Math.min(height, y1 + 1 + pad),
  };
}

/** Source index pairs and weights of a bilinear resample from `n` to `size` pixels (cv2 INTER_LINEAR). */
function taps(n: number, size: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(size),
    i1 = new Int32Array(size),
    f = new Float64Array(size);
  const scale = n / size;
  for (let d = 0; d < size; d++) {
    const p = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), n - 1);
    const i = Math.floor(p);
    i0[d] = i;
    i1[d] = Math.min(i + 1, n - 1);
    f[d] = p - i;
  }
  return { i0, i1, f };
}

/**
 * Crop a planar [C, H, W] image to `box`, pad it with `fill` to a square (the box centred), and resize that square
 * to `size`² bilinearly. Returns planar [C, size, size].
 */
export function squareCropResize(
  img: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  box: PixelBox,
  size = LPIPS_EVAL_SIZE,
  fill = 1,
): Float32Array {
  const bw = box.x1 - box.x0,
    bh = box.y1 - box.y0;
  if (bw < 1 || bh < 1 || box.x0 < 0 || box.y0 < 0 || box.x1 > width || box.y1 > height) {
    throw new Error(
      `squareCropResize: box [${box.x0}, ${box.x1}) × [${box.y0}, ${box.y1}) is not inside ${width}×${height}`,
    );
  }
  const S = Math.max(bw, bh);
  const ox = Math.floor((S - bw) / 2),
    oy = Math.floor((S - bh) / 2);
  const n = width * height;
  // the square's pixel (u, v) in the image, or white
  const at = (c: number, v: number, u: number): number => {
    const x = u - ox,
      y = v - oy;
    return x < 0 || y < 0 || x >= bw || y >= bh ? fill : img[c * n + (box.y0 + y) * width + box.x0 + x]!;
  };
  const t = taps(S, size);
  const out = new Float32Array(channels * size * size);
  for (let c = 0; c < channels; c++)
    for (let y = 0; y < size; y++) {
      const v0 = t.i0[y]!,
        v1 = t.i1[y]!,
        fy = t.f[y]!;
      for (let x = 0; x < size; x++) {
        const u0 = t.i0[x]!,
          u1 = t.i1[x]!,
          fx = t.f[x]!;
        const top = (1 - fx) * at(c, v0, u0) + fx * at(c, v0, u1);
        const bottom = (1 - fx) * at(c, v1, u0) + fx * at(c, v1, u1);
        out[c * size * size + y * size + x] = (1 - fy) * top + fy * bottom;
      }
    }
  return out;
}
