import { describe, expect, it } from 'vitest';
import { getGpu, type Gpu } from '../../src/gpu/index.js';
import {
  haarDwtBackwardRaw,
  haarDwtRaw,
  haarIwtBackwardRaw,
  haarIwtRaw,
  upfirdn2dAdjointRaw,
  upfirdn2dRaw,
  type PlaneView,
} from '../../src/tensor/conv/upfirdn.js';
import { upfirdnGeometry, type UpfirdnOptions } from '../../src/tensor/conv/upfirdn-geometry.js';
import { adjointForm, forwardForm, tiledPlan } from '../../src/tensor/conv/upfirdn-tiled.js';
import { randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import { upfirdn2dAdjointRef, upfirdn2dRef } from '../../src/tensor/reference/upfirdn.js';
import { withBuffers } from '../helpers/raw-buffers.js';
import { sweep } from '../helpers/sweep.js';

const TOL = 1e-5;

// Odd sizes, negative padding, up 2 / down 2, mixed factors, non-separable random FIRs.
// Most cases use 2×2 outputs per invocation (the generated code compiles ~5× faster on lavapipe than the default
// 4×4); `b: 4` runs the default block (vec4 stores where the output width allows).
const CASES: Array<{ p: number; h: number; w: number; kh: number; kw: number; o: UpfirdnOptions; b?: 4 }> = [
  { p: 3, h: 7, w: 9, kh: 4, kw: 4, o: { pad: [2, 2] }, b: 4 }, // blur before a stride-2 conv
  { p: 2, h: 9, w: 11, kh: 4, kw: 4, o: { pad: [1, 1] } }, // blur after a transposed conv
  { p: 2, h: 5, w: 6, kh: 4, kw: 4, o: { up: 2, pad: [2, 1] } }, // Upsample(2)
  { p: 4, h: 9, w: 7, kh: 4, kw: 4, o: { down: 2, pad: [1, 1] } }, // Downsample(2)
  { p: 2, h: 6, w: 5, kh: 3, kw: 2, o: { up: [3, 2], down: [2, 3], pad: [1, -1, 2, 0] } },
  { p: 1, h: 8, w: 9, kh: 5, kw: 3, o: { pad: [-2, 3, 1, -1] } },
  { p: 3, h: 5, w: 5, kh: 2, kw: 2, o: { up: 2, pad: [1, 0, 1, 0] } }, // IWT geometry
  { p: 2, h: 7, w: 9, kh: 2, kw: 2, o: { down: 2 } }, // DWT geometry, odd sizes
  { p: 70, h: 3, w: 4, kh: 3, kw: 3, o: { up: 2, down: 2, pad: [1, 0] } }, // more planes than one workgroup holds
  { p: 1, h: 13, w: 37, kh: 4, kw: 4, o: { up: 2, pad: [2, 1] }, b: 4 }, // several blocks per row, vec4 stores
  { p: 2, h: 19, w: 40, kh: 4, kw: 4, o: { down: 2, pad: [1, 1] } },
];

describe('upfirdn2d tiled path', () => {
  it('forward and adjoint match the float64 reference and the direct kernel', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(41);
    // npm test: a blur, Upsample(2), Downsample(2), mixed factors with negative padding, many planes, the default
    // block with several blocks per row and vec4 stores (the DWT / IWT geometries run in the fused Haar test below);
    // all in the full sweep
    for (const c of sweep(CASES, [1, 2, 3, 4, 8, 9])) {
      const g = upfirdnGeometry(c.p, c.h, c.w, c.kh, c.kw, c.o);
      const x = randomF32(c.p * c.h * c.w, rand);
      const k = randomF32(c.kh * c.kw, rand);
      const gy = randomF32(c.p * g.ho * g.wo, rand);
      await withBuffers(gpu, async (up, out) => {
        const [bx, bk, bgy] = [up(x), up(k), up(gy)];
        const [by, bgx, dy, dgx] = [out(gy.length), out(x.length), out(gy.length), out(x.length)];
        const t = { path: 'tiled', block: c.b ? ([4, 4] as const) : ([2, 2] as const) } as const;
        upfirdn2dRaw(gpu, g, bx, bk, by, t);
        upfirdn2dAdjointRaw(gpu, g, bgy, bk, bgx, t);
        upfirdn2dRaw(gpu, g, bx, bk, dy, { path: 'direct' });
        upfirdn2dAdjointRaw(gpu, g, bgy, bk, dgx, { path: 'direct' });
        const msg = JSON.stringify(c);
        const y = await gpu.readF32(by, gy.length);
        const gx = await gpu.readF32(bgx, x.length);
        expect(relError(y, upfirdn2dRef(g, x, k)), msg).toBeLessThan(TOL);
        expect(relError(gx, upfirdn2dAdjointRef(g, gy, k)), msg).toBeLessThan(TOL);
        expect(relError(y, await gpu.readF32(dy, gy.length)), msg).toBeLessThan(TOL);
        expect(relError(gx, await gpu.readF32(dgx, x.length)), msg).toBeLessThan(TOL);
      });
    }
  });

  it('channel views and accumulate (batch 2, a slice of a wider tensor), forward and adjoint', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(42);
    const [n, c, C, off, h, w] = [2, 3, 8, 4, 6, 7];
    const g = upfirdnGeometry(n * c, h, w, 4, 4, { up: 2, pad: [2, 1] });
    const inView: PlaneView = { channels: c, batchStride: C, chanOffset: off };
    const big = randomF32(n * C * h * w, rand);
    const k = randomF32(16, rand);
    const y0 = randomF32(n * c * g.ho * g.wo, rand);
    // the slice as a dense tensor
    const slice = new Float32Array(n * c * h * w);
    for (let b = 0; b < n; b++)
      slice.set(big.subarray((b * C + off) * h * w, (b * C + off + c) * h * w), b * c * h * w);
    const ref = upfirdn2dRef(g, slice, k).map((v, i) => v + y0[i]!);
    // adjoint into the slice, accumulating onto `big`
    const gy = randomF32(n * c * g.ho * g.wo, rand);
    const adj = upfirdn2dAdjointRef(g, gy, k);
    const bigRef = Float64Array.from(big);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < c * h * w; i++) bigRef[(b * C + off) * h * w + i]! += adj[b * c * h * w + i]!;
    await withBuffers(gpu, async (up) => {
      const by = up(y0);
      upfirdn2dRaw(gpu, g, up(big), up(k), by, { inView, accumulate: true, path: 'tiled', block: [2, 2] });
      expect(relError(await gpu.readF32(by, y0.length), ref)).toBeLessThan(TOL);
      const bb = up(big);
      upfirdn2dAdjointRaw(gpu, g, up(gy), up(k), bb, { inView, accumulate: true, path: 'tiled', block: [2, 2] });
      expect(relError(await gpu.readF32(bb, big.length), bigRef)).toBeLessThan(TOL);
    });
  });

  it('generates only live taps: Upsample(2) has 4 FMAs per output, Downsample(2) 16, blur 16', () => {
    const fmas = (src: string) => (src.match(/fma\(/g) ?? []).length;
    const up = upfirdnGeometry(1, 64, 64, 4, 4, { up: 2, pad: [2, 1] });
    expect(fmas(tiledPlan(forwardForm(up)).source)).toBe(16 * 4);
    expect(fmas(tiledPlan(adjointForm(up)).source)).toBe(16 * 16); // adjoint of up 2 is a down 2
    const down = upfirdnGeometry(1, 64, 64, 4, 4, { down: 2, pad: [1, 1] });
    expect(fmas(tiledPlan(forwardForm(down)).source)).toBe(16 * 16);
    expect(fmas(tiledPlan(adjointForm(down)).source)).toBe(16 * 4);
    const blur = upfirdnGeometry(1, 65, 65, 4, 4, { pad: [1, 1] });
    expect(fmas(tiledPlan(forwardForm(blur)).source)).toBe(16 * 16);
    expect(tiledPlan(forwardForm(blur)).source).toContain('array<vec4f>');
  });
});

