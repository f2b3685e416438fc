/** OpenEXR files on disk: the decoder and encoder of ../exr.ts, with the read and the atomic write. */
import {
  decodeExr,
  encodeExr,
  exrToMap3,
  map3Channels,
  type ExrImage,
  type ExrReadOptions,
  type ExrWriteOptions,
  type Map3,
} from '../exr.js';
import { writeFileAtomic } from './atomic.js';
import { readBytes } from './files.js';

export function readExr(path: string, options: ExrReadOptions = {}): ExrImage {
  return decodeExr(readBytes(path), path, options);
}

/** Write atomically (temporary file, then rename). */
export function writeExr(
  path: string,
  width: number,
  height: number,
  channels: { name: string; data: ArrayLike<number> }[],
  options: ExrWriteOptions = {},
): void {
  writeFileAtomic(path, encodeExr(width, height, channels, options));
}

/** A cv2-written 3-channel map, interleaved xyz (see exrToMap3). */
export function readExrXyz(path: string): Map3 {
  return exrToMap3(readExr(path), path);
}

/** Write an interleaved 3-channel map as the reference does (channel 0 -> B, 1 -> G, 2 -> R), atomically. */
export function writeExrXyz(path: string, map: Map3, options: ExrWriteOptions = {}): void {
  writeExr(path, map.width, map.height, map3Channels(map), options);
}
