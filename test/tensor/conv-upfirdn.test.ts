import { describe, expect, it } from 'vitest';
import { getGpu, type Gpu } from '../../src/gpu/index.js';
import {
  haarDwtBackwardRaw,
  haarDwtRaw,
  haarIwtBackwardRaw,
  haarIwtRaw,
  separableFilterBackwardRaw,
  separableFilterRaw,
  upfirdn2dAdjointRaw,
  upfirdn2dRaw,
} from '../../src/tensor/conv/upfirdn.js';
import { upfirdnGeometry, type UpfirdnOptions } from '../../src/tensor/conv/upfirdn-geometry.js';
import { finiteDiffError, randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import {
  blurKernel,
  gaussianWindow,
  haarDwtRef,
  haarIwtRef,
  upfirdn2dAdjointRef,
  upfirdn2dRef,
} from '../../src/tensor/reference/upfirdn.js';
import { withBuffers } from '../helpers/raw-buffers.js';

const TOL = 1e-4;

const CASES: Array<{ p: number; h: number; w: number; kh: number; kw: number; o: UpfirdnOptions }> = [
  { p: 3, h: 7, w: 9, kh: 4, kw: 4, o: { pad: [2, 2] } }, // Blur before a stride-2 conv
  { p: 2, h: 5, w: 6, kh: 4, kw: 4, o: { up: 2, pad: [2, 1] } }, // Upsample
  { p: 4, h: 9, w: 7, kh: 4, kw: 4, o: { down: 2, pad: [1, 1] } }, // Downsample
  { p: 2, h: 6, w: 5, kh: 3, kw: 2, o: { up: [3, 2], down: [2, 3], pad: [1, -1, 2, 0] } }, // everything, with a crop
  { p: 1, h: 8, w: 9, kh: 5, kw: 3, o: { pad: [-2, 3, 1, -1] } },
  { p: 3, h: 5, w: 5, kh: 2, kw: 2, o: { up: 2, pad: [1, 0, 1, 0] } }, // the IWT geometry
];

describe('upfirdn2d', () => {
  it('reference matches a literal upsample → pad/crop → flipped-kernel correlation → decimate', () => {
    const rand = seededRandom(10);
    for (const c of CASES) {
      const g = upfirdnGeometry(c.p, c.h, c.w, c.kh, c.kw, c.o);
      const x = randomF32(c.p * c.h * c.w, rand);
      const k = randomF32(c.kh * c.kw, rand);
      // literal pipeline, one step at a time
      const hu = c.h * g.upY;
      const wu = c.w * g.upX;
      const hp = hu + g.padY0 + g.padY1;
      const wp = wu + g.padX0 + g.padX1;
      const out = new Float64Array(c.p * g.ho * g.wo);
      for (let p = 0; p < c.p; p++) {
        const U = new Float64Array(hu * wu);
        for (let i = 0; i < c.h; i++)
          for (let j = 0; j < c.w; j++) U[i * g.upY * wu + j * g.upX] = x[(p * c.h + i) * c.w + j]!;
        const Pd = new Float64Array(hp * wp);
        for (let i = 0; i < hp; i++)
          for (let j = 0; j < wp; j++) {
            const u = i - g.padY0;
            const v = j - g.padX0;
            if (u >= 0 && u < hu && v >= 0 && v < wu) Pd[i * wp + j] = U[u * wu + v]!;
          }
        for (let oy = 0; oy < g.ho; oy++)
          for (let ox = 0; ox < g.wo; ox++) {
            let s = 0;
            for (let a = 0; a < c.kh; a++)
              for (let b = 0; b < c.kw; b++)
                s += Pd[(oy * g.downY + a) * wp + ox * g.downX + b]! * k[(c.kh - 1 - a) * c.kw + (c.kw - 1 - b)]!;
            out[(p * g.ho + oy) * g.wo + ox] = s;
          }
      }
      expect(relError(upfirdn2dRef(g, x, k), out)).toBeLessThan(1e-12);
      const gy = randomF32(out.length, rand);
      const gx = upfirdn2dAdjointRef(g, gy, k);
      expect(finiteDiffError((v) => upfirdn2dRef(g, v, k), x, gy, gx, rand)).toBeLessThan(1e-7);
    }
  });

  it('output sizes follow StyleGAN2 ((H·up + p0 + p1 − k) // down + 1)', () => {
    expect(upfirdnGeometry(1, 16, 16, 4, 4, { up: 2, pad: [2, 1] }).ho).toBe(32);
    expect(upfirdnGeometry(1, 16, 16, 4, 4, { down: 2, pad: [1, 1] }).ho).toBe(8);
    expect(upfirdnGeometry(1, 16, 16, 4, 4, { pad: [2, 2] }).ho).toBe(17);
    expect(upfirdnGeometry(1, 16, 16, 4, 4, { pad: [1, 1] }).ho).toBe(15);
  });

  it('GPU forward and adjoint match the reference', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(11);
    for (const c of CASES) {
      const g = upfirdnGeometry(c.p, c.h, c.w, c.kh, c.kw, c.o);
      const x = randomF32(c.p * c.h * c.w, rand);
      const k = randomF32(c.kh * c.kw, rand);
      const gy = randomF32(c.p * g.ho * g.wo, rand);
      await withBuffers(gpu, async (up, out) => {
        const [bx, bk, bgy] = [up(x), up(k), up(gy)];
        const [by, bgx] = [out(gy.length), out(x.length)];
        upfirdn2dRaw(gpu, g, bx, bk, by);
        upfirdn2dAdjointRaw(gpu, g, bgy, bk, bgx);
        expect(relError(await gpu.readF32(by, gy.length), upfirdn2dRef(g, x, k)), JSON.stringify(c)).toBeLessThan(TOL);
        expect(relError(await gpu.readF32(bgx, x.length), upfirdn2dAdjointRef(g, gy, k))).toBeLessThan(TOL);
      });
    }
  });

  it('blur kernels: [1,3,3,1] outer product normalised to 1, ×factor² for upsampling', () => {
    const k = blurKernel();
    expect(k.reduce((a, b) => a + b)).toBeCloseTo(1, 14);
    expect(k[0]).toBeCloseTo(1 / 64, 15);
    expect(k[5]).toBeCloseTo(9 / 64, 15);
    expect(blurKernel([1, 3, 3, 1], 2).reduce((a, b) => a + b)).toBeCloseTo(4, 14);
  });
});

