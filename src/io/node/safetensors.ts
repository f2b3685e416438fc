/**
 * Safetensors files on disk: the decoder and encoder of ../safetensors.ts, with the read and the atomic write.
 * A file is read tensor by tensor straight into each tensor's own array (the header first, then every tensor's byte
 * range): no copy of the whole file in memory and no second copy out of it (a full-size checkpoint is ~900 MB).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { FormatError, InputError } from '../errors.js';
import {
  encodeSafetensors,
  parseSafetensorsHeader,
  safeTensorOf,
  safetensorsHeaderLength,
  type SafeArray,
  type SafeEntry,
  type SafeTensor,
  type SafetensorsReadOptions,
} from '../safetensors.js';
import { describeFsError, writeFileAtomic } from './atomic.js';

/** Atomic (temporary file, then rename), so an interrupted save never leaves a broken file. */
export function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: SafeArray }>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** `length` bytes at `position` of the open file into `into` (all of them, or a FormatError: the file is short). */
function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < into.length) {
    // at most 1 GiB a call (readSync's limit is 2 GiB)
    let n: number;
    try {
      n = readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
    } catch (e) {
      throw new InputError(`cannot read ${path}: ${describeFsError(e)}`);
    }
    if (n === 0) throw new FormatError(path, 'not a valid safetensors file: truncated while reading');
    done += n;
  }
}

/** Open `path` and run `f` on its descriptor and size; a file that cannot be read is an InputError naming it. */
function withFile<T>(path: string, f: (fd: number, size: number) => T): T {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${describeFsError(e)}`);
  }
  try {
    try {
      size = fstatSync(fd).size;
    } catch (e) {
      throw new InputError(`cannot read ${path}: ${describeFsError(e)}`);
    }
    return f(fd, size);
  } finally {
    closeSync(fd);
  }
}

function readHeader(
  fd: number,
  size: number,
  path: string,
): { base: number; entries: SafeEntry[]; metadata: Record<string, string> } {
  const first = new Uint8Array(8);
  if (size >= 8) readFully(fd, first, 0, path);
  const n = safetensorsHeaderLength(first.subarray(0, Math.min(size, 8)), size, path);
  const json = new Uint8Array(n);
  readFully(fd, json, 8, path);
  const base = 8 + n;
  return { base, ...parseSafetensorsHeader(json, size - base, path) };
}

/** A safetensors file's tensors and metadata (each tensor in its own array; see the file comment). */
export function loadSafetensors(
  path: string,
  options: SafetensorsReadOptions = {},
): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  return withFile(path, (fd, size) => {
    const { base, entries, metadata } = readHeader(fd, size, path);
    const tensors = new Map<string, SafeTensor>();
    for (const e of entries) {
      const raw = new Uint8Array(e.end - e.begin);
      readFully(fd, raw, base + e.begin, path);
      tensors.set(e.name, safeTensorOf(e, raw, path, options));
    }
    return { tensors, metadata };
  });
}

/** Only a safetensors file's metadata and tensor list (dtype, shape), without reading the tensors. */
export function readSafetensorsHeader(path: string): {
  entries: Array<Pick<SafeEntry, 'name' | 'dtype' | 'shape'>>;
  metadata: Record<string, string>;
} {
  return withFile(path, (fd, size) => {
    const { entries, metadata } = readHeader(fd, size, path);
    return { entries: entries.map(({ name, dtype, shape }) => ({ name, dtype, shape })), metadata };
  });
}

/** `into.length` bytes at `position` of an open file (the whole range, or a FormatError: the file is short). */
async function readFullyAsync(fh: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(into, done, Math.min(into.length - done, 1 << 30), position + done));
    } catch (e) {
      throw new InputError(`cannot read ${path}: ${describeFsError(e)}`);
    }
    if (n === 0) throw new FormatError(path, 'not a valid safetensors file: truncated while reading');
    done += n;
  }
}

/**
 * loadSafetensors off the main thread: the tensors are read by Node's I/O threads (several at once) while this
 * thread does other work (a trained avatar's load decodes its canonical maps and body model meanwhile); each is
 * checked finite as it arrives. The same tensors, metadata and errors as loadSafetensors.
 */
export async function loadSafetensorsAsync(
  path: string,
  options: SafetensorsReadOptions = {},
): Promise<{ tensors: Map<string, SafeTensor>; metadata: Record<string, string> }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${describeFsError(e)}`);
  }
  try {
    let size: number;
    try {
      size = (await fh.stat()).size;
    } catch (e) {
      throw new InputError(`cannot read ${path}: ${describeFsError(e)}`);
    }
    const first = new Uint8Array(8);
    if (size >= 8) await readFullyAsync(fh, first, 0, path);
    const n = safetensorsHeaderLength(first.subarray(0, Math.min(size, 8)), size, path);
    const json = new Uint8Array(n);
    await readFullyAsync(fh, json, 8, path);
    const base = 8 + n;
    const { entries, metadata } = parseSafetensorsHeader(json, size - base, path);
    const tensors = new Map<string, SafeTensor>();
    const arrays = entries.map((e) => new Uint8Array(e.end - e.begin));
    await Promise.all(
      entries.map(async (e, i) => {
        await readFullyAsync(fh, arrays[i]!, base + e.begin, path);
        tensors.set(e.name, safeTensorOf(e, arrays[i]!, path, options));
      }),
    );
    return { tensors: new Map(entries.map((e) => [e.name, tensors.get(e.name)!])), metadata };
  } finally {
    await fh.close();
  }
}
