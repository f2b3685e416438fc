/**
 * The ground truth of a training step travels to the GPU as 8-bit data and is composited there: the photo as
 * interleaved RGB bytes and one class byte per pixel (background, subject, boundary band). A kernel inside the
 * captured step turns them into the float image the loss reads (the photo on the subject, the step's background
 * colour everywhere else, the band included) and the band mask the prediction is painted with. Only the box that
 * holds the subject and its band travels (everything outside it is background, the step's colour): at 1500×2048
 * 12 MB per step for the whole image (instead of 49 MB of floats), a fraction of it for the box, and the decode
 * threads do no float work.
 */
import { cachedKernel, dispatch1d, main1d, params } from '../tensor/kernels/util.js';
import { Tensor } from '../tensor/index.js';
import { to8bit } from '../io/image.js';
import { maskBounds } from '../data/mask.js';

/** Pixel classes of the class byte. */
export const PIXEL_BACKGROUND = 0;
export const PIXEL_SUBJECT = 1;
/** The mask's boundary band: never counts in the loss (painted with the background in photo and prediction). */
export const PIXEL_BAND = 2;

/** [x0, y0, w, h]: the smallest box holding every pixel that is not background ([0, 0, 0, 0] when none is). */
export type GroundTruthBox = [number, number, number, number];

/** What a decode thread hands over: bytes of the box, padded to a multiple of 4 (GPU buffers are written in words). */
export interface PackedGroundTruth {
  width: number;
  height: number;
  box: GroundTruthBox;
  /** [h, w, 3] RGB bytes of the box (+ padding). */
  photo: Uint8Array;
  /** [h, w] PIXEL_* of the box (+ padding). */
  classes: Uint8Array;
}

/** The box of a whole image (every pixel sent). */
export function wholeImage(width: number, height: number): GroundTruthBox {
  return [0, 0, width, height];
}

/** Checks that a box lies in a width × height image and that the bytes are the box's; a message naming what is off. */
export function checkPacked(g: PackedGroundTruth): void {
  const [x0, y0, w, h] = g.box;
  const ok = [x0, y0, w, h].every((v) => Number.isInteger(v) && v >= 0) && x0 + w <= g.width && y0 + h <= g.height;
  if (!ok) throw new Error(`ground truth: box [${g.box.join(', ')}] is not inside the ${g.width}×${g.height} image`);
  const want = packedSizes(w, h);
  if (g.photo.byteLength !== want.photo || g.classes.byteLength !== want.classes)
    throw new Error(
      `ground truth: ${g.photo.byteLength} photo and ${g.classes.byteLength} class bytes for a ${w}×${h} box ` +
        `(want ${want.photo} and ${want.classes})`,
    );
}

const pad4 = (n: number) => Math.ceil(n / 4) * 4;

/** Bytes of the packed photo and classes of an image size (what the step's upload buffers hold). */
export function packedSizes(width: number, height: number): { photo: number; classes: number } {
  return { photo: pad4(3 * width * height), classes: pad4(width * height) };
}

/**
 * Pack a decoded photo (planar float RGB in [0, 1], decoded from 8-bit: the bytes come back exactly), the
 * thresholded mask (1 on the subject) and the boundary band (1 on it).
 */
export function packGroundTruth(
  image: { width: number; height: number; data: Float32Array },
  mask: ArrayLike<number>,
  band: ArrayLike<number>,
): PackedGroundTruth {
  const { width, height, data } = image;
  const n = width * height;
  // the union of the subject's and the band's boxes (the band reaches past the mask)
  const [m, b] = [maskBounds(mask, width, height), maskBounds(band, width, height)];
  const u =
    m && b
      ? { x0: Math.min(m.x0, b.x0), y0: Math.min(m.y0, b.y0), x1: Math.max(m.x1, b.x1), y1: Math.max(m.y1, b.y1) }
      : (m ?? b);
  const box: GroundTruthBox = u ? [u.x0, u.y0, u.x1 - u.x0 + 1, u.y1 - u.y0 + 1] : [0, 0, 0, 0];
  const [bx, by, bw, bh] = box;
  const sizes = packedSizes(bw, bh);
  const photo = new Uint8Array(sizes.photo);
  const classes = new Uint8Array(sizes.classes);
  for (let y = 0; y < bh; y++)
    for (let x = 0; x < bw; x++) {
      const p = (by + y) * width + bx + x;
      const q = y * bw + x;
      for (let c = 0; c < 3; c++) photo[3 * q + c] = to8bit(data[c * n + p]!);
      classes[q] = band[p] ? PIXEL_BAND : mask[p] ? PIXEL_SUBJECT : PIXEL_BACKGROUND;
    }
  return { width, height, box, photo, classes };
}