describe('Haar DWT / IWT', () => {
  it('reference: IWT(DWT(x)) = x for even sizes, and DWT(IWT(y)) = y', () => {
    const rand = seededRandom(12);
    const x = randomF32(2 * 3 * 6 * 8, rand);
    const y = haarDwtRef(2, 3, 6, 8, x);
    expect(y.length).toBe(2 * 12 * 3 * 4);
    expect(relError(haarIwtRef(2, 3, 3, 4, y), x)).toBeLessThan(1e-14);
    const z = randomF32(1 * 8 * 3 * 5, rand);
    expect(relError(haarDwtRef(1, 2, 6, 10, haarIwtRef(1, 2, 3, 5, z)), z)).toBeLessThan(1e-14);
    // a constant image has only a low band: ll = 2·x, the rest 0 (channel order [ll, lh, hl, hh])
    const ones = new Float64Array(4 * 4).fill(1);
    const d = haarDwtRef(1, 1, 4, 4, ones);
    expect(Array.from(d.slice(0, 4))).toEqual([2, 2, 2, 2].map((v) => expect.closeTo(v, 12) as unknown as number));
    expect(Math.max(...Array.from(d.slice(4)).map(Math.abs))).toBeLessThan(1e-15);
    // a vertical ramp (rows differ) shows up in lh (rows follow h = (−1, 1)/√2), not in hl
    const ramp = Float64Array.from({ length: 16 }, (_, i) => Math.floor(i / 4));
    const r = haarDwtRef(1, 1, 4, 4, ramp);
    expect(Math.abs(r[4]!)).toBeGreaterThan(0.5);
    expect(Math.abs(r[8]!)).toBeLessThan(1e-15);
  });

  it('GPU DWT, IWT and their gradients match the reference (odd sizes included)', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(13);
    for (const [n, c, h, w] of [
      [2, 3, 6, 8],
      [1, 5, 7, 9],
    ] as const) {
      const x = randomF32(n * c * h * w, rand);
      const ho = h >> 1;
      const wo = w >> 1;
      const gy = randomF32(n * 4 * c * ho * wo, rand);
      const xi = randomF32(n * 4 * c * ho * wo, rand);
      const gi = randomF32(n * c * 4 * ho * wo, rand);
      const dwtRef = haarDwtRef(n, c, h, w, x);
      const iwtRef = haarIwtRef(n, c, ho, wo, xi);
      // GPU gradients against finite differences of the float64 references
      expect(finiteDiffError((v) => haarDwtRef(n, c, h, w, v), x, gy, await gpuGrad('dwt'), rand)).toBeLessThan(1e-6);
      expect(finiteDiffError((v) => haarIwtRef(n, c, ho, wo, v), xi, gi, await gpuGrad('iwt'), rand)).toBeLessThan(
        1e-6,
      );
      async function gpuGrad(which: 'dwt' | 'iwt'): Promise<Float32Array> {
        return withBuffers(gpu, async (up, out) => {
          if (which === 'dwt') {
            const g = out(x.length);
            haarDwtBackwardRaw(gpu, n, c, h, w, up(gy), g);
            return gpu.readF32(g, x.length);
          }
          const g = out(xi.length);
          haarIwtBackwardRaw(gpu, n, c, ho, wo, up(gi), g);
          return gpu.readF32(g, xi.length);
        });
      }
      await withBuffers(gpu, async (up, out) => {
        const by = out(dwtRef.length);
        haarDwtRaw(gpu, n, c, h, w, up(x), by);
        expect(relError(await gpu.readF32(by, dwtRef.length), dwtRef)).toBeLessThan(TOL);
        const bz = out(iwtRef.length);
        haarIwtRaw(gpu, n, c, ho, wo, up(xi), bz);
        expect(relError(await gpu.readF32(bz, iwtRef.length), iwtRef)).toBeLessThan(TOL);
        if (h % 2 === 0 && w % 2 === 0) {
          const back = out(x.length);
          haarIwtRaw(gpu, n, c, ho, wo, by, back);
          expect(relError(await gpu.readF32(back, x.length), x)).toBeLessThan(1e-6);
        }
      });
    }
  });
});

