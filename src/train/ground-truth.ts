/**
 * The ground truth of a training step travels to the GPU as 8-bit data and is composited there: the photo as
 * interleaved RGB bytes and one class byte per pixel (background, subject, boundary band). A kernel inside the
 * captured step turns them into the float image the loss reads (the photo on the subject, the step's background
 * colour everywhere else, the band included) and the band mask the prediction is painted with. At 1500×2048 that
 * is 12 MB per step instead of 49 MB of floats, and the decode threads do no float work.
 */
import { cachedKernel, dispatch1d, main1d, params } from '../tensor/kernels/util.js';
import { Tensor } from '../tensor/index.js';
import { to8bit } from '../io/image.js';

/** Pixel classes of the class byte. */
export const PIXEL_BACKGROUND = 0;
export const PIXEL_SUBJECT = 1;
/** The mask's boundary band: never counts in the loss (painted with the background in photo and prediction). */
export const PIXEL_BAND = 2;

/** What a decode thread hands over: bytes padded to a multiple of 4 (GPU buffers are written in words). */
export interface PackedGroundTruth {
  width: number;
  height: number;
  /** [H, W, 3] RGB bytes (+ padding). */
  photo: Uint8Array;
  /** [H, W] PIXEL_* (+ padding). */
  classes: Uint8Array;
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
  const sizes = packedSizes(width, height);
  const photo = new Uint8Array(sizes.photo);
  const classes = new Uint8Array(sizes.classes);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) photo[3 * p + c] = to8bit(data[c * n + p]!);
    classes[p] = band[p] ? PIXEL_BAND : mask[p] ? PIXEL_SUBJECT : PIXEL_BACKGROUND;
  }
  return { width, height, photo, classes };
}

/**
 * The composite on the CPU (the kernel's reference): [3, H, W] ground truth and [H, W] band, for a background
 * colour `bg` (RGB).
 */
export function compositeGroundTruth(
  g: PackedGroundTruth,
  bg: ArrayLike<number>,
): { gt: Float32Array; band: Float32Array } {
  const n = g.width * g.height;
  const gt = new Float32Array(3 * n);
  const band = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const cls = g.classes[p];
    band[p] = cls === PIXEL_BAND ? 1 : 0;
    for (let c = 0; c < 3; c++) gt[c * n + p] = cls === PIXEL_SUBJECT ? g.photo[3 * p + c]! / 255 : bg[c]!;
  }
  return { gt, band };
}

const KERNEL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Photo: array<u32>;
@group(0) @binding(1) var<storage, read> Classes: array<u32>;
@group(0) @binding(2) var<storage, read> Bg: array<f32>;
@group(0) @binding(3) var<storage, read_write> Gt: array<f32>;
@group(0) @binding(4) var<storage, read_write> Band: array<f32>;
struct PP { n: u32 }
@group(1) @binding(0) var<uniform> P: PP;
fn byteOf(words: u32, i: u32) -> u32 { return (words >> ((i & 3u) * 8u)) & 255u; }
${main1d('P.n')}
  let p = i;
  let cls = byteOf(Classes[p >> 2u], p);
  Band[p] = select(0.0, 1.0, cls == ${PIXEL_BAND}u);
  for (var c = 0u; c < 3u; c++) {
    let b = 3u * p + c;
    Gt[c * P.n + p] = select(Bg[c], f32(byteOf(Photo[b >> 2u], b)) / 255.0, cls == ${PIXEL_SUBJECT}u);
  }
}`;

/**
 * The composite on the GPU, off the tape (the ground truth wants no gradient): `photo` and `classes` are buffers of
 * at least packedSizes(W, H) bytes, `bg` an f32 tensor of 3 values; returns gt [3, H, W] and band [1, H, W].
 */
export function unpackGroundTruth(
  photo: GPUBuffer,
  classes: GPUBuffer,
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
    [photo, classes, bg.buffer, gt.buffer, band.buffer],
    n,
    params(n),
  );
  return { gt, band };
}
