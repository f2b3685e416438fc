/**
 * IEEE float16 <-> number on the CPU, rounding to nearest even as the GPU does: the one conversion used by the
 * file formats (npy, EXR, PyTorch storages) and by f16 tensors.
 */

/** float16 bits -> number (subnormals, infinities, NaN). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** float32 bit patterns of all 65,536 float16 values (made at the first bulk conversion: 256 KiB). */
let table: Uint32Array | null = null;

/**
 * A whole float16 array -> float32, through a table of the 65,536 bit patterns: ~1 ns a value, where a call of
 * halfToFloat per value through Float32Array.from's iterator took ~180 ns (a full-size avatar's 226M weights:
 * 41 s in the web player's load, measured on the H200 host).
 */
export function halvesToFloats(src: Uint16Array): Float32Array {
  if (!table) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
    table = new Uint32Array(t.buffer);
  }
  const out = new Uint32Array(src.length);
  const tab = table;
  for (let i = 0; i < src.length; i++) out[i] = tab[src[i]!]!;
  return new Float32Array(out.buffer);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** Round-to-nearest-even float32 -> float16 bits. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h; // a carry into the exponent is still correct (may round up to infinity)
}

/**
 * A whole float32 array -> float16 bits, the same rounding as floatToHalf (which it equals bit for bit on every
 * input), reading the float32 bits through one Uint32Array view instead of a scratch write per value: the web
 * export's 226M weights took ~6 s more at f16 than at f32 through a per-value call (measured on the H200 host).
 */
export function floatsToHalves(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const e = exp - 112; // the float16 exponent field: exp − 127 + 15
    if (e > 0 && e < 31) {
      // normal float16 (the common case): round the 13 dropped bits to nearest even; a carry into the exponent
      // rounds up correctly (up to infinity at the top)
      const h = (e << 10) | ((x >>> 13) & 0x3ff);
      const rem = x & 0x1fff;
      out[i] = sign | (rem > 0x1000 || (rem === 0x1000 && h & 1) ? h + 1 : h);
    } else out[i] = floatToHalf(src[i]!);
  }
  return out;
}
