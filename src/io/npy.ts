/**
 * NumPy `.npy` arrays (format versions 1-3, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *   "\x93NUMPY" major minor, header length (u16 for v1, u32 for v2/v3), a Python dict literal
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } padded with spaces to a 64-byte boundary, then raw data.
 * Arrays are always returned in C (row-major) order: Fortran-order files are transposed on read, so callers index
 * `data[i * shape[1] + j]` whatever the file's layout. Big-endian files are byte-swapped to native (little-endian).
 * 64-bit integers stay BigInt64Array/BigUint64Array (exact); `toFloat64`/`toInt32` convert for math.
 * float16 is widened to Float32Array on read and narrowed again on write (dtype 'f2' records the file's type).
 */
import { FormatError } from './errors.js';
import { checkFinite } from './finite.js';
import { floatToHalf, halfToFloat } from './half.js';

export type NpyDType = 'f2' | 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8' | 'b1' | 'U' | 'S';

export type NumericData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export interface NdArray {
  /** The element type in the file. 'U' (unicode) and 'S' (bytes) arrays hold JS strings. */
  dtype: NpyDType;
  shape: number[];
  /** C-order elements. 'b1' is a Uint8Array of 0/1; 'f2' is widened to Float32Array. */
  data: NumericData | string[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Bytes per element of each numeric dtype. */
export const NPY_ITEMSIZE: Record<Exclude<NpyDType, 'U' | 'S'>, number> = {
  f2: 2,
  f4: 4,
  f8: 8,
  i1: 1,
  i2: 2,
  i4: 4,
  i8: 8,
  u1: 1,
  u2: 2,
  u4: 4,
  u8: 8,
  b1: 1,
};

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The dtype a typed array is written as when no dtype is given. */
export function dtypeOfData(data: NumericData): NpyDType {
  if (data instanceof Float64Array) return 'f8';
  if (data instanceof Float32Array) return 'f4';
  if (data instanceof Int8Array) return 'i1';
  if (data instanceof Int16Array) return 'i2';
  if (data instanceof Int32Array) return 'i4';
  if (data instanceof BigInt64Array) return 'i8';
  if (data instanceof Uint16Array) return 'u2';
  if (data instanceof Uint32Array) return 'u4';
  if (data instanceof BigUint64Array) return 'u8';
  return 'u1';
}

/** Convenience constructor that checks the element count against the shape. */
export function ndarray(data: NumericData | string[], shape: readonly number[], dtype?: NpyDType): NdArray {
  if (numel(shape) !== data.length) {
    throw new Error(`ndarray: shape [${shape}] holds ${numel(shape)} values but the data has ${data.length}`);
  }
  const dt = dtype ?? (Array.isArray(data) ? 'U' : dtypeOfData(data as NumericData));
  return { dtype: dt, shape: [...shape], data };
}

/** Any numeric array as float64 (a copy; 64-bit integers beyond 2^53 lose precision). */
export function toFloat64(a: NdArray | NumericData): Float64Array {
  const data = 'shape' in a ? a.data : a;
  if (Array.isArray(data)) throw new Error(`toFloat64: a string array cannot be converted to numbers`);
  if (data instanceof Float64Array) return data.slice();
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
    return out;
  }
  return new Float64Array(data); // native element conversion (TypedArray.from would go through an iterator)
}

/** Any integer-valued array as int32; uint32/uint64 all-ones (numpy's -1 stored unsigned) become -1. */
export function toInt32(a: NdArray | NumericData): Int32Array {
  const data = 'shape' in a ? a.data : a;
  if (Array.isArray(data)) throw new Error(`toInt32: a string array cannot be converted to integers`);
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[i] = typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : Math.trunc(v) | 0;
  }
  return out;
}

export { floatToHalf, halfToFloat };

// ---------------------------------------------------------------------------------------------------------------
// decode

