/**
 * NumPy `.npz` archives: a zip (stored or deflated, zip64 as numpy writes it) of `<name>.npy` members.
 * Members are decoded lazily, so a file with an unsupported member (e.g. an object array) still opens and its
 * other arrays can be read; only asking for the bad member fails.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { decodeNpy, encodeNpy, type NdArray, type NpyWriteOptions } from './npy.js';

export class NpzFile {
  private readonly members: Map<string, Uint8Array>;
  private readonly cache = new Map<string, NdArray>();

  /** `source` names the archive in errors (usually its path). */
  constructor(
    members: Map<string, Uint8Array>,
    readonly source: string,
  ) {
    this.members = members;
  }

  /** Array names (member names without `.npy`), in archive order. */
  get names(): string[] {
    return [...this.members.keys()];
  }

  has(name: string): boolean {
    return this.members.has(name);
  }

  /** The named array; throws naming the archive and the arrays it does hold when absent. */
  get(name: string): NdArray {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const raw = this.members.get(name);
    if (!raw) throw new Error(`${this.source}: no array '${name}' (it holds: ${this.names.join(', ') || 'nothing'})`);
    const a = decodeNpy(raw, `${this.source}[${name}]`);
    this.cache.set(name, a);
    return a;
  }

  /** The named array or undefined when absent. */
  opt(name: string): NdArray | undefined {
    return this.has(name) ? this.get(name) : undefined;
  }
}

/** True when the bytes start like a zip archive (local file header "PK\x03\x04", or "PK\x05\x06" for an empty one). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
}

export function decodeNpz(bytes: Uint8Array, source = '.npz data'): NpzFile {
  if (!looksLikeZip(bytes)) throw new Error(`${source}: not an .npz file (not a zip archive)`);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${source}: corrupt .npz (zip) archive: ${(e as Error).message}`);
  }
  const members = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(files)) {
    if (name.endsWith('/')) continue; // directory entries
    members.set(name.endsWith('.npy') ? name.slice(0, -4) : name, data);
  }
  return new NpzFile(members, source);
}

export function readNpz(path: string): NpzFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeNpz(bytes, path);
}

export interface NpzWriteOptions {
  /** Deflate the members (numpy.savez_compressed); default false (numpy.savez, stored). */
  compress?: boolean;
  /** Deflate level 1-9 when compressing (default 6; 1 is several times faster on large arrays). */
  level?: number;
  /** Per-array write options (dtype override, Fortran order). */
  arrayOptions?: Record<string, NpyWriteOptions>;
}

export function encodeNpz(arrays: Record<string, NdArray>, options: NpzWriteOptions = {}): Uint8Array {
  const zippable: Zippable = {};
  for (const [name, a] of Object.entries(arrays)) {
    zippable[`${name}.npy`] = [
      encodeNpy(a, options.arrayOptions?.[name]),
      { level: options.compress ? ((options.level ?? 6) as 6) : 0 },
    ];
  }
  return zipSync(zippable);
}

/** Write an .npz atomically (temporary file, then rename). */
export function writeNpz(path: string, arrays: Record<string, NdArray>, options: NpzWriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeNpz(arrays, options));
  renameSync(tmp, path);
}
