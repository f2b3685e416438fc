/**
 * Reading PyTorch checkpoints without Python, in both formats `torch.save` has written:
 * - the zip format (PyTorch ≥ 1.6): `<name>/data.pkl`, a pickle whose tensors are persistent references to raw
 *   little-endian storages `<name>/data/<key>`, beside `<name>/byteorder` and a version file;
 * - the legacy format (earlier releases, and `_use_new_zipfile_serialization=False`; torchvision's and LPIPS's
 *   published weights): pickles back to back (a magic number, the protocol version 1001, a system-info dict, the
 *   object whose tensors reference storages by persistent id, the list of storage keys), then each listed storage as
 *   an 8-byte little-endian element count followed by its raw bytes.
 * The pickles go through our data-only unpickler, extended with exactly what tensors need:
 * `torch._utils._rebuild_tensor(_v2)` / `_rebuild_parameter` and the storage classes (`torch.FloatStorage`, …).
 * Nothing in the file is ever executed. Storages saved from a GPU ('cuda:0') are read like any other: everything
 * lands in CPU memory.
 */
import { FormatError } from './errors.js';
import { checkFinite } from './finite.js';
import { halfToFloat } from './npy.js';
import { unpickle, unpickleAt, type PickleGlobal, type UnpickleOptions } from './pickle.js';
import { readZip } from './zip.js';

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
  const bad = (why: string): never => {
    throw new FormatError(source, why);
  };
  if (shape.length !== stride.length || shape.length > 16) bad(`a tensor has shape [${shape}] but strides [${stride}]`);
  if (![offset, ...shape, ...stride].every((v) => Number.isSafeInteger(v) && v >= 0)) {
    bad(`a tensor has a bad offset, shape or strides (${offset}, [${shape}], [${stride}])`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const available = Math.floor(storage.bytes.byteLength / ITEMSIZE[storage.dtype]);
  // the last element a view reaches; checked before allocating, so a corrupt shape cannot ask for unbounded memory
  const last = count === 0 ? offset - 1 : offset + shape.reduce((s, n, d) => s + (n - 1) * stride[d]!, 0);
  if (last >= available) bad(`a tensor of shape [${shape}] reads past the end of its storage (${available} elements)`);
  if (count > 16 * available + 4096) bad(`a tensor of shape [${shape}] repeats its storage of ${available} elements`);
  const data = new Float32Array(count);
  const view = new DataView(storage.bytes.buffer, storage.bytes.byteOffset, storage.bytes.byteLength);
  const contiguous = stride.every((s, d) => s === shape.slice(d + 1).reduce((a, b) => a * b, 1));
  if (contiguous && storage.dtype === 'f32') {
    const from = storage.bytes.byteOffset + offset * 4;
    if (from % 4 === 0) data.set(new Float32Array(storage.bytes.buffer, from, count));
    // Legacy files put storages at any byte offset: unaligned data is copied bytewise first (into `data` itself).
    else new Uint8Array(data.buffer).set(storage.bytes.subarray(offset * 4, (offset + count) * 4));
  } else {
    const idx = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < count; i++) {
      let src = offset;
      for (let d = 0; d < shape.length; d++) src += idx[d]! * stride[d]!;
      data[i] = element(storage, src, view);
      for (let d = shape.length - 1; d >= 0 && ++idx[d]! === shape[d]; d--) idx[d] = 0;
    }
  }
  if (storage.dtype === 'f32' || storage.dtype === 'f64' || storage.dtype === 'f16' || storage.dtype === 'bf16') {
    checkFinite(data, source, `tensor of shape [${shape}]`);
  }
  return { kind: 'torch.Tensor', dtype: storage.dtype, shape, data };
}

/** The storage type a persistent id names (the class reference the unpickler made for GLOBAL 'torch.FloatStorage'). */
function storageDType(type: unknown, key: string, source: string): TorchDType {
  const name = String((type as { name?: string } | null)?.name ?? '').replace(/^torch\./, '');
  const dtype = STORAGE_DTYPES[name];
  if (!dtype) throw new FormatError(source, `storage '${key}' has an unsupported type ${name || String(type)}`);
  return dtype;
}

/**
 * The globals a checkpoint's pickle may use: the tensor rebuilders, which hand their (storage, offset, shape,
 * stride) to `rebuild`, and the storage classes, only ever referenced inside persistent ids.
 */