/**
 * The composite on the CPU (the kernel's reference): [3, H, W] ground truth and [H, W] band, for a background
 * colour `bg` (RGB).
 */
export function compositeGroundTruth(
  g: PackedGroundTruth,
  bg: ArrayLike<number>,
): { gt: Float32Array; band: Float32Array } {
  checkPacked(g);
  const n = g.width * g.height;
  const [x0, y0, w, h] = g.box;
  const gt = new Float32Array(3 * n);
  const band = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const x = (p % g.width) - x0,
      y = Math.floor(p / g.width) - y0;
    const q = x >= 0 && x < w && y >= 0 && y < h ? y * w + x : -1;
    const cls = q >= 0 ? g.classes[q] : PIXEL_BACKGROUND;
    band[p] = cls === PIXEL_BAND ? 1 : 0;
    for (let c = 0; c < 3; c++) gt[c * n + p] = cls === PIXEL_SUBJECT ? g.photo[3 * q + c]! / 255 : bg[c]!;
  }
  return { gt, band };
}

const KERNEL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Photo: array<u32>;
@group(0) @binding(1) var<storage, read> Classes: array<u32>;
@group(0) @binding(2) var<storage, read> Bg: array<f32>;
@group(0) @binding(3) var<storage, read_write> Gt: array<f32>;
@group(0) @binding(4) var<storage, read_write> Band: array<f32>;
@group(0) @binding(5) var<storage, read> Box: array<u32, 4>;
struct PP { n: u32, w: u32 }
@group(1) @binding(0) var<uniform> P: PP;
fn byteOf(words: u32, i: u32) -> u32 { return (words >> ((i & 3u) * 8u)) & 255u; }
${main1d('P.n')}
  let p = i;
  // box coordinates (left of or above the box they wrap to large values and fail the test)
  let bx = p % P.w - Box[0];
  let by = p / P.w - Box[1];
  let inBox = bx < Box[2] && by < Box[3];
  let q = by * Box[2] + bx;
  var cls = ${PIXEL_BACKGROUND}u;
  if (inBox) { cls = byteOf(Classes[q >> 2u], q); }
  Band[p] = select(0.0, 1.0, cls == ${PIXEL_BAND}u);
  for (var c = 0u; c < 3u; c++) {
    var v = Bg[c];
    if (cls == ${PIXEL_SUBJECT}u) {
      let b = 3u * q + c;
      v = f32(byteOf(Photo[b >> 2u], b)) / 255.0;
    }
    Gt[c * P.n + p] = v;
  }
}`;

/**
 * The composite on the GPU, off the tape (the ground truth wants no gradient): `photo` and `classes` hold a box's
 * bytes (at most packedSizes(W, H)), `box` its [x0, y0, w, h] as 4 u32 (read on the GPU, so a replayed step takes each
 * step's box), `bg` an f32 tensor of 3 values; returns gt [3, H, W] and band [1, H, W].
 */
export function unpackGroundTruth(
  photo: GPUBuffer,
  classes: GPUBuffer,
  box: GPUBuffer,
  bg: Tensor,
  width: number,
  height: number,
): { gt: Tensor; band: Tensor } {
  if (bg.size !== 3) throw new Error(`unpackGroundTruth: the background must hold 3 values, got ${bg.size}`);
  const n = width * height;
  const gt = Tensor.empty([3, height, width]);
  const band = Tensor.empty([1, height, width]);
  dispatch1d(
    cachedKernel('unpackGroundTruth', () => KERNEL),
    [photo, classes, bg.buffer, gt.buffer, band.buffer, box],
    n,
    params(n, width),
  );
  return { gt, band };
}
