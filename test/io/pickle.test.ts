import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toFloat64 } from '../../src/io/npy.js';
import { SETSTATE, isNdArray, sparseToDense, unpickle, type PyDict, type SparseMatrix } from '../../src/io/pickle.js';

const fixture = (name: string): Uint8Array => readFileSync(new URL(`../fixtures/io/${name}`, import.meta.url));

/** Build a pickle from opcodes given as strings (latin1) and byte arrays. */
function bytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
}
const u32le = (n: number): number[] => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const f64le = (v: number): number[] => Array.from(new Uint8Array(new Float64Array([v]).buffer));

describe('unpickle: hand-built byte strings', () => {
  it('protocol 0 text opcodes: dict, list, tuple, ints, floats, strings, None, bools', () => {
    const p = bytes(
      "(dp0\nS'a'\np1\n(lp2\nI1\naI-7\naF2.5\naL123456789012345678901L\naI01\naNasV\\u00e9t\\u00e9\np3\n(I1\nI2\ntp4\ns.",
    );
    const v = unpickle(p) as PyDict;
    expect(v['a']).toEqual([1, -7, 2.5, 123456789012345678901n, true, null]);
    expect(v['été']).toEqual([1, 2]);
  });

  it('binary opcodes with memo: BININT*, BINFLOAT, BINUNICODE, BINBYTES, TUPLE1-3, BINGET, SETITEMS', () => {
    const p = bytes(
      [0x80, 2],
      '}q\x00(',
      'X',
      u32le(1),
      'k',
      'K',
      [200],
      'X',
      u32le(2),
      'ab',
      'M',
      [0x34, 0x12],
      'X',
      u32le(1),
      'f',
      'G',
      [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18], // pi, big-endian
      'X',
      u32le(1),
      't',
      'J',
      u32le(-5 >>> 0),
      [0x88, 0x86], // NEWTRUE, TUPLE2
      'q\x01',
      'X',
      u32le(1),
      'r',
      'h\x01', // BINGET 1: the same tuple again
      'X',
      u32le(1),
      'b',
      'C\x03xyz',
      'X',
      u32le(1),
      'n',
      [0x8a, 0x02, 0xff, 0x7f], // LONG1 32767
      'u.',
    );
    const v = unpickle(p) as PyDict;
    expect(v['k']).toBe(200);
    expect(v['ab']).toBe(0x1234);
    expect(v['f']).toBe(Math.PI);
    expect(v['t']).toEqual([-5, true]);
    expect(v['r']).toBe(v['t']);
    expect(v['b']).toEqual(new Uint8Array([120, 121, 122]));
    expect(v['n']).toBe(32767);
  });

  it('protocol 4 framing, SHORT_BINUNICODE, MEMOIZE, EMPTY_SET/ADDITEMS, STACK_GLOBAL to OrderedDict', () => {
    const body = bytes(
      [0x8c, 11],
      'collections',
      [0x94, 0x8c, 11],
      'OrderedDict',
      [0x94, 0x93, 0x94], // STACK_GLOBAL, MEMOIZE
      ')R', // EMPTY_TUPLE REDUCE
      [0x94, 0x8c, 1],
      's',
      [0x8f, 0x94],
      '(K\x01K\x02',
      [0x90], // ADDITEMS
      's.',
    );
    const p = bytes(
      [0x80, 4, 0x95],
      Array.from(new Uint8Array(new BigUint64Array([BigInt(body.length)]).buffer)),
      Array.from(body),
    );
    const v = unpickle(p) as PyDict;
    expect(v['s']).toEqual(new Set([1, 2]));
  });

  it('a hand-built numpy array (GLOBAL _reconstruct, REDUCE, dtype BUILD, array BUILD) as Python 2 writes it', () => {
    const raw = [...f64le(1.5), ...f64le(-2)];
    const p = bytes(
      [0x80, 2],
      'cnumpy.core.multiarray\n_reconstruct\nq\x00',
      'cnumpy\nndarray\nq\x01',
      'K\x00',
      [0x85],
      'U\x01b',
      [0x87],
      'R',
      '(K\x01', // version
      'K\x02',
      [0x85], // shape (2,)
      'cnumpy\ndtype\nU\x02f8K\x00K\x01',
      [0x87],
      'R',
      '(K\x03U\x01<NNNJ',
      u32le(0xffffffff),
      'J',
      u32le(0xffffffff),
      'K\x00tb',
      [0x89], // NEWFALSE: not Fortran
      'T',
      u32le(16),
      raw,
      'tb.',
    );
    const a = unpickle(p);
    expect(isNdArray(a)).toBe(true);
    expect(a).toEqual({ dtype: 'f8', shape: [2], data: new Float64Array([1.5, -2]) });
  });

  it('refuses any other global, naming it, and never runs it', () => {
    expect(() => unpickle(bytes('cos\nsystem\n(S"echo hi"\ntR.'), { source: 'evil.pkl' })).toThrow(
      /evil\.pkl: refusing to load the Python class or function 'os\.system'/,
    );
    expect(() => unpickle(fixture('evil.pkl'))).toThrow(/'posix\.system'/);
  });

  it('rejects truncated and malformed pickles clearly', () => {
    expect(() => unpickle(bytes([0x80, 2], '}q'), { source: 'm.pkl' })).toThrow(/m\.pkl: truncated pickle/);
    expect(() => unpickle(bytes([0x80, 2], 'a.'))).toThrow(/stack underflow/);
    expect(() => unpickle(bytes([0x80, 2, 0xff]))).toThrow(/unknown pickle opcode 0xff/);
    expect(() => unpickle(bytes('NQ.'))).toThrow(/persistent/);
  });

  it('lets callers extend the table: custom globals, persistentLoad, SETSTATE (as a torch loader would)', () => {
    class Storage {
      state: unknown;
      [SETSTATE](s: unknown): void {
        this.state = s;
      }
    }
    const p = bytes(
      [0x80, 2],
      'ctorch._utils\n_rebuild_tensor_v2\n(',
      'X',
      u32le(3),
      'key',
      'Q',
      'K\x00K\x02',
      [0x85],
      'tR',
      'cmy\nThing\n)',
      [0x81],
      'K\x07b',
      [0x86],
      '.',
    );
    const v = unpickle(p, {
      globals: {
        'torch._utils._rebuild_tensor_v2': (args) => ({ storage: args[0], offset: args[1], size: args[2] }),
        'my.Thing': () => new Storage(),
      },
      persistentLoad: (pid) => `storage:${String(pid)}`,
    }) as [unknown, Storage];
    expect(v[0]).toEqual({ storage: 'storage:key', offset: 0, size: [2] });
    expect(v[1].state).toBe(7);
  });
});