function tensorGlobals(
  source: string,
  rebuild: (storage: Storage, offset: number, shape: number[], stride: number[]) => TorchTensor,
): Record<string, PickleGlobal> {
  const rebuildFrom: PickleGlobal = (args) => {
    const [storage, offset, shape, stride] = args as [Storage, number, number[], number[]];
    if (!Array.isArray(shape) || !Array.isArray(stride))
      throw new FormatError(source, 'a tensor has no shape or strides');
    if (typeof storage !== 'object' || storage === null || !(storage.bytes instanceof Uint8Array)) {
      throw new FormatError(source, 'a tensor is not built on a storage');
    }
    return rebuild(storage, Number(offset), shape.map(Number), stride.map(Number));
  };
  const globals: Record<string, PickleGlobal> = {
    'torch._utils._rebuild_tensor': rebuildFrom, // PyTorch ≤ 0.3
    'torch._utils._rebuild_tensor_v2': rebuildFrom,
    'torch._utils._rebuild_parameter': (args) => args[0],
    'torch._utils._rebuild_parameter_with_state': (args) => args[0],
  };
  for (const name of Object.keys(STORAGE_DTYPES)) {
    globals[`torch.${name}`] = () => {
      throw new FormatError(source, `torch.${name} cannot be constructed here`);
    };
  }
  return globals;
}

/** Parse a `torch.save` checkpoint held in memory (either format); returns its object graph with TorchTensor leaves. */
export function readTorchCheckpoint(bytes: Uint8Array, source = 'checkpoint'): unknown {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return readZipCheckpoint(bytes, source);
  if (bytes[0] === 0x80) return readLegacyCheckpoint(bytes, source);
  const tar = new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
  throw new FormatError(
    source,
    `not a PyTorch checkpoint (neither the zip nor the legacy pickle format of torch.save)` +
      (tar ? '; tar-format checkpoints from PyTorch < 0.1.10 are not supported: re-save it with a newer PyTorch' : ''),
  );
}

function readZipCheckpoint(bytes: Uint8Array, source: string): unknown {
  const files = new Map(readZip(bytes, source, 'checkpoint (zip archive)').map((e) => [e.name, e]));
  const member = (name: string) => files.get(name)?.data();
  const pklName = [...files.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pklName) throw new FormatError(source, 'no data.pkl inside the archive: not a torch.save checkpoint');
  const prefix = pklName.slice(0, -'data.pkl'.length);
  const order = member(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(order).trim() !== 'little') {
    throw new FormatError(source, 'big-endian checkpoints are not supported');
  }
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage') {
      throw new FormatError(source, `unknown persistent id ${String(pid).slice(0, 60)}`);
    }
    const [, type, key] = pid as [string, unknown, string];
    const cached = storages.get(key);
    if (cached) return cached;
    const raw = member(`${prefix}data/${key}`);
    if (!raw) throw new FormatError(source, `storage '${key}' is missing from the archive`);
    const s = { dtype: storageDType(type, key, source), bytes: raw };
    storages.set(key, s);
    return s;
  };
  const globals = tensorGlobals(source, (s, offset, shape, stride) => rebuildTensor(s, offset, shape, stride, source));
  // tensors are checked for NaN/Inf as they are rebuilt; other numbers (e.g. a logged loss) may be anything
  return unpickle(member(pklName)!, {
    globals,
    persistentLoad,
    source: `${source} (${pklName})`,
    allowNonFinite: true,
  });
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/**
 * A storage of a legacy file: its bytes follow the pickles, so tensors are rebuilt once they have been read. A view
 * storage (old releases saved tensors sharing part of a storage that way) is a slice of its root storage.
 */
interface LegacyStorage extends Storage {
  key: string;
  numel: number;
  view?: { root: LegacyStorage; offset: number };
}

