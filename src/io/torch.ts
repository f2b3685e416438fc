/**
 * Reading PyTorch checkpoints (`torch.save` zip format) without Python: a zip holding `<name>/data.pkl` (a pickle
 * whose tensors are persistent references to raw little-endian storages `<name>/data/<key>`), `<name>/byteorder`
 * and a version file. The pickle goes through our data-only unpickler, extended with exactly what tensors need:
 * `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` and the storage classes (`torch.FloatStorage`, …).
 * Nothing in the file is ever executed. Legacy (pre-1.6, non-zip) checkpoints are refused with a clear message.
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { halfToFloat } from './npy.js';
import { unpickle, type PickleGlobal } from './pickle.js';

export type TorchDType = 'f32' | 'f64' | 'f16' | 'bf16' | 'i64' | 'i32' | 'i16' | 'i8' | 'u8' | 'bool';

/** A tensor read from a checkpoint, as float32 values (all our consumers want f32) plus its original dtype. */
export interface TorchTensor {
  readonly kind: 'torch.Tensor';
  dtype: TorchDType;
  shape: number[];
  data: Float32Array;
}

export function isTorchTensor(x: unknown): x is TorchTensor {
  return typeof x === 'object' && x !== null && (x as TorchTensor).kind === 'torch.Tensor';
}

const STORAGE_DTYPES: Record<string, TorchDType> = {
  FloatStorage: 'f32',
  DoubleStorage: 'f64',
  HalfStorage: 'f16',
  BFloat16Storage: 'bf16',
  LongStorage: 'i64',
  IntStorage: 'i32',
  ShortStorage: 'i16',
  CharStorage: 'i8',
  ByteStorage: 'u8',
  BoolStorage: 'bool',
};
const ITEMSIZE: Record<TorchDType, number> = {
  f32: 4,
  f64: 8,
  f16: 2,
  bf16: 2,
  i64: 8,
  i32: 4,
  i16: 2,
  i8: 1,
  u8: 1,
  bool: 1,
};

interface Storage {
  dtype: TorchDType;
  bytes: Uint8Array;
}

function element(s: Storage, i: number, view: DataView): number {
  const o = i * ITEMSIZE[s.dtype];
  switch (s.dtype) {
    case 'f32':
      return view.getFloat32(o, true);
    case 'f64':
      return view.getFloat64(o, true);
    case 'f16':
      return halfToFloat(view.getUint16(o, true));
    case 'bf16':
      return new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0]!;
    case 'i64':
      return Number(view.getBigInt64(o, true));
    case 'i32':
      return view.getInt32(o, true);
    case 'i16':
      return view.getInt16(o, true);
    case 'i8':
      return view.getInt8(o);
    case 'u8':
    case 'bool':
      return view.getUint8(o);
  }
}

function rebuildTensor(
  storage: Storage,
  offset: number,
  shape: number[],
  stride: number[],
  source: string,
): TorchTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  const view = new DataView(storage.bytes.buffer, storage.bytes.byteOffset, storage.bytes.byteLength);
  const available = storage.bytes.byteLength / ITEMSIZE[storage.dtype];
  const contiguous = stride.every((s, d) => s === shape.slice(d + 1).reduce((a, b) => a * b, 1));
  if (contiguous && storage.dtype === 'f32' && storage.bytes.byteOffset % 4 === 0) {
    if (offset + count > available) throw new Error(`${source}: a tensor reads past the end of its storage`);
    data.set(new Float32Array(storage.bytes.buffer, storage.bytes.byteOffset + offset * 4, count));
  } else {
    const idx = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < count; i++) {
      let src = offset;
      for (let d = 0; d < shape.length; d++) src += idx[d]! * stride[d]!;
      if (src >= available) throw new Error(`${source}: a tensor reads past the end of its storage`);
      data[i] = element(storage, src, view);
      for (let d = shape.length - 1; d >= 0 && ++idx[d]! === shape[d]; d--) idx[d] = 0;
    }
  }
  return { kind: 'torch.Tensor', dtype: storage.dtype, shape, data };
}

/** Parse a `torch.save` checkpoint held in memory; returns its object graph with TorchTensor leaves. */
export function readTorchCheckpoint(bytes: Uint8Array, source = 'checkpoint'): unknown {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new Error(
      `${source}: not a zip-format PyTorch checkpoint (legacy torch.save files from PyTorch < 1.6 are not supported; ` +
        're-save it with a current PyTorch: torch.save(torch.load(path), path))',
    );
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${source}: cannot read the zip archive (${(e as Error).message}); the file may be truncated`);
  }
  const pklName = Object.keys(files).find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pklName) throw new Error(`${source}: no data.pkl inside the archive: not a torch.save checkpoint`);
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const order = files[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little') {
    throw new Error(`${source}: big-endian checkpoints are not supported`);
  }
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error(`${source}: unknown persistent id ${String(pid)}`);
    // The storage type arrives as the class reference the unpickler made for GLOBAL 'torch.FloatStorage' etc.
    const [, type, key] = pid as [string, { name?: string }, string];
    const cached = storages.get(key);
    if (cached) return cached;
    const raw = files[`${prefix}data/${key}`];
    if (!raw) throw new Error(`${source}: storage '${key}' is missing from the archive`);
    const dtype = STORAGE_DTYPES[String(type?.name ?? '').replace(/^torch\./, '')];
    if (!dtype) throw new Error(`${source}: storage '${key}' has an unsupported type ${type?.name ?? String(type)}`);
    const s = { dtype, bytes: raw };
    storages.set(key, s);
    return s;
  };
  const globals: Record<string, PickleGlobal> = {
    'torch._utils._rebuild_tensor_v2': (args) => {
      const [storage, offset, shape, stride] = args as [Storage, number, number[], number[]];
      return rebuildTensor(storage, offset, [...shape], [...stride], source);
    },
    'torch._utils._rebuild_parameter': (args) => args[0],
    'torch._utils._rebuild_parameter_with_state': (args) => args[0],
  };
  // Storage classes are only referenced (inside persistent ids), never called.
  for (const name of Object.keys(STORAGE_DTYPES)) {
    globals[`torch.${name}`] = () => {
      throw new Error(`${source}: torch.${name} cannot be constructed here`);
    };
  }
  return unpickle(files[pklName]!, { globals, persistentLoad, source: `${source} (${pklName})` });
}

export function loadTorchCheckpoint(path: string): unknown {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  return readTorchCheckpoint(bytes, path);
}