type TypedCtor = new (
  buffer: ArrayBufferLike | number | ArrayLike<number>,
  byteOffset?: number,
  length?: number,
) => NumericData;
/** Typed array class of each dtype with a native layout (f2 and b1 are converted element by element). */
const TYPED: Record<Exclude<NpyDType, 'U' | 'S' | 'f2' | 'b1'>, TypedCtor> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  i8: BigInt64Array as unknown as TypedCtor,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
  u8: BigUint64Array as unknown as TypedCtor,
};
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('npy: a little-endian host is required');

interface Descr {
  dtype: NpyDType;
  bigEndian: boolean;
  itemsize: number;
}

/** Parse a numpy dtype string such as '<f8', '|u1', '>i4', '<U6', '|S3', '|b1'. */
export function parseDescr(descr: string, source: string): Descr {
  const m = /^([<>|=]?)([fiubUS])(\d{1,6})$/.exec(descr);
  if (!m) {
    throw new FormatError(source, `unsupported numpy dtype '${descr}' (only plain numeric, bool and string arrays)`);
  }
  const [, order, kind, sizeText] = m;
  const size = Number(sizeText);
  const bigEndian = order === '>';
  if ((kind === 'U' || kind === 'S') && size < 1) throw new FormatError(source, `numpy dtype '${descr}' has no size`);
  if (kind === 'U') return { dtype: 'U', bigEndian, itemsize: size * 4 };
  if (kind === 'S') return { dtype: 'S', bigEndian, itemsize: size };
  const dtype = `${kind}${size}` as NpyDType;
  if (!(dtype in NPY_ITEMSIZE)) throw new FormatError(source, `unsupported numpy dtype '${descr}'`);
  return { dtype, bigEndian, itemsize: size };
}

/** Parse the header dict literal; it is a fixed, simple subset of Python syntax. */
function parseHeader(text: string, source: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    if (/'descr'\s*:\s*\[/.test(text))
      throw new FormatError(source, 'structured (record) numpy arrays are not supported');
    const shown = text.trim().slice(0, 120);
    throw new FormatError(source, `malformed .npy header ${JSON.stringify(shown)}`);
  }
  const dims = shape[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d{1,16}L?$/.test(s) ? Number(s.replace(/L$/, '')) : NaN));
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new FormatError(source, `bad shape (${shape[1]!.slice(0, 80)}) in .npy header`);
  }
  return { descr: descr[1]!, fortran: fortran[1] === 'True', shape: dims };
}

/** Decode raw little/big-endian element bytes into a typed array (C order of the given bytes). */
export function decodeElements(raw: Uint8Array, d: Descr, count: number): NumericData | string[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = !d.bigEndian;
  if (d.dtype === 'U' || d.dtype === 'S') {
    const out: string[] = new Array(count);
    const chars = d.dtype === 'U' ? d.itemsize / 4 : d.itemsize;
    for (let i = 0; i < count; i++) {
      let s = '';
      for (let c = 0; c < chars; c++) {
        const code = d.dtype === 'U' ? view.getUint32(i * d.itemsize + c * 4, le) : raw[i * d.itemsize + c]!;
        if (code === 0) break; // numpy pads with NULs
        s += code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
      }
      out[i] = s;
    }
    return out;
  }
  if (!d.bigEndian && d.dtype !== 'f2' && d.dtype !== 'b1') {
    // little-endian file on a little-endian host: one aligned copy of the bytes
    const bytes = new Uint8Array(raw.subarray(0, count * d.itemsize)); // a copy (Buffer.slice would share memory)
    return new TYPED[d.dtype](bytes.buffer, 0, count);
  }
  switch (d.dtype) {
    case 'f2': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, le));
      return out;
    }
    case 'f4': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, le);
      return out;
    }
    case 'f8': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, le);
      return out;
    }
    case 'i1':
      return new Int8Array(raw.slice(0, count).buffer);
    case 'u1':
    case 'b1':
      return raw.slice(0, count);
    case 'i2': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, le);
      return out;
    }
    case 'u2': {
      const out = new Uint16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, le);
      return out;
    }
    case 'i4': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, le);
      return out;
    }
    case 'u4': {
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, le);
      return out;
    }
    case 'i8': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(i * 8, le);
      return out;
    }
    case 'u8': {
      const out = new BigUint64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigUint64(i * 8, le);
      return out;
    }
  }
}

