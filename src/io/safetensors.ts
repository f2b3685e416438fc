/**
 * Our own weight format: safetensors (https://huggingface.co/docs/safetensors), a documented, language-neutral
 * layout that Python users can open with `safetensors.numpy.load_file`:
 *   8 bytes  little-endian u64 N = header length
 *   N bytes  JSON: { "<name>": { "dtype": "F32"|"F16"|"I32"|"U32"|"U8", "shape": [...], "data_offsets": [begin, end] },
 *                   "__metadata__": { string: string } }   (offsets relative to the data section, in bytes)
 *   data     the tensors' raw little-endian bytes, packed in header order
 * Writes are atomic (temporary file, then rename) so an interrupted save never leaves a broken file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

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

export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'safetensors data',
): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail('shorter than its 8-byte header length');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.length - 8) fail(`header length ${n} exceeds the file size ${bytes.length}`);
  let header: Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + n;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const size = BYTES[e.dtype as SafeDType];
    if (!size) fail(`tensor '${name}' has unsupported dtype ${e.dtype}`);
    const [b, end] = e.data_offsets;
    const count = e.shape.reduce((a, c) => a * c, 1);
    if (end - b !== count * size || base + end > bytes.length) fail(`tensor '${name}' has inconsistent offsets`);
    const raw = new Uint8Array(bytes.subarray(base + b, base + end)); // a copy: aligned, detached from the file (Buffer.slice would share)
    const data =
      e.dtype === 'F32'
        ? new Float32Array(raw.buffer)
        : e.dtype === 'I32'
          ? new Int32Array(raw.buffer)
          : e.dtype === 'U32'
            ? new Uint32Array(raw.buffer)
            : e.dtype === 'F16'
              ? new Uint16Array(raw.buffer)
              : raw;
    tensors.set(name, { dtype: e.dtype as SafeDType, shape: e.shape, data });
  }
  return { tensors, metadata };
}

export function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: SafeArray }>,
  metadata?: Record<string, string>,
): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeSafetensors(tensors, metadata));
  renameSync(tmp, path);
}

export function loadSafetensors(path: string): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read weights file ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}
