/** `.npz` files on disk: the decoder and encoder of ../npz.ts, with the read and the atomic write. */
import { decodeNpz, encodeNpz, type NpzFile, type NpzReadOptions, type NpzWriteOptions } from '../npz.js';
import type { NdArray } from '../npy.js';
import { writeFileAtomic } from './atomic.js';
import { readBytes } from './files.js';

export function readNpz(path: string, options: NpzReadOptions = {}): NpzFile {
  return decodeNpz(readBytes(path), path, options);
}

/** Write an .npz atomically (temporary file, then rename). */
export function writeNpz(path: string, arrays: Record<string, NdArray>, options: NpzWriteOptions = {}): void {
  writeFileAtomic(path, encodeNpz(arrays, options));
}