function readLegacyCheckpoint(bytes: Uint8Array, source: string): unknown {
  let at = 0;
  const next = (what: string, opts: UnpickleOptions = {}): unknown => {
    if (at >= bytes.length) {
      throw new FormatError(source, `the file ends before the ${what} (truncated legacy checkpoint)`);
    }
    const r = unpickleAt(bytes, at, { ...opts, source: `${source} (legacy format, ${what})`, allowNonFinite: true });
    at = r.end;
    return r.value;
  };
  const magic = next('magic number');
  if (magic !== LEGACY_MAGIC) {
    throw new FormatError(
      source,
      'a pickle, but not a torch.save checkpoint (no PyTorch magic number); load it as a pickle',
    );
  }
  const version = next('protocol version');
  if (version !== LEGACY_PROTOCOL) {
    throw new FormatError(source, `legacy checkpoint protocol ${String(version)} is not supported (expected 1001)`);
  }
  const sysInfo = next('system info') as Record<string, unknown> | null;
  if (sysInfo && sysInfo['little_endian'] === false) {
    throw new FormatError(source, `big-endian checkpoints are not supported`);
  }

  const storages = new Map<string, LegacyStorage>();
  const root = (key: string, dtype: TorchDType, numel: number): LegacyStorage => {
    const s = storages.get(key) ?? { key, dtype, numel, bytes: new Uint8Array(0) };
    s.numel = Math.max(s.numel, numel);
    storages.set(key, s);
    return s;
  };
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
      throw new FormatError(source, `unknown persistent id ${String(pid).slice(0, 60)}`);
    }
    const [, type, rootKey, location, numel, viewMeta] = pid as [string, unknown, string, unknown, number, unknown];
    if (typeof location !== 'string') throw new FormatError(source, `storage '${rootKey}' has no device location`);
    const dtype = storageDType(type, String(rootKey), source);
    const base = root(String(rootKey), dtype, Number(numel));
    if (viewMeta === null || viewMeta === undefined) return base;
    if (!Array.isArray(viewMeta) || viewMeta.length !== 3) {
      throw new FormatError(source, `storage '${rootKey}' has a malformed view description`);
    }
    const [viewKey, offset, size] = viewMeta as [string, number, number];
    const key = String(viewKey);
    let v = storages.get(key);
    if (!v) {
      v = { key, dtype, numel: Number(size), bytes: new Uint8Array(0), view: { root: base, offset: Number(offset) } };
      storages.set(key, v);
    }
    return v;
  };
  const pending: { t: TorchTensor; s: LegacyStorage; offset: number; stride: number[] }[] = [];
  const globals = tensorGlobals(source, (s, offset, shape, stride) => {
    const t: TorchTensor = { kind: 'torch.Tensor', dtype: s.dtype, shape, data: new Float32Array(0) };
    pending.push({ t, s: s as LegacyStorage, offset, stride });
    return t;
  });
  const result = next('data', { globals, persistentLoad });

  const keys = next('storage keys');
  if (!Array.isArray(keys)) throw new FormatError(source, `the legacy storage key list is not a list`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const k of keys) {
    const s = storages.get(String(k));
    if (!s || s.view) throw new FormatError(source, `storage '${String(k)}' is listed but no tensor refers to it`);
    if (at + 8 > bytes.length) throw new FormatError(source, `the file ends before storage '${s.key}' (truncated)`);
    const count = view.getBigUint64(at, true);
    const nbytes = Number(count) * ITEMSIZE[s.dtype];
    if (!Number.isSafeInteger(nbytes) || at + 8 + nbytes > bytes.length) {
      throw new FormatError(source, `storage '${s.key}' needs ${count} elements but the file ends first (truncated)`);
    }
    s.bytes = bytes.subarray(at + 8, at + 8 + nbytes);
    at += 8 + nbytes;
  }
  for (const s of storages.values()) {
    if (!s.view) continue;
    const b = s.view.root.bytes;
    const from = s.view.offset * ITEMSIZE[s.dtype];
    const to = from + s.numel * ITEMSIZE[s.dtype];
    if (!(from >= 0 && to <= b.length)) {
      throw new FormatError(source, `storage view '${s.key}' reaches past its storage '${s.view.root.key}'`);
    }
    s.bytes = b.subarray(from, to);
  }
  for (const { t, s, offset, stride } of pending) {
    const root = s.view?.root ?? s;
    if (!root.bytes.length && s.numel > 0 && !keys.includes(root.key)) {
      throw new FormatError(source, `storage '${root.key}' is missing from the storage list`);
    }
    t.data = rebuildTensor(s, offset, t.shape, stride, source).data;
  }
  return result;
}
