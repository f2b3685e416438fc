/**
 * The LPIPS crop of a training step. Both the rendered and the ground-truth image are cropped to the square bounding
 * box of the ground-truth mask (centred on the mask's box; where the square leaves the image it is padded with the
 * step's background colour). Before iteration 300k the square is resized to 512²; from then on a random 512² patch
 * of the unresized square is taken when the square is larger than 512, else the square itself.
 */
import { maskBounds } from '../data/mask.js';
/** Iteration at which the crop stops being resized and becomes a random patch of the unresized square. */
export const LPIPS_PATCH_FROM = 300_000;

/** A square of image pixels [x, x + size) × [y, y + size); it may reach outside the image (padding). */
export interface CropBox {
  x: number;
  y: number;
  size: number;
}

export interface LpipsCrop {
  /** The pixels LPIPS looks at. */
  box: CropBox;
  /**
   * The side the original evaluates LPIPS at: `lpipsSize` while resizing, else the box's own side. When that is below
   * `lpipsSize` (a small subject after 300k) a step captured at a fixed size resamples the box to `lpipsSize` instead.
   */
  target: number;
  /** Whether the box is resized (true before 300k) or taken pixel for pixel. */
  resize: boolean;
}

/**
 * The square bounding box of the mask's foreground: the side is the longer side of the tight box, and the square
 * is centred on it (the extra on the shorter side goes half before, half after; the odd pixel after). An empty mask
 * gives the image's own square, centred the same way.
 */
export function maskSquareBox(mask: ArrayLike<number>, width: number, height: number): CropBox {
  const { x0, y0, x1, y1 } = maskBounds(mask, width, height) ?? { x0: 0, y0: 0, x1: width - 1, y1: height - 1 };
  const w = x1 - x0 + 1,
    h = y1 - y0 + 1;
  const size = Math.max(w, h);
  return { x: x0 - Math.floor((size - w) / 2), y: y0 - Math.floor((size - h) / 2), size };
}

/**
 * The step's crop by the schedule. `u` are two uniforms in [0, 1) drawn for every step (used only by the random
 * patch), so the random sequence does not depend on the masks.
 */
export function lpipsCrop(
  square: CropBox,
  iteration: number,
  u: readonly [number, number],
  lpipsSize = 512,
): LpipsCrop {
  if (iteration < LPIPS_PATCH_FROM) return { box: square, target: lpipsSize, resize: true };
  if (square.size <= lpipsSize) return { box: square, target: square.size, resize: false };
  const room = square.size - lpipsSize + 1;
  const ox = Math.min(room - 1, Math.floor(u[0] * room));
  const oy = Math.min(room - 1, Math.floor(u[1] * room));
  return { box: { x: square.x + ox, y: square.y + oy, size: lpipsSize }, target: lpipsSize, resize: false };
}

/** The crop as four floats for a GPU buffer: [x, y, box side, target side]. */
export function cropParams(crop: LpipsCrop): Float32Array {
  return Float32Array.of(crop.box.x, crop.box.y, crop.box.size, crop.target);
}
