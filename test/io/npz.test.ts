import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndarray, toFloat64 } from '../../src/io/npy.js';
import { decodeNpz, encodeNpz } from '../../src/io/npz.js';
import { readNpz, writeNpz } from '../../src/io/node/npz.js';

const fixture = (name: string): string => new URL(`../fixtures/io/${name}`, import.meta.url).pathname;

describe('npz', () => {
  it('reads every dtype from a numpy-written compressed (zip64) archive', () => {
    const z = readNpz(fixture('numpy_all.npz'));
    expect(Array.from(toFloat64(z.get('f4')))).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect(z.get('f4').shape).toEqual([2, 3]);
    expect(Array.from(toFloat64(z.get('f8')))).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(Array.from(z.get('i8').data as BigInt64Array)).toEqual([-1n, 2n, 3n, 2n ** 40n]);
    expect(Array.from(z.get('u8').data as BigUint64Array)).toEqual([2n ** 63n + 5n]);
    expect(Array.from(toFloat64(z.get('u4')))).toEqual([4294967295, 1]);
    expect(Array.from(toFloat64(z.get('b1')))).toEqual([1, 0, 1]);
    expect(z.get('b1').dtype).toBe('b1');
    expect(Array.from(toFloat64(z.get('i2')))).toEqual([-32768, 5]);
    expect(Array.from(toFloat64(z.get('u2')))).toEqual([65535, 1]);
    expect(Array.from(toFloat64(z.get('f2')))).toEqual([0.5, -2, 65504]);
    expect(Array.from(toFloat64(z.get('fortran')))).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(Array.from(toFloat64(z.get('big')))).toEqual([1.5, -2.25]);
    expect(z.get('text')).toEqual({ dtype: 'U', shape: [], data: ['male'] });
    expect(z.get('scalar').shape).toEqual([]);
  });

  it('reads a stored (uncompressed) numpy archive', () => {
    expect(Array.from(toFloat64(readNpz(fixture('numpy_stored.npz')).get('a')))).toEqual([0, 1, 2, 3]);
  });

  it('round-trips our writer, stored and deflated, through a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npz-'));
    const arrays = {
      w: ndarray(new Float64Array([1, 2, 3, 4, 5, 6]), [3, 2]),
      f: ndarray(new Int32Array([0, 1, 2]), [1, 3]),
      s: ndarray(['neutral'], []),
    };
    for (const compress of [false, true]) {
      const path = join(dir, `a${compress}.npz`);
      writeNpz(path, arrays, { compress, arrayOptions: { w: { fortranOrder: true } } });
      const z = readNpz(path);
      expect(z.names).toEqual(['w', 'f', 's']);
      expect(z.get('w')).toEqual(arrays.w);
      expect(z.get('f')).toEqual(arrays.f);
      expect(z.get('s').data).toEqual(['neutral']);
    }
  });

  it('names the archive and its arrays when a key is missing, and rejects non-zips', () => {
    const z = decodeNpz(encodeNpz({ a: ndarray(new Float32Array([1]), [1]) }), 'model.npz');
    expect(() => z.get('b')).toThrow(/model\.npz: no array 'b' \(it holds: a\)/);
    expect(z.opt('b')).toBeUndefined();
    expect(() => decodeNpz(readFileSync(fixture('numpy_fortran.npy')), 'x.npz')).toThrow(/x\.npz: not an \.npz/);
    const broken = encodeNpz({ a: ndarray(new Float32Array([1]), [1]) }, { compress: true }).slice(0, 40);
    expect(() => decodeNpz(broken, 'cut.npz')).toThrow(/cut\.npz/);
  });
});
