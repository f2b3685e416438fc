/**
 * Writes checkpoints in both `torch.save` formats without Python, for tests: pickle protocol 2 opcodes by hand
 * (dicts, OrderedDicts with a `_metadata` BUILD as PyTorch state dicts have, ints, strings, and tensors as
 * `torch._utils._rebuild_tensor_v2` over persistent storage ids). The zip format stores storages as raw
 * little-endian files; the legacy format appends them after the pickles (see torchSaveLegacy).
 */
import { zipSync } from 'fflate';

export interface FakeTensor {
  data: Float32Array;
  shape: number[];
  /** Defaults to row-major strides; other strides read `data` as the storage. */
  stride?: number[];
  offset?: number;
  /** Share another tensor's storage (by its key in the dict). */
  storageOf?: string;
  /** Legacy format only, with storageOf: the storage is the view [offset, offset + size) of the other's storage. */
  storageView?: { offset: number; size: number };
}

export type FakeValue = number | string | FakeTensor | { ordered: Map<string, FakeValue> } | Map<string, FakeValue>;

class PickleWriter {
  private parts: number[] = [];
  byte(...b: number[]): void {
    this.parts.push(...b);
  }
  u32(v: number): void {
    this.byte(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.byte(0x58);
    this.u32(b.length);
    this.byte(...b);
  }
  int(v: number): void {
    this.byte(0x4a);
    this.u32(v >>> 0);
  }
  /** LONG1: a little-endian two's-complement integer of any size. */
  long(v: bigint): void {
    const b: number[] = [];
    for (let x = v; x !== 0n && x !== -1n; x >>= 8n) b.push(Number(x & 255n));
    if (b.length === 0 || (b[b.length - 1]! & 0x80) !== (v < 0n ? 0x80 : 0)) b.push(v < 0n ? 255 : 0);
    this.byte(0x8a, b.length, ...b);
  }
  global(module: string, name: string): void {
    this.byte(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

interface Pickled {
  pickle: Uint8Array;
  /** Storages in the order first referenced, by key. */
  storages: Map<string, Float32Array>;
}

/**
 * The object pickle of a checkpoint. `persistentId` writes a tensor's persistent storage id (the tuple's items
 * only: the caller's MARK/TUPLE/BINPERSID surround them).
 */
function pickleObject(
  root: Map<string, FakeValue>,
  persistentId: (w: PickleWriter, key: string, numel: number, t: FakeTensor, ownerKey: string) => void,
): Pickled {
  const w = new PickleWriter();
  const storages = new Map<string, Float32Array>();
  const storageKeyOf = new Map<FakeTensor, string>();
  const byName = new Map<string, FakeTensor>();
  const collect = (m: Map<string, FakeValue>) => {
    for (const [k, v] of m) {
      if (v instanceof Map) collect(v);
      else if (typeof v === 'object' && 'ordered' in v) collect(v.ordered);
      else if (typeof v === 'object') byName.set(k, v);
    }
  };
  collect(root);
  const tensor = (t: FakeTensor) => {
    let key = storageKeyOf.get(t);
    if (!key) {
      const owner = t.storageOf ? byName.get(t.storageOf)! : t;
      key = storageKeyOf.get(owner) ?? String(storages.size);
      storageKeyOf.set(owner, key);
      storageKeyOf.set(t, key);
      if (!storages.has(key)) storages.set(key, owner.data);
    }
    const stride = t.stride ?? t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.byte(0x28); // MARK (args)
    w.byte(0x28);
    persistentId(w, key, storages.get(key)!.length, t, key);
    w.byte(0x74, 0x51); // TUPLE, BINPERSID
    w.int(t.offset ?? 0);
    w.byte(0x28);
    for (const d of t.shape) w.int(d);
    w.byte(0x74, 0x28);
    for (const s of stride) w.int(s);
    w.byte(0x74, 0x89); // TUPLE, NEWFALSE
    w.global('collections', 'OrderedDict');
    w.byte(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    w.byte(0x74, 0x52); // TUPLE, REDUCE
  };
  const value = (v: FakeValue): void => {
    if (typeof v === 'number') w.int(v);
    else if (typeof v === 'string') w.str(v);
    else if (v instanceof Map) dict(v);
    else if ('ordered' in v) {
      w.global('collections', 'OrderedDict');
      w.byte(0x29, 0x52, 0x28);
      for (const [k, x] of v.ordered) {
        w.str(k);
        value(x);
      }
      w.byte(0x75); // SETITEMS
      w.byte(0x7d, 0x28); // state {'_metadata': {}} applied by BUILD, as PyTorch's state dicts carry
      w.str('_metadata');
      w.byte(0x7d, 0x75, 0x62);
    } else tensor(v);
  };
  const dict = (m: Map<string, FakeValue>) => {
    w.byte(0x7d, 0x28);
    for (const [k, x] of m) {
      w.str(k);
      value(x);
    }
    w.byte(0x75);
  };
  w.byte(0x80, 0x02);
  dict(root);
  w.byte(0x2e);
  return { pickle: w.bytes(), storages };
}

export function torchSave(root: Map<string, FakeValue>, archive = 'archive'): Uint8Array {
  const { pickle, storages } = pickleObject(root, (w, key, numel) => {
    w.str('storage');
    w.global('torch', 'FloatStorage');
    w.str(key);
    w.str('cpu');
    w.int(numel);
  });
  const files: Record<string, Uint8Array> = {
    [`${archive}/data.pkl`]: pickle,
    [`${archive}/byteorder`]: new TextEncoder().encode('little'),
    [`${archive}/version`]: new TextEncoder().encode('3\n'),
  };
  for (const [k, d] of storages) files[`${archive}/data/${k}`] = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return zipSync(files, { level: 0 });
}

/** One small pickle holding a single value written by `fill`. */
function smallPickle(fill: (w: PickleWriter) => void): Uint8Array {
  const w = new PickleWriter();
  w.byte(0x80, 0x02);
  fill(w);
  w.byte(0x2e);
  return w.bytes();
}

/**
 * The legacy (pre-1.6) `torch.save` format: pickles back to back (magic number, protocol version 1001, sys_info,
 * the object with persistent ids ('storage', type, root key, location, numel, view metadata), the storage keys),
 * then per key an 8-byte little-endian element count and the raw bytes. `location` is what a GPU save writes
 * ('cuda:0'); the data is the same.
 */
export function torchSaveLegacy(root: Map<string, FakeValue>, opts: { location?: string } = {}): Uint8Array {
  const location = opts.location ?? 'cpu';
  let views = 0;
  const { pickle, storages } = pickleObject(root, (w, key, numel, t) => {
    w.str('storage');
    w.global('torch', 'FloatStorage');
    w.str(`root${key}`);
    w.str(location);
    w.int(numel);
    if (t.storageView) {
      w.byte(0x28);
      w.str(`view${views++}`);
      w.int(t.storageView.offset);
      w.int(t.storageView.size);
      w.byte(0x74);
    } else w.byte(0x4e); // NONE
  });
  const parts: Uint8Array[] = [
    smallPickle((w) => w.long(0x1950a86a20f9469cfc6cn)),
    smallPickle((w) => w.int(1001)),
    smallPickle((w) => {
      w.byte(0x7d, 0x28);
      w.str('protocol_version');
      w.int(1001);
      w.str('little_endian');
      w.byte(0x88);
      w.str('type_sizes');
      w.byte(0x7d, 0x28);
      for (const [k, v] of [
        ['short', 2],
        ['int', 4],
        ['long', 4],
      ] as const) {
        w.str(k);
        w.int(v);
      }
      w.byte(0x75, 0x75);
    }),
    pickle,
    smallPickle((w) => {
      w.byte(0x5d, 0x28);
      for (const k of storages.keys()) w.str(`root${k}`);
      w.byte(0x65); // APPENDS
    }),
  ];
  for (const d of storages.values()) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigUint64(0, BigInt(d.length), true);
    parts.push(count, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
