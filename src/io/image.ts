/**
 * Images in memory: the planar float and 8-bit gray layouts the pipeline uses, and the float-to-8-bit conversion
 * every image write goes through. Decoding and encoding files (sharp/libvips) is Node-only: node/image.ts.
 *
 * Colour order: our API is RGB everywhere. The reference reads images with OpenCV (BGR) and its networks output BGR
 * colours; only checkpoint import (the colour net's output channels) and its saved renders need the swap.
 */

/** A planar float image: data[c * H * W + y * W + x], c in 0..channels-1, values in [0, 1]. */
export interface PlanarImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** An 8-bit single-channel image (mask or alpha matte), row-major. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A [0, 1] float as an 8-bit value: clamped, rounded (NaN → 0). The one float → 8-bit rule of every image we write. */
export function to8bit(v: number): number {
  return v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255) || 0;
}

/** Interleaved 8-bit pixels from a planar float image (clamped, rounded). */
export function planarToInterleaved8(img: PlanarImage): Uint8Array {
  const { width, height, channels, data } = img;
  const n = width * height;
  const out = new Uint8Array(n * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < n; i++) {
      out[i * channels + c] = to8bit(data[c * n + i]!);
    }
  }
  return out;
}

export interface EncodeOptions {
  /** JPEG quality 1..100 (default 95). */
  quality?: number;
}

/** The image formats `writeImage8` writes, by extension; undefined for others. */
export function imageFormatOf(path: string): 'jpeg' | 'png' | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.jpg') || lower.endsWith('.jpeg')) return 'jpeg';
  if (lower.endsWith('.png')) return 'png';
  return undefined;
}