describe('separable depthwise filter (Gaussian window)', () => {
  it('GPU matches a direct 2-D correlation and its gradient matches finite differences', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(14);
    const win = gaussianWindow(5, 1.5);
    expect(win.reduce((a, b) => a + b)).toBeCloseTo(1, 14);
    const asym = Float64Array.from([0.1, 0.5, 0.2, -0.3]); // an asymmetric window checks the orientation
    for (const [planes, h, w, wnd, pad] of [
      [3, 9, 11, win, 'valid'],
      [2, 7, 6, win, 'same'],
      [2, 6, 7, asym, 'same'],
    ] as const) {
      const K = wnd.length;
      const p0 = pad === 'same' ? (K - 1) >> 1 : 0;
      const ho = pad === 'same' ? h : h - K + 1;
      const wo = pad === 'same' ? w : w - K + 1;
      const ref = (x: ArrayLike<number>) => {
        const y = new Float64Array(planes * ho * wo);
        for (let p = 0; p < planes; p++)
          for (let i = 0; i < ho; i++)
            for (let j = 0; j < wo; j++) {
              let s = 0;
              for (let a = 0; a < K; a++)
                for (let b = 0; b < K; b++) {
                  const u = i + a - p0;
                  const v = j + b - p0;
                  if (u >= 0 && u < h && v >= 0 && v < w) s += wnd[a]! * wnd[b]! * x[(p * h + u) * w + v]!;
                }
              y[(p * ho + i) * wo + j] = s;
            }
        return y;
      };
      const x = randomF32(planes * h * w, rand);
      const gy = randomF32(planes * ho * wo, rand);
      await withBuffers(gpu, async (up, out) => {
        const [by, bgx] = [out(gy.length), out(x.length)];
        separableFilterRaw(gpu, planes, h, w, wnd, pad, up(x), by);
        separableFilterBackwardRaw(gpu, planes, h, w, wnd, pad, up(gy), bgx);
        expect(relError(await gpu.readF32(by, gy.length), ref(x))).toBeLessThan(TOL);
        const gx = await gpu.readF32(bgx, x.length);
        expect(finiteDiffError(ref, x, gy, gx, rand)).toBeLessThan(1e-4);
      });
    }
  });
});

describe('FIR helpers of the model', () => {
  it('Upsample(2) pads (2,1) and doubles; Downsample(2) pads (1,1) and halves; upsampling keeps a constant', async () => {
    const { upsampleSpec, downsampleSpec, blurSpec } = await import('../../src/tensor/conv/fir.js');
    const u = upsampleSpec();
    expect(u.opts).toEqual({ up: 2, pad: [2, 1] });
    expect(upfirdnGeometry(1, 8, 8, 4, 4, u.opts).ho).toBe(16);
    const d = downsampleSpec();
    expect(d.opts).toEqual({ down: 2, pad: [1, 1] });
    expect(upfirdnGeometry(1, 8, 8, 4, 4, d.opts).ho).toBe(4);
    expect(blurSpec([1, 1], [1, 3, 3, 1], 2).kernel.reduce((a, b) => a + b)).toBeCloseTo(4, 6);
    // a constant image upsampled stays constant away from the borders
    const g = upfirdnGeometry(1, 6, 6, 4, 4, u.opts);
    const y = upfirdn2dRef(g, new Float64Array(36).fill(1), u.kernel);
    expect(y[5 * g.wo + 5]).toBeCloseTo(1, 6);
  });
});
