import { describe, expect, it } from 'vitest';
import { floatsToHalves, floatToHalf, halfToFloat, halvesToFloats } from '../../src/io/half.js';
import { seededRandom } from '../../src/tensor/rng.js';

describe('halvesToFloats', () => {
  it('gives halfToFloat of every one of the 65,536 float16 bit patterns', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = halvesToFloats(all);
    for (let h = 0; h < 65536; h++) {
      const want = halfToFloat(h);
      if (Number.isNaN(want)) expect(out[h]).toBeNaN();
      else expect(Object.is(out[h], Math.fround(want)), `0x${h.toString(16)}`).toBe(true);
    }
    expect(halvesToFloats(new Uint16Array(0)).length).toBe(0);
  });
});

describe('floatsToHalves', () => {
  it('equals floatToHalf bit for bit: every float16 value, the midpoints between neighbours, edges and random floats', () => {
    const xs: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65520, 65519.99, 1e-8, -1e-8, 2 ** -24, 2 ** -25];
    for (let h = 0; h < 65536; h++) {
      const v = halfToFloat(h);
      xs.push(v);
      if (h < 0x7bff || (h > 0x8000 && h < 0xfbff)) xs.push((v + halfToFloat(h + 1)) / 2); // ties to even
    }
    const r = seededRandom(3);
    for (let i = 0; i < 100_000; i++) xs.push((r() - 0.5) * 2 ** Math.floor(r() * 60 - 30));
    const src = Float32Array.from(xs);
    const got = floatsToHalves(src);
    for (let i = 0; i < src.length; i++) expect(got[i], `${src[i]}`).toBe(floatToHalf(src[i]!));
    // a view into a larger buffer (byteOffset) converts only its own values
    const view = new Float32Array(src.buffer, 8, 5);
    expect(Array.from(floatsToHalves(view))).toEqual(Array.from(view, (v) => floatToHalf(v)));
  });
});
