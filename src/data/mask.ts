/**
 * Masks as the reference uses them: foreground = value > 128; the boundary band =
 * dilate(5x5) − erode(5x5) of the foreground, OR-ed with soft-alpha pixels (5 < α < 250). Boundary pixels are
 * excluded from the loss by painting them with the background colour in both prediction and ground truth.
 */
import type { GrayImage, PlanarImage } from '../io/image.js';

export const MASK_THRESHOLD = 128;

/** Binary foreground (1/0) from an 8-bit mask or matte. */
export function threshold(gray: GrayImage, t = MASK_THRESHOLD): Uint8Array {
  const out = new Uint8Array(gray.data.length);
  for (let i = 0; i < out.length; i++) out[i] = gray.data[i]! > t ? 1 : 0;
  return out;
}

/** Max (dilate) or min (erode) filter over a k x k square window (separable; out-of-image pixels are ignored). */
export function morph(bin: Uint8Array, width: number, height: number, k: number, op: 'dilate' | 'erode'): Uint8Array {
  const r = k >> 1;
  const tmp = new Uint8Array(bin.length);
  const out = new Uint8Array(bin.length);
  const pick = op === 'dilate' ? (a: number, b: number) => a | b : (a: number, b: number) => a & b;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = bin[y * width + x]!;
      for (let d = -r; d <= r; d++) {
        const xx = x + d;
        if (xx >= 0 && xx < width) v = pick(v, bin[y * width + xx]!);
      }
      tmp[y * width + x] = v;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = tmp[y * width + x]!;
      for (let d = -r; d <= r; d++) {
        const yy = y + d;
        if (yy >= 0 && yy < height) v = pick(v, tmp[yy * width + x]!);
      }
      out[y * width + x] = v;
    }
  }
  return out;
}

/**
 * The boundary band (1/0): dilate(k x k) − erode(k x k) of the thresholded mask, OR 5 < α < 250 when `soft`.
 * A pixel is in dilate − erode exactly when its window (clipped to the image, as OpenCV's default border does for
 * morphology) holds both foreground and background, which a summed-area table answers in O(1) per pixel.
 */
export function boundaryBand(gray: GrayImage, soft = true, k = 5): Uint8Array {
  const { width: W, height: H, data } = gray;
  const r = k >> 1;
  const W1 = W + 1;
  const sat = new Int32Array(W1 * (H + 1));
  for (let y = 0; y < H; y++) {
    let row = 0;
    for (let x = 0; x < W; x++) {
      row += data[y * W + x]! > MASK_THRESHOLD ? 1 : 0;
      sat[(y + 1) * W1 + x + 1] = sat[y * W1 + x + 1]! + row;
    }
  }
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const y0 = Math.max(0, y - r),
      y1 = Math.min(H, y + r + 1);
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const a = data[i]!;
      if (soft && a > 5 && a < 250) {
        out[i] = 1;
        continue;
      }
      const x0 = Math.max(0, x - r),
        x1 = Math.min(W, x + r + 1);
      const s = sat[y1 * W1 + x1]! - sat[y0 * W1 + x1]! - sat[y1 * W1 + x0]! + sat[y0 * W1 + x0]!;
      out[i] = s > 0 && s < (y1 - y0) * (x1 - x0) ? 1 : 0;
    }
  }
  return out;
}

/** The same band through explicit dilate and erode (the definition; used to test `boundaryBand`). */
export function boundaryBandReference(gray: GrayImage, soft = true, k = 5): Uint8Array {
  const { width, height } = gray;
  const bin = threshold(gray);
  const dil = morph(bin, width, height, k, 'dilate');
  const ero = morph(bin, width, height, k, 'erode');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < out.length; i++) {
    const a = gray.data[i]!;
    out[i] = dil[i]! & (1 - ero[i]!) ? 1 : soft && a > 5 && a < 250 ? 1 : 0;
  }
  return out;
}

/** In place: pixels where `where` is 1 (or, with `invert`, 0) become the background colour (RGB in [0, 1]). */
export function paint(img: PlanarImage, where: Uint8Array, bg: readonly number[], invert = false): PlanarImage {
  const n = img.width * img.height;
  const on = invert ? 0 : 1;
  for (let i = 0; i < n; i++) {
    if (where[i] !== on) continue;
    for (let c = 0; c < img.channels; c++) img.data[c * n + i] = bg[c] ?? 0;
  }
  return img;
}

/** In place: the ground truth on a background: foreground kept, the rest set to `bg`. */
export function composite(img: PlanarImage, mask: Uint8Array, bg: readonly number[]): PlanarImage {
  return paint(img, mask, bg, true);
}

/** The tight bounding box (inclusive pixel bounds) of a mask's non-zero pixels, or null for an empty mask. */
export function maskBounds(
  mask: ArrayLike<number>,
  width: number,
  height: number,
): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = width,
    y0 = height,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (!mask[row + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}