describe('unpickle: files written by Python (numpy, scipy)', () => {
  for (const proto of [0, 2, 4, 5]) {
    it(`protocol ${proto}: arrays, Fortran arrays, scipy csc/csr, scalars, containers`, () => {
      const v = unpickle(fixture(`data_p${proto}.pkl`)) as PyDict;
      expect(v['arr']).toEqual({ dtype: 'f8', shape: [2, 3], data: new Float64Array([0, 1, 2, 3, 4, 5]) });
      expect(v['ints']).toEqual({ dtype: 'i8', shape: [2, 2], data: new BigInt64Array([1n, 2n, 3n, 4n]) });
      expect(Array.from(toFloat64(v['fort'] as never))).toEqual([0, 1, 2, 3, 4, 5]);
      const csc = v['sparse'] as SparseMatrix;
      expect(csc.format).toBe('csc');
      expect(Array.from(sparseToDense(csc))).toEqual([0, 1.5, 0, 2, 0, 0]);
      expect(Array.from(sparseToDense(v['csr'] as SparseMatrix))).toEqual([0, 0, 3, 4, 0, 0]);
      expect(v['name']).toBe('smplx');
      expect(v['n']).toBe(3);
      expect(v['x']).toBe(2.5);
      expect(v['flag']).toBe(true);
      expect(v['none']).toBeNull();
      expect(v['tup']).toEqual([1, 'a']);
      expect(v['nested']).toEqual(Object.assign(Object.create(null), { k: [1, 2, 3] }));
      expect(v['scal']).toBe(0.25);
      expect(v['big']).toBe(2n ** 70n);
    });
  }

  it('unwraps chumpy Ch objects to their array, keeping shared references shared', () => {
    const v = unpickle(fixture('chumpy_p2.pkl')) as PyDict;
    expect(v['shapedirs']).toEqual({ dtype: 'f8', shape: [3], data: new Float64Array([1, 2, 3]) });
    expect(v['same']).toBe(v['shapedirs']);
  });
});