/** Reorder Fortran (column-major) elements into C (row-major) order. */
export function fortranToC<T extends NumericData | string[]>(data: T, shape: readonly number[]): T {
  const n = shape.length;
  if (n < 2) return data;
  const out = (
    Array.isArray(data) ? new Array(data.length) : new (data.constructor as new (n: number) => T)(data.length)
  ) as T;
  const cStride = new Array<number>(n);
  const fStride = new Array<number>(n);
  cStride[n - 1] = 1;
  for (let k = n - 2; k >= 0; k--) cStride[k] = cStride[k + 1]! * shape[k + 1]!;
  fStride[0] = 1;
  for (let k = 1; k < n; k++) fStride[k] = fStride[k - 1]! * shape[k - 1]!;
  const idx = new Array<number>(n).fill(0);
  const total = data.length;
  for (let c = 0; c < total; c++) {
    let f = 0;
    for (let k = 0; k < n; k++) f += idx[k]! * fStride[k]!;
    (out as unknown as unknown[])[c] = (data as unknown as unknown[])[f];
    for (let k = n - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

export interface NpyReadOptions {
  /** Accept NaN/±Inf in float arrays (default false: they are refused, naming the element). */
  allowNonFinite?: boolean;
  /** Names the array in the non-finite message (default: the source). */
  field?: string;
}

/** Decode a whole .npy file. `source` names the file (or npz member) in errors. */
export function decodeNpy(bytes: Uint8Array, source = '.npy data', options: NpyReadOptions = {}): NdArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FormatError(source, 'not a .npy file (missing the \\x93NUMPY magic)');
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new FormatError(source, `unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (bytes.length < start || start + headerLen > bytes.length) throw new FormatError(source, 'truncated .npy header');
  const headerBytes = bytes.subarray(start, start + headerLen);
  const header = parseHeader(new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes), source);
  const d = parseDescr(header.descr, source);
  const count = numel(header.shape);
  const dataStart = start + headerLen;
  const need = count * d.itemsize;
  if (!(bytes.length - dataStart >= need)) {
    throw new FormatError(
      source,
      `truncated .npy data: shape (${header.shape}) of ${header.descr} needs ${need} bytes, found ${bytes.length - dataStart}`,
    );
  }
  let data = decodeElements(bytes.subarray(dataStart, dataStart + need), d, count);
  if (header.fortran) data = fortranToC(data, header.shape);
  if (!options.allowNonFinite) checkFinite(data as ArrayLike<number>, source, options.field ?? 'array', header.shape);
  return { dtype: d.dtype, shape: header.shape, data };
}

// ---------------------------------------------------------------------------------------------------------------
// encode

/** Reorder C elements into Fortran order (only used to write Fortran-order files, e.g. for tests). */
function cToFortran<T extends NumericData | string[]>(data: T, shape: readonly number[]): T {
  // Fortran order of shape S equals C order of the reversed shape with reversed axes: transpose via fortranToC twice.
  const n = shape.length;
  if (n < 2) return data;
  const rev = [...shape].reverse();
  // data in C order of `shape` is the Fortran order of `rev`; converting that to C order of `rev` gives the transpose.
  return fortranToC(data, rev);
}

export interface NpyWriteOptions {
  /** Element type to write; defaults from the typed array (Float64Array -> f8, ...). Strings need 'U'. */
  dtype?: NpyDType;
  /** Write column-major data with fortran_order True (the data passed is still C order). */
  fortranOrder?: boolean;
}

/** Encode an array as a version 1.0 .npy file (little-endian). */
export function encodeNpy(a: NdArray, options: NpyWriteOptions = {}): Uint8Array {
  const dtype = options.dtype ?? a.dtype;
  if (numel(a.shape) !== a.data.length) {
    throw new Error(`encodeNpy: shape [${a.shape}] holds ${numel(a.shape)} values but the data has ${a.data.length}`);
  }
  const data = options.fortranOrder ? cToFortran(a.data, a.shape) : a.data;
  let itemsize: number;
  let descr: string;
  if (dtype === 'U' || dtype === 'S') {
    if (!Array.isArray(data)) throw new Error(`encodeNpy: dtype '${dtype}' needs an array of strings`);
    const chars = Math.max(1, ...data.map((s) => [...s].length));
    itemsize = dtype === 'U' ? chars * 4 : chars;
    descr = dtype === 'U' ? `<U${chars}` : `|S${chars}`;
  } else {
    if (Array.isArray(data)) throw new Error(`encodeNpy: dtype '${dtype}' needs numeric data, not strings`);
    itemsize = NPY_ITEMSIZE[dtype];
    descr = (itemsize === 1 ? '|' : '<') + dtype;
  }
  const shapeText = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${options.fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const n = data.length;
  const out = new Uint8Array(10 + header.length + n * itemsize);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const p = 10 + header.length;
  if (Array.isArray(data)) {
    for (let i = 0; i < n; i++) {
      const cps = [...data[i]!].map((c) => c.codePointAt(0)!);
      for (let c = 0; c < cps.length; c++) {
        if (dtype === 'U') view.setUint32(p + i * itemsize + c * 4, cps[c]!, true);
        else out[p + i * itemsize + c] = cps[c]! & 0xff;
      }
    }
    return out;
  }
  const isBig = data instanceof BigInt64Array || data instanceof BigUint64Array;
  const wide = dtype === 'i8' || dtype === 'u8';
  if (dtype !== 'f2' && dtype !== 'b1' && isBig === wide) {
    // native conversion (e.g. float64 -> float32) and one byte copy; the host is little-endian
    const Ctor = TYPED[dtype as keyof typeof TYPED] as unknown as new (a: NumericData) => NumericData;
    const typed = data.constructor === (Ctor as unknown) ? data : new Ctor(data); // native conversion
    out.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), p);
    return out;
  }
  const num = (i: number): number => Number(data[i]);
  switch (dtype) {
    case 'f2':
      for (let i = 0; i < n; i++) view.setUint16(p + i * 2, floatToHalf(num(i)), true);
      break;
    case 'f4':
      for (let i = 0; i < n; i++) view.setFloat32(p + i * 4, num(i), true);
      break;
    case 'f8':
      for (let i = 0; i < n; i++) view.setFloat64(p + i * 8, num(i), true);
      break;
    case 'i1':
      for (let i = 0; i < n; i++) view.setInt8(p + i, num(i));
      break;
    case 'u1':
      for (let i = 0; i < n; i++) view.setUint8(p + i, num(i));
      break;
    case 'b1':
      for (let i = 0; i < n; i++) view.setUint8(p + i, num(i) ? 1 : 0);
      break;
    case 'i2':
      for (let i = 0; i < n; i++) view.setInt16(p + i * 2, num(i), true);
      break;
    case 'u2':
      for (let i = 0; i < n; i++) view.setUint16(p + i * 2, num(i), true);
      break;
    case 'i4':
      for (let i = 0; i < n; i++) view.setInt32(p + i * 4, num(i), true);
      break;
    case 'u4':
      for (let i = 0; i < n; i++) view.setUint32(p + i * 4, num(i), true);
      break;
    case 'i8':
      for (let i = 0; i < n; i++) view.setBigInt64(p + i * 8, BigInt.asIntN(64, BigInt(data[i]!)), true);
      break;
    case 'u8':
      for (let i = 0; i < n; i++) view.setBigUint64(p + i * 8, BigInt.asUintN(64, BigInt(data[i]!)), true);
      break;
  }
  return out;
}
