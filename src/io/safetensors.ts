/**
 * Our own weight format: safetensors (https://huggingface.co/docs/safetensors), a documented, language-neutral
 * layout that Python users can open with `safetensors.numpy.load_file`:
 *   8 bytes  little-endian u64 N = header length
 *   N bytes  JSON: { "<name>": { "dtype": "F32"|"F16"|"I32"|"U32"|"U8", "shape": [...], "data_offsets": [begin, end] },
 *                   "__metadata__": { string: string } }   (offsets relative to the data section, in bytes)
 *   data     the tensors' raw little-endian bytes, packed in header order
 * Bytes in, bytes out (the file read and the atomic write are in node/safetensors.ts). Reading is
 * strict: the header must be a JSON object of well-formed entries whose byte ranges lie inside the file and match
 * their shapes, and float tensors must be finite unless `allowNonFinite` is set.
 */
import { FormatError, InputError } from './errors.js';
import { checkFinite } from './finite.js';
import { halfToFloat } from './half.js';

export type SafeDType = 'F32' | 'F16' | 'I32' | 'U32' | 'U8';
export type SafeArray = Float32Array | Int32Array | Uint32Array | Uint8Array | Uint16Array;

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeArray;
}

const BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, I32: 4, U32: 4, U8: 1 };

function dtypeOf(a: SafeArray): SafeDType {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof Uint32Array) return 'U32';
  if (a instanceof Uint16Array) return 'F16'; // f16 bit patterns
  return 'U8';
}

export function encodeSafetensors(
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: SafeArray }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(`safetensors: '${name}' has shape [${t.shape}] (${count} values) but ${t.data.length} values`);
    }
    header[name] = { dtype: dtypeOf(t.data), shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // align the data section to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}

export interface SafetensorsReadOptions {
  /** Accept NaN/±Inf in float tensors (default false). */
  allowNonFinite?: boolean;
}

/** One tensor's entry in a safetensors header: its byte range [begin, end) within the data section. */
export interface SafeEntry {
  name: string;
  dtype: SafeDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The header of a safetensors file: its 8-byte length prefix, read from the file's first bytes (at least 8).
 * Returns the JSON's length; throws a FormatError when it cannot fit in a file of `fileSize` bytes.
 */
export function safetensorsHeaderLength(first: Uint8Array, fileSize: number, source = 'safetensors data'): number {
  if (first.length < 8 || fileSize < 8)
    throw new FormatError(source, 'not a valid safetensors file: shorter than its 8-byte header length');
  const n64 = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(fileSize - 8)) {
    throw new FormatError(
      source,
      `not a valid safetensors file: header length ${n64} exceeds the file size ${fileSize}`,
    );
  }
  return Number(n64);
}

/**
 * The header's JSON (its `n` bytes after the length prefix) checked against a data section of `dataSize` bytes:
 * every entry well-formed, its byte range inside the data and matching its shape.
 */
export function parseSafetensorsHeader(
  json: Uint8Array,
  dataSize: number,
  source = 'safetensors data',
): { entries: SafeEntry[]; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new FormatError(source, `not a valid safetensors file: ${why}`);
  };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const entries: SafeEntry[] = [];
  let metadata: Record<string, string> = {};
  const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`'__metadata__' is not an object`);
      for (const [k, x] of Object.entries(v as object)) {
        if (typeof x !== 'string') fail(`metadata '${k}' is not a string`);
      }
      metadata = v as Record<string, string>;
      continue;
    }
    if (typeof v !== 'object' || v === null) fail(`tensor '${name}' is not described by an object`);
    const e = v as { dtype: unknown; shape: unknown; data_offsets: unknown };
    const size = typeof e.dtype === 'string' && Object.hasOwn(BYTES, e.dtype) ? BYTES[e.dtype as SafeDType] : 0;
    if (!size) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)} (F32, F16, I32, U32, U8)`);
    if (!Array.isArray(e.shape) || e.shape.length > 16 || !e.shape.every(isIndex)) {
      fail(`tensor '${name}' has a bad shape ${JSON.stringify(e.shape)?.slice(0, 60)}`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isIndex)) {
      fail(`tensor '${name}' has bad data_offsets ${JSON.stringify(off)?.slice(0, 60)}`);
    }
    const [b, end] = off as [number, number];
    const count = (e.shape as number[]).reduce((a, c) => a * c, 1);
    if (!(end >= b && end - b === count * size && end <= dataSize)) {
      fail(`tensor '${name}' has inconsistent offsets [${b}, ${end}] for shape [${e.shape}] (truncated file?)`);
    }
    entries.push({ name, dtype: e.dtype as SafeDType, shape: e.shape as number[], begin: b, end });
  }
  return { entries, metadata };
}

/** A tensor's typed array over `raw` (its own, aligned bytes), checked finite unless `allowNonFinite`. */
export function safeTensorOf(
  entry: SafeEntry,
  raw: Uint8Array<ArrayBuffer>,
  source: string,
  options: SafetensorsReadOptions = {},
): SafeTensor {
  const { dtype, name, shape } = entry;
  const n = raw.byteLength / BYTES[dtype];
  const data =
    dtype === 'F32'
      ? new Float32Array(raw.buffer, raw.byteOffset, n)
      : dtype === 'I32'
        ? new Int32Array(raw.buffer, raw.byteOffset, n)
        : dtype === 'U32'
          ? new Uint32Array(raw.buffer, raw.byteOffset, n)
          : dtype === 'F16'
            ? new Uint16Array(raw.buffer, raw.byteOffset, n)
            : raw;
  if (!options.allowNonFinite) {
    if (dtype === 'F32') {
      // NaN/±Inf have an all-ones exponent: one integer test per value (~2× the float test of checkFinite, which
      // still names the element when one is found)
      const bits = new Uint32Array(raw.buffer, raw.byteOffset, n);
      for (let i = 0; i < n; i++) {
        if ((bits[i]! & 0x7f800000) === 0x7f800000) {
          checkFinite(data as Float32Array, source, name, shape);
          break;
        }
      }
    } else if (dtype === 'F16') {
      for (let i = 0; i < data.length; i++) {
        if ((data[i]! & 0x7c00) === 0x7c00) checkFinite([halfToFloat(data[i]!)], source, name);
      }
    }
  }
  return { dtype, shape, data };
}

export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'safetensors data',
  options: SafetensorsReadOptions = {},
): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  const n = safetensorsHeaderLength(bytes, bytes.length, source);
  const base = 8 + n;
  const { entries, metadata } = parseSafetensorsHeader(bytes.subarray(8, base), bytes.length - base, source);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const raw = new Uint8Array(bytes.subarray(base + e.begin, base + e.end)); // a copy: aligned, detached from the file (Buffer.slice would share)
    tensors.set(e.name, safeTensorOf(e, raw, source, options));
  }
  return { tensors, metadata };
}
