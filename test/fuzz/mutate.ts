/**
 * Seeded corruptions of valid files for the reader fuzz suite: truncation, byte flips, huge counts and sizes
 * (u32/u64 fields), NaN/±Inf floats, zeroed runs, duplicated slices, and for text (headers, JSON, YAML) numbers
 * replaced by huge, negative or non-numeric tokens and JSON values replaced by values of the wrong type.
 */

export { seededRandom as rng } from '../../src/tensor/rng.js';

export type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, a: readonly T[]): T => a[int(r, a.length)]!;

export type Mutation = (b: Uint8Array, r: Rand) => Uint8Array;

export const truncate: Mutation = (b, r) => b.slice(0, int(r, b.length));

export const flipBytes: Mutation = (b, r) => {
  const out = b.slice();
  const n = 1 + int(r, 8);
  for (let k = 0; k < n && out.length; k++) out[int(r, out.length)] ^= 1 + int(r, 255);
  return out;
};

const HUGE_U32 = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0x00ffffff, 0xfffffffe];
export const hugeCount: Mutation = (b, r) => {
  const out = b.slice();
  if (out.length < 8) return out;
  const dv = new DataView(out.buffer);
  const aligned = r() < 0.5;
  if (r() < 0.7) {
    let o = int(r, out.length - 3);
    if (aligned) o &= ~3;
    dv.setUint32(o, r() < 0.8 ? pick(r, HUGE_U32) : int(r, 2 ** 32), r() < 0.8);
  } else {
    let o = int(r, out.length - 7);
    if (aligned) o &= ~7;
    dv.setBigUint64(o, pick(r, [2n ** 40n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n]), true);
  }
  return out;
};

export const nanInf: Mutation = (b, r) => {
  const out = b.slice();
  if (out.length < 8) return out;
  const dv = new DataView(out.buffer);
  const v = pick(r, [NaN, Infinity, -Infinity, 3.4e38, -1e30]);
  const n = 1 + int(r, 3);
  for (let k = 0; k < n; k++) {
    if (r() < 0.7) dv.setFloat32(int(r, out.length - 3) & ~3, v, true);
    else dv.setFloat64(int(r, out.length - 7) & ~7, v, true);
  }
  return out;
};

export const zeroRun: Mutation = (b, r) => {
  const out = b.slice();
  const at = int(r, out.length);
  out.fill(0, at, at + 1 + int(r, 64));
  return out;
};

export const duplicate: Mutation = (b, r) => {
  const a = int(r, b.length);
  const len = 1 + int(r, Math.min(256, b.length - a));
  const at = int(r, b.length + 1);
  const out = new Uint8Array(b.length + len);
  out.set(b.subarray(0, at), 0);
  out.set(b.subarray(a, a + len), at);
  out.set(b.subarray(at), at + len);
  return out;
};

const NUMBER_TOKENS = ['99999999999999999999', '4294967295', '-1', '-7', '0', '1e400', 'abc', 'nan', 'inf', '1.5', ''];
/** Replace a run of ASCII digits (in a header, JSON or YAML) by a huge, negative or non-numeric token. */
export const textNumber: Mutation = (b, r) => {
  const runs: [number, number][] = [];
  for (let i = 0; i < b.length && runs.length < 4096; i++) {
    if (b[i]! >= 0x30 && b[i]! <= 0x39) {
      let j = i;
      while (j < b.length && b[j]! >= 0x30 && b[j]! <= 0x39) j++;
      runs.push([i, j]);
      i = j;
    }
  }
  if (!runs.length) return flipBytes(b, r);
  const [s, e] = pick(r, runs);
  const tok = new TextEncoder().encode(pick(r, NUMBER_TOKENS));
  const out = new Uint8Array(b.length - (e - s) + tok.length);
  out.set(b.subarray(0, s), 0);
  out.set(tok, s);
  out.set(b.subarray(e), s + tok.length);
  return out;
};

const WRONG_VALUES: unknown[] = [
  'abc',
  '',
  null,
  true,
  [],
  {},
  [1, 2],
  [[1, 2, 3, 4], [5], [6, 7, 8]],
  1e308,
  -1,
  0,
  0.5,
  [[[1]]],
  { a: 1 },
];
/** Parse JSON, replace one value anywhere in it by a value of another type or shape, serialise again. */
export const jsonWrongType: Mutation = (b, r) => {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(b));
  } catch {
    return flipBytes(b, r);
  }
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach((v, i) => (slots.push({ parent: x, key: i }), walk(v)));
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) (slots.push({ parent: x as Record<string, unknown>, key: k }), walk(v));
    }
  };
  walk(doc);
  if (!slots.length) return new TextEncoder().encode(JSON.stringify(pick(r, WRONG_VALUES)));
  const s = pick(r, slots);
  const v = structuredClone(pick(r, WRONG_VALUES));
  if (r() < 0.15 && !Array.isArray(s.parent)) delete (s.parent as Record<string, unknown>)[s.key as string];
  else (s.parent as Record<string | number, unknown>)[s.key] = v;
  return new TextEncoder().encode(JSON.stringify(doc));
};

/** The binary mutations, weighted towards the ones that find most. */
export const BINARY: Mutation[] = [
  truncate,
  flipBytes,
  flipBytes,
  hugeCount,
  hugeCount,
  nanInf,
  nanInf,
  zeroRun,
  duplicate,
  textNumber,
];
export const TEXT: Mutation[] = [truncate, flipBytes, textNumber, textNumber, textNumber, duplicate, zeroRun];
export const JSON_MUTATIONS: Mutation[] = [...TEXT, jsonWrongType, jsonWrongType, jsonWrongType, jsonWrongType];

/** One corrupted copy: 1 to 3 mutations in a row. */
export function corrupt(b: Uint8Array, r: Rand, kinds: readonly Mutation[] = BINARY): Uint8Array {
  let out = b;
  const n = 1 + (r() < 0.3 ? int(r, 3) : 0);
  for (let k = 0; k < n; k++) out = pick(r, kinds)(out, r);
  return out;
}
