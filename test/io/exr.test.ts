import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zlibSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeExr, encodeExr, floatToHalf, halfToFloat, type ExrImage } from '../../src/io/exr.js';
import { readExrXyz, writeExrXyz } from '../../src/io/node/exr.js';

const dir = mkdtempSync(join(tmpdir(), 'animgs-exr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rand(n: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 4 - 2;
  });
}

/** An EXR built byte by byte from the format description, independently of the encoder. */
function handBuiltZipExr(width: number, height: number, chans: Record<string, Float32Array>): Uint8Array {
  const out: number[] = [];
  const str = (s: string) => out.push(...Buffer.from(s, 'latin1'), 0);
  const le32 = (v: number) => out.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  le32(20000630);
  le32(2);
  const names = Object.keys(chans).sort();
  // channels
  str('channels');
  str('chlist');
  le32(names.reduce((s, n) => s + n.length + 1 + 16, 0) + 1);
  for (const n of names) {
    str(n);
    le32(2); // FLOAT
    out.push(0, 0, 0, 0);
    le32(1);
    le32(1);
  }
  out.push(0);
  str('compression');
  str('compression');
  le32(1);
  out.push(3); // ZIP
  for (const w of ['dataWindow', 'displayWindow']) {
    str(w);
    str('box2i');
    le32(16);
    le32(0);
    le32(0);
    le32(width - 1);
    le32(height - 1);
  }
  str('lineOrder');
  str('lineOrder');
  le32(1);
  out.push(0);
  out.push(0); // end of header
  const nChunks = Math.ceil(height / 16);
  const tableAt = out.length;
  for (let i = 0; i < nChunks * 8; i++) out.push(0);
  for (let c = 0; c < nChunks; c++) {
    const offset = out.length;
    for (let b = 0; b < 8; b++) out[tableAt + c * 8 + b] = Math.floor(offset / 256 ** b) % 256;
    const rows = Math.min(16, height - c * 16);
    const raw: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (const n of names) {
        const bytes = new Uint8Array(chans[n]!.slice((c * 16 + r) * width, (c * 16 + r + 1) * width).buffer);
        raw.push(...bytes);
      }
    }
    // interleave: even-index bytes, then odd-index bytes; then predictor d[i] = t[i] - t[i-1] + 128
    const t = [...raw.filter((_, i) => i % 2 === 0), ...raw.filter((_, i) => i % 2 === 1)];
    const d = t.map((v, i) => (i === 0 ? v : (v - t[i - 1]! + 128 + 256) % 256));
    const z = zlibSync(Uint8Array.from(d));
    le32(c * 16);
    le32(z.length);
    out.push(...z);
  }
  return Uint8Array.from(out);
}

describe('OpenEXR', () => {
  it('reads a hand-built ZIP file (B, G, R float channels, 2 chunks)', () => {
    const w = 7,
      h = 19;
    const B = rand(w * h, 3),
      G = rand(w * h, 4),
      R = rand(w * h, 5);
    B[0] = 0; // background pixels, as in a position map
    const img = decodeExr(handBuiltZipExr(w, h, { R, G, B }), 'hand-built');
    expect(img.width).toBe(w);
    expect(img.height).toBe(h);
    expect(img.compression).toBe('zip');
    expect(img.channels.map((c) => c.name)).toEqual(['B', 'G', 'R']);
    expect(img.channels[0]!.data).toEqual(B);
    expect(img.channels[1]!.data).toEqual(G);
    expect(img.channels[2]!.data).toEqual(R);
  });

  for (const compression of ['none', 'zip'] as const) {
    for (const type of ['float', 'half'] as const) {
      it(`round-trips ${compression}/${type} (odd size, 35 rows = 3 ZIP chunks)`, () => {
        const w = 13,
          h = 35;
        const a = rand(w * h, 7),
          b = rand(w * h, 8);
        for (let i = 0; i < 100; i++) a[i] = 0; // compressible run
        const bytes = encodeExr(
          w,
          h,
          [
            { name: 'Z', data: a },
            { name: 'A', data: b },
          ],
          { compression, type },
        );
        const img: ExrImage = decodeExr(bytes);
        expect(img.channels.map((c) => c.name)).toEqual(['A', 'Z']);
        const tol = type === 'half' ? 1e-3 : 0;
        const got = img.channels[1]!.data;
        for (let i = 0; i < w * h; i++) expect(Math.abs(got[i]! - a[i]!)).toBeLessThanOrEqual(tol * 2);
        expect(Math.abs(img.channels[0]!.data[5]! - b[5]!)).toBeLessThanOrEqual(tol * 2);
      });
    }
  }

  it('writes and reads a cv2-style xyz map (x -> B, y -> G, z -> R) atomically', () => {
    const w = 16,
      h = 8;
    const data = rand(w * h * 3, 11);
    const path = join(dir, 'map.exr');
    writeExrXyz(path, { width: w, height: h, data });
    const m = readExrXyz(path);
    expect(m.width).toBe(w);
    expect(m.data).toEqual(data);
  });

  it('half conversion is exact on representable values and rounds to nearest', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -0.333251953125]) {
      expect(halfToFloat(floatToHalf(v))).toBe(v);
    }
    expect(halfToFloat(floatToHalf(1 / 3))).toBeCloseTo(1 / 3, 3);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
  });

  it('names the problem for bad input', () => {
    expect(() => decodeExr(new Uint8Array(10), 'x.exr')).toThrow(/x.exr: not an OpenEXR file/);
    const good = handBuiltZipExr(4, 4, { R: rand(16), G: rand(16), B: rand(16) });
    expect(() => decodeExr(good.subarray(0, good.length - 10), 'cut.exr')).toThrow(/cut.exr/);
    const piz = good.slice();
    const at = Buffer.from(piz).indexOf(Buffer.from('compression\0compression\0', 'latin1')) + 24 + 4;
    piz[at] = 4;
    expect(() => decodeExr(piz, 'p.exr')).toThrow(/PIZ/);
  });
});
