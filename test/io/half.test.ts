import { describe, expect, it } from 'vitest';
import { halfToFloat, halvesToFloats } from '../../src/io/half.js';

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
