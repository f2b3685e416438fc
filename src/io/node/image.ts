/**
 * Image files through sharp (libvips: JPEG via mozjpeg, PNG): decode to RGB float32 planar in [0, 1] or to an 8-bit
 * gray mask, and encode JPEG/PNG atomically. Node-only (sharp is a native addon); the layouts are in ../image.ts.
 */
import { existsSync } from 'node:fs';
import type SharpFn from 'sharp';
import type { OutputInfo } from 'sharp';

import { firstLine, FormatError, InputError } from '../errors.js';
import { planarToInterleaved8, type EncodeOptions, type GrayImage, type PlanarImage } from '../image.js';
import { writeAtomicWith } from './atomic.js';

// sharp (a native addon) is loaded at the first image read or write, so commands that touch no image file (export-web,
// serve, the queue's bookkeeping) start faster and run where only the WebGPU runtime was installed.
let sharpLoaded: Promise<typeof SharpFn> | null = null;
async function sharp(...args: Parameters<typeof SharpFn>): Promise<ReturnType<typeof SharpFn>> {
  sharpLoaded ??= import('sharp').then((m) => m.default);
  return (await sharpLoaded)(...args);
}

function describe(e: unknown): string {
  return firstLine(e instanceof Error ? e.message : String(e)).replace(/^Input file has corrupt header: /, '');
}

/** A decode failure: a missing file is an InputError, anything else a FormatError naming the file. */
function decodeError(path: string, what: string, e: unknown): Error {
  if (!existsSync(path)) return new InputError(`missing ${what} ${path}`);
  return new FormatError(path, `cannot decode the ${what}: ${describe(e)}`);
}

/** Decode a JPEG/PNG to RGB float32 planar in [0, 1]. Alpha is dropped, gray is expanded. */
export async function readRgb(path: string): Promise<PlanarImage> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await (await sharp(path)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw decodeError(path, 'image', e);
  }
  const { width, height, channels } = raw.info;
  const n = width * height;
  const out = new Float32Array(3 * n);
  const src = raw.data;
  const inv = 1 / 255;
  if (channels === 3) {
    for (let i = 0, p = 0; i < n; i++, p += 3) {
      out[i] = src[p]! * inv;
      out[n + i] = src[p + 1]! * inv;
      out[2 * n + i] = src[p + 2]! * inv;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = out[n + i] = out[2 * n + i] = src[i * channels]! * inv;
  }
  return { width, height, channels: 3, data: out };
}

/** Decode a mask or alpha matte as 8-bit gray (a colour file is converted to luminance). */
export async function readGray(path: string): Promise<GrayImage> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await (await sharp(path)).removeAlpha().toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw decodeError(path, 'mask', e);
  }
  const { width, height, channels } = raw.info;
  const n = width * height;
  if (channels === 1) return { width, height, data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, n) };
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = raw.data[i * channels]!;
  return { width, height, data: out };
}

/** Encode 8-bit interleaved pixels (1 or 3 channels) as JPEG or PNG, chosen by the extension; atomic. */
export async function writeImage8(
  path: string,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  pixels: Uint8Array,
  options: EncodeOptions = {},
): Promise<void> {
  const lower = path.toLowerCase();
  let s = await sharp(pixels, { raw: { width, height, channels } });
  if (channels === 1) s = s.toColourspace('b-w');
  if (lower.endsWith('.jpg') || lower.endsWith('.jpeg')) {
    s = s.jpeg({ quality: options.quality ?? 95, chromaSubsampling: '4:4:4' });
  } else if (lower.endsWith('.png')) s = s.png();
  else throw new InputError(`cannot write image ${path}: use a .jpg, .jpeg or .png file name`);
  await writeAtomicWith(path, (tmp) => s.toFile(tmp));
}

/** Encode a planar float image (values in [0, 1]). */
export async function writeImage(path: string, img: PlanarImage, options: EncodeOptions = {}): Promise<void> {
  if (img.channels !== 1 && img.channels !== 3 && img.channels !== 4) {
    throw new Error(`cannot write ${path}: ${img.channels} channels (1, 3 or 4 are supported)`);
  }
  await writeImage8(path, img.width, img.height, img.channels, planarToInterleaved8(img), options);
}
