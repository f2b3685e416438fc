/**
 * NumPy `.npz` archives: a zip (stored or deflated, zip64 as numpy writes it) of `<name>.npy` members.
 * Members are inflated, CRC-checked and decoded lazily, so a file with an unsupported member (e.g. an object array)
 * still opens and its other arrays can be read; only asking for the bad member fails. Float arrays holding NaN or
 * ±Inf are refused (naming the member and the element) unless `allowNonFinite` is set.
 */
import { zipSync, type Zippable } from 'fflate';
import { FormatError, InputError } from './errors.js';
import { checkFinite } from './finite.js';
import { decodeNpy, encodeNpy, type NdArray, type NpyWriteOptions } from './npy.js';
import { looksLikeZip, readZip } from './zip.js';

export { looksLikeZip };

export interface NpzReadOptions {
  /** Accept NaN/±Inf in float arrays (default false: they are refused). */
  allowNonFinite?: boolean;
}

export class NpzFile {
  private readonly members: Map<string, Uint8Array | (() => Uint8Array)>;
  private readonly cache = new Map<string, NdArray>();

  /** `source` names the archive in errors (usually its path). Members are bytes or functions returning them. */
  constructor(
    members: Map<string, Uint8Array | (() => Uint8Array)>,
    readonly source: string,
    private readonly options: NpzReadOptions = {},
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
    if (!raw) {
      throw new FormatError(this.source, `no array '${name}' (it holds: ${this.names.join(', ') || 'nothing'})`);
    }
    const where = `${this.source}[${name}]`;
    const bytes = typeof raw === 'function' ? raw() : raw;
    const a = decodeNpy(bytes, where, { allowNonFinite: true });
    if (!this.options.allowNonFinite) checkFinite(a.data as ArrayLike<number>, this.source, name, a.shape);
    this.cache.set(name, a);
    return a;
  }

  /** The named array or undefined when absent. */
  opt(name: string): NdArray | undefined {
    return this.has(name) ? this.get(name) : undefined;
  }
}

export function decodeNpz(bytes: Uint8Array, source = '.npz data', options: NpzReadOptions = {}): NpzFile {
  if (!looksLikeZip(bytes)) throw new FormatError(source, 'not an .npz file (not a zip archive)');
  const members = new Map<string, () => Uint8Array>();
  for (const e of readZip(bytes, source, '.npz (zip) archive')) {
    if (e.name.endsWith('/')) continue; // directory entries
    members.set(e.name.endsWith('.npy') ? e.name.slice(0, -4) : e.name, e.data);
  }
  return new NpzFile(members, source, options);
}

export interface NpzWriteOptions {
  /** Deflate the members (numpy.savez_compressed); default false (numpy.savez, stored). */
  compress?: boolean;
  /** Deflate level 1-9 when compressing (default 6; 1 is several times faster on large arrays). */
  level?: number;
  /** Per-array write options (dtype override, Fortran order). */
  arrayOptions?: Record<string, NpyWriteOptions>;
}

const ZIP_EPOCH = new Date(2000, 0, 1);

export function encodeNpz(arrays: Record<string, NdArray>, options: NpzWriteOptions = {}): Uint8Array {
  const zippable: Zippable = {};
  for (const [name, a] of Object.entries(arrays)) {
    zippable[`${name}.npy`] = [
      encodeNpy(a, options.arrayOptions?.[name]),
      { level: options.compress ? ((options.level ?? 6) as 6) : 0 },
    ];
  }
  // a fixed timestamp: the same arrays give the same bytes (reproducible outputs, comparable reruns)
  return zipSync(zippable, { mtime: ZIP_EPOCH });
}
