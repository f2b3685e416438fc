/** Safetensors files on disk: the decoder and encoder of ../safetensors.ts, with the read and the atomic write. */
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafeArray,
  type SafeTensor,
  type SafetensorsReadOptions,
} from '../safetensors.js';
import { writeFileAtomic } from './atomic.js';
import { readBytes } from './files.js';

/** Atomic (temporary file, then rename), so an interrupted save never leaves a broken file. */
export function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: SafeArray }>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(
  path: string,
  options: SafetensorsReadOptions = {},
): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  return decodeSafetensors(readBytes(path), path, options);
}
