import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeNpy,
  encodeNpy,
  floatToHalf,
  halfToFloat,
  ndarray,
  toFloat64,
  toInt32,
  type NpyDType,
} from '../../src/io/npy.js';

const fixture = (name: string): Uint8Array => readFileSync(new URL(`../fixtures/io/${name}`, import.meta.url));

describe('npy', () => {
  it('round-trips every dtype in C and Fortran order', () => {
    const cases: [NpyDType, number[]][] = [
      ['f2', [0.5, -2, 65504, 0.099975586]],
      ['f4', [1.5, -2.25, 3e-8, 7]],
      ['f8', [Math.PI, -1e300, 0, 5]],
      ['i1', [-128, 127, 0, 1]],
      ['i2', [-32768, 32767, 0, 1]],
      ['i4', [-(2 ** 31), 2 ** 31 - 1, 0, 1]],
      ['i8', [-(2 ** 53) + 1, 2 ** 40, -1, 0]],
      ['u1', [0, 255, 1, 2]],
      ['u2', [0, 65535, 1, 2]],
      ['u4', [0, 4294967295, 1, 2]],
      ['u8', [0, 2 ** 53, 1, 2]],
      ['b1', [1, 0, 1, 1]],
    ];
    for (const [dtype, values] of cases) {
      const six = [...values, values[0]!, values[1]!];
      for (const fortranOrder of [false, true]) {
        const a = ndarray(new Float64Array(six), [2, 3]);
        const back = decodeNpy(encodeNpy(a, { dtype, fortranOrder }));
        expect(back.dtype).toBe(dtype);
        expect(back.shape).toEqual([2, 3]);
        const got = Array.from(toFloat64(back));
        if (dtype === 'f4' || dtype === 'f2')
          six.forEach((v, i) => expect(got[i]).toBeCloseTo(v, dtype === 'f2' ? 3 : 6));
        else expect(got).toEqual(six);
      }
    }
  });

  it('reads a Fortran-order file written by numpy in C order', () => {
    const a = decodeNpy(fixture('numpy_fortran.npy'));
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(toFloat64(a))).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('writes a header numpy can parse (aligned to 64 bytes, version 1.0)', () => {
    const bytes = encodeNpy(ndarray(new Float32Array([1, 2, 3]), [3]));
    const headerLen = bytes[8]! | (bytes[9]! << 8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = String.fromCharCode(...bytes.subarray(10, 10 + headerLen));
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
  });

  it('converts half floats exactly for representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -1, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -0]) {
      expect(halfToFloat(floatToHalf(v))).toBe(v);
    }
    expect(halfToFloat(floatToHalf(1 + 2 ** -11))).toBe(1); // tie -> even
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
  });

  it('maps unsigned all-ones to -1 in toInt32 (kintree_table roots)', () => {
    expect(Array.from(toInt32(new Uint32Array([4294967295, 3])))).toEqual([-1, 3]);
    expect(Array.from(toInt32(new BigInt64Array([-1n, 5n])))).toEqual([-1, 5]);
  });

  it('rejects malformed files with the reason', () => {
    expect(() => decodeNpy(new Uint8Array([1, 2, 3]), 'x.npy')).toThrow(/x\.npy: not a \.npy file/);
    const good = encodeNpy(ndarray(new Float64Array([1, 2, 3]), [3]));
    expect(() => decodeNpy(good.subarray(0, good.length - 4), 'y.npy')).toThrow(/y\.npy: truncated \.npy data/);
    // a complex dtype: same layout, descr replaced
    const header = "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }";
    const bad = new Uint8Array(10 + header.length + 1 + 16);
    bad.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length + 1, 0]);
    bad.set(new TextEncoder().encode(header + '\n'), 10);
    expect(() => decodeNpy(bad, 'z.npy')).toThrow(/z\.npy: unsupported numpy dtype '<c16'/);
  });
});
