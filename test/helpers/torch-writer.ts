/**
 * Writes checkpoints in the `torch.save` zip format without Python, for tests: pickle protocol 2 opcodes by hand
 * (dicts, OrderedDicts with a `_metadata` BUILD as PyTorch state dicts have, ints, strings, and tensors as
 * `torch._utils._rebuild_tensor_v2` over persistent storage ids), storages as raw little-endian files.
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
  global(module: string, name: string): void {
    this.byte(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function torchSave(root: Map<string, FakeValue>, archive = 'archive'): Uint8Array {
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
    w.str('storage');
    w.global('torch', 'FloatStorage');
    w.str(key);
    w.str('cpu');
    w.int(storages.get(key)!.length);
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
  const files: Record<string, Uint8Array> = {
    [`${archive}/data.pkl`]: w.bytes(),
    [`${archive}/byteorder`]: new TextEncoder().encode('little'),
    [`${archive}/version`]: new TextEncoder().encode('3\n'),
  };
  for (const [k, d] of storages) files[`${archive}/data/${k}`] = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return zipSync(files, { level: 0 });
}
