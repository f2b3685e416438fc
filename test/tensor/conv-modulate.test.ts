import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { modulateBackwardRaw, modulateRaw } from '../../src/tensor/conv/modulate.js';
import { maxPool2BackwardRaw, maxPool2Raw } from '../../src/tensor/conv/pool2.js';
import {
  maxPool2BackwardRef,
  maxPool2Ref,
  modulateBackwardRef,
  modulateRef,
  type ModulateGeom,
} from '../../src/tensor/reference/conv.js';
import { finiteDiffError, randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';

const TOL = 1e-4;

const GEOMS: ModulateGeom[] = [
  { n: 2, cout: 5, cin: 3, kh: 3, kw: 3, demodulate: true },
  { n: 1, cout: 7, cin: 67, kh: 3, kw: 3, demodulate: true }, // kk > 64: several strides of the reduction
  { n: 3, cout: 4, cin: 6, kh: 1, kw: 1, demodulate: false }, // ToRGB
  { n: 2, cout: 3, cin: 5, kh: 4, kw: 2, demodulate: true },
  { n: 1, cout: 5, cin: 9, kh: 1, kw: 1, demodulate: false }, // one style, no demodulation (ToRGB in the network)
];

describe('modulated conv weights', () => {
  it('reference: demodulated filters have unit norm; backward matches finite differences', () => {
    const rand = seededRandom(20);
    for (const m of GEOMS) {
      const kk = m.cin * m.kh * m.kw;
      const w = randomF32(m.cout * kk, rand);
      const s = randomF32(m.n * m.cin, rand, 2);
      const { wm } = modulateRef(m, w, s);
      if (m.demodulate) {
        let ss = 0;
        for (let j = 0; j < kk; j++) ss += wm[j]! ** 2;
        expect(ss).toBeCloseTo(1, 6);
      }
      const g = randomF32(wm.length, rand);
      const { gw, gs } = modulateBackwardRef(m, w, s, g);
      expect(finiteDiffError((v) => modulateRef(m, v, s).wm, w, g, gw, rand)).toBeLessThan(1e-7);
      expect(finiteDiffError((v) => modulateRef(m, w, v).wm, s, g, gs, rand)).toBeLessThan(1e-7);
    }
  });

  it('GPU forward and backward match the reference', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(21);
    for (const m of GEOMS) {
      const kk = m.cin * m.kh * m.kw;
      const w = randomF32(m.cout * kk, rand);
      const s = randomF32(m.n * m.cin, rand, 2);
      const g = randomF32(m.n * m.cout * kk, rand);
      const ref = modulateRef(m, w, s);
      const refB = modulateBackwardRef(m, w, s, g);
      const [bw, bs, bg] = [gpu.bufferFrom(w), gpu.bufferFrom(s), gpu.bufferFrom(g)];
      const [bwm, bd, bgw, bgs] = [g.length, m.n * m.cout, w.length, s.length].map((n) => gpu.pool.acquire(n * 4));
      modulateRaw(gpu, m, bw, bs, bwm!, bd!);
      modulateBackwardRaw(gpu, m, bw, bs, bd!, bg, bgw!, bgs!);
      expect(relError(await gpu.readF32(bwm!, g.length), ref.wm)).toBeLessThan(TOL);
      expect(relError(await gpu.readF32(bd!, m.n * m.cout), ref.d)).toBeLessThan(TOL);
      expect(relError(await gpu.readF32(bgw!, w.length), refB.gw), `gw ${JSON.stringify(m)}`).toBeLessThan(TOL);
      expect(relError(await gpu.readF32(bgs!, s.length), refB.gs), `gs ${JSON.stringify(m)}`).toBeLessThan(TOL);
      for (const b of [bw, bs, bg, bwm!, bd!, bgw!, bgs!]) gpu.pool.release(b);
    }
  });

  it("transposed: w'' written as [n, cin, cout, kh, kw] and its gradient read so, the same values", async () => {
    const gpu = await getGpu();
    const rand = seededRandom(22);
    for (const m of GEOMS) {
      const k2 = m.kh * m.kw;
      const kk = m.cin * k2;
      const w = randomF32(m.cout * kk, rand);
      const s = randomF32(m.n * m.cin, rand, 2);
      const g = randomF32(m.n * m.cout * kk, rand);
      // [n, cout, cin, k2] -> [n, cin, cout, k2]
      const t = (a: ArrayLike<number>) => {
        const out = new Float64Array(a.length);
        for (let b = 0; b < m.n; b++)
          for (let o = 0; o < m.cout; o++)
            for (let i = 0; i < m.cin; i++)
              for (let r = 0; r < k2; r++)
                out[((b * m.cin + i) * m.cout + o) * k2 + r] = a[((b * m.cout + o) * m.cin + i) * k2 + r]!;
        return out;
      };
      const ref = modulateRef(m, w, s);
      const refB = modulateBackwardRef(m, w, s, g);
      const [bw, bs, bg] = [gpu.bufferFrom(w), gpu.bufferFrom(s), gpu.bufferFrom(Float32Array.from(t(g)))];
      const [bwm, bd, bgw, bgs] = [g.length, m.n * m.cout, w.length, s.length].map((n) => gpu.pool.acquire(n * 4));
      modulateRaw(gpu, m, bw, bs, bwm!, bd!, true);
      modulateBackwardRaw(gpu, m, bw, bs, bd!, bg, bgw!, bgs!, true);
      expect(relError(await gpu.readF32(bwm!, g.length), t(ref.wm))).toBeLessThan(TOL);
      expect(relError(await gpu.readF32(bgw!, w.length), refB.gw), `gw ${JSON.stringify(m)}`).toBeLessThan(TOL);
      expect(relError(await gpu.readF32(bgs!, s.length), refB.gs), `gs ${JSON.stringify(m)}`).toBeLessThan(TOL);
      for (const b of [bw, bs, bg, bwm!, bd!, bgw!, bgs!]) gpu.pool.release(b);
    }
  });
});

describe('2×2 max pool', () => {
  it('GPU forward and backward match the reference (odd sizes drop the last row/column)', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(22);
    for (const [nc, h, w] of [
      [3, 6, 8],
      [4, 7, 9],
    ] as const) {
      const x = randomF32(nc * h * w, rand);
      const gy = randomF32(nc * (h >> 1) * (w >> 1), rand);
      const yRef = maxPool2Ref(nc, h, w, x);
      const gRef = maxPool2BackwardRef(nc, h, w, x, gy);
      expect(finiteDiffError((v) => maxPool2Ref(nc, h, w, v), x, gy, gRef, rand, 20, 1e-7)).toBeLessThan(1e-7);
      const [bx, bgy] = [gpu.bufferFrom(x), gpu.bufferFrom(gy)];
      const [by, bgx] = [gpu.pool.acquire(gy.length * 4), gpu.pool.acquire(x.length * 4)];
      maxPool2Raw(gpu, nc, h, w, bx, by);
      maxPool2BackwardRaw(gpu, nc, h, w, bx, bgy, bgx);
      expect(relError(await gpu.readF32(by, gy.length), yRef)).toBe(0);
      expect(relError(await gpu.readF32(bgx, x.length), gRef)).toBe(0);
      for (const b of [bx, bgy, by, bgx]) gpu.pool.release(b);
    }
  });
});