describe('fused Haar kernels', () => {
  it('DWT, IWT and both gradients match the four-dispatch upfirdn2d oracle (odd sizes, batch 2)', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(43);
    const shapes = [
      [2, 3, 6, 8],
      [1, 2, 7, 9],
      [2, 1, 5, 4],
    ] as const;
    for (const [n, c, h, w] of sweep(shapes, [1, 2])) {
      const [hb, wb] = [h >> 1, w >> 1];
      const x = randomF32(n * c * h * w, rand);
      const bands = randomF32(n * 4 * c * hb * wb, rand);
      const up2 = randomF32(n * c * 4 * hb * wb, rand);
      await withBuffers(gpu, async (up, out) => {
        const [bx, bb, bu] = [up(x), up(bands), up(up2)];
        const run = async (path: 'fused' | 'upfirdn') => {
          const o = { path } as const;
          const r = [out(bands.length), out(x.length), out(up2.length), out(bands.length)];
          haarDwtRaw(gpu, n, c, h, w, bx, r[0]!, o);
          haarDwtBackwardRaw(gpu, n, c, h, w, bb, r[1]!, o);
          haarIwtRaw(gpu, n, c, hb, wb, bb, r[2]!, o);
          haarIwtBackwardRaw(gpu, n, c, hb, wb, bu, r[3]!, o);
          return Promise.all([
            gpu.readF32(r[0]!, bands.length),
            gpu.readF32(r[1]!, x.length),
            gpu.readF32(r[2]!, up2.length),
            gpu.readF32(r[3]!, bands.length),
          ]);
        };
        const fused = await run('fused');
        const oracle = await run('upfirdn');
        fused.forEach((v, i) => expect(relError(v, oracle[i]!), `${[n, c, h, w]} #${i}`).toBeLessThan(TOL));
      });
    }
  });
});
