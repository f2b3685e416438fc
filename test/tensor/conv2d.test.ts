import { describe, expect, it } from 'vitest';
import { getGpu, type Gpu } from '../../src/gpu/index.js';
import {
  conv2dBackwardBiasRaw,
  conv2dBackwardInputRaw,
  conv2dBackwardWeightRaw,
  conv2dForwardRaw,
  convTranspose2dBackwardBiasRaw,
  convTranspose2dBackwardInputRaw,
  convTranspose2dBackwardWeightRaw,
  convTranspose2dForwardRaw,
  type ConvKernelOptions,
} from '../../src/tensor/conv/conv2d-raw.js';
import { conv2dGeometry, convTranspose2dGeometry, type Conv2dOptions } from '../../src/tensor/conv/geometry.js';
import {
  conv2dBackwardRef,
  conv2dRef,
  convTranspose2dBackwardRef,
  convTranspose2dRef,
} from '../../src/tensor/reference/conv.js';
import { finiteDiffError, randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import { withBuffers } from '../helpers/raw-buffers.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

const TOL = 1e-4;

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
  bias: boolean;
}

const CASES: Case[] = [
  { x: [2, 3, 7, 9], w: [5, 3, 3, 3], o: { padding: 1 }, bias: true },
  { x: [1, 5, 9, 8], w: [7, 5, 4, 4], o: { stride: 2, padding: [1, 2, 0, 1] }, bias: true },
  { x: [2, 4, 11, 13], w: [3, 4, 1, 1], o: {}, bias: false },
  { x: [1, 3, 13, 11], w: [6, 3, 3, 3], o: { stride: 2 }, bias: true },
  { x: [1, 7, 6, 5], w: [4, 7, 2, 3], o: { stride: [2, 1], padding: [0, 1, 2, 0] }, bias: false },
  { x: [1, 3, 10, 12], w: [4, 3, 4, 4], o: { stride: 2, padding: 1 }, bias: true },
  // several tiles in every GEMM dimension, K loop of many steps
  { x: [2, 20, 12, 13], w: [70, 20, 3, 3], o: { padding: 1 }, bias: true },
];

// Per-shape kernels compile slowly on lavapipe: most shapes run with small tiles; the default tile runs on a few.
// Each path lists the cases of the full sweep (`npm run test:full`, all when omitted) and those `npm test` runs
// (helpers/sweep.ts); 'direct', the CPU adapters' path, runs every case in both.
const SMALL = { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 };
const ALL = CASES.map((_, i) => i);
const PATHS: Array<[string, ConvKernelOptions, number[], number[]]> = [
  ['direct', { path: 'direct' }, ALL, ALL],
  // 1×1; stride (2, 1) with a 2×3 kernel and asymmetric padding; several tiles
  ['tiled 16×16×4 (K split where the output is small)', { path: 'tiled', tile: SMALL }, ALL, [2, 4, 6]],
  ['tiled 16×16×4, never split', { path: 'tiled', tile: SMALL, splits: 1 }, ALL, [1]],
  ['tiled 16×16×4, 5 splits', { path: 'tiled', tile: SMALL, splits: 5 }, [1, 6], [1]],
  ['tiled 32×16×8, 2 splits', { path: 'tiled', tile: { bm: 32, bn: 16, bk: 8, tm: 2, tn: 2 }, splits: 2 }, [0, 6], [6]],
  // the default tile's kernels take 5–10 s each to compile on lavapipe: the full sweep (its generator runs on the
  // small tiles above; bench/conv.ts checks it against the direct kernels at full size on the GPU)
  ['tiled default tile', { path: 'tiled' }, [6], []],
];

describe('conv2d', () => {
  it('float64 reference backward matches finite differences', () => {
    const rand = seededRandom(1);
    for (const c of CASES.slice(0, 6)) {
      const g = conv2dGeometry(c.x, c.w, c.o);
      const x = randomF32(g.n * g.cin * g.h * g.w, rand);
      const w = randomF32(g.cout * g.cin * g.kh * g.kw, rand);
      const b = randomF32(g.cout, rand);
      const gy = randomF32(g.n * g.cout * g.ho * g.wo, rand);
      const { gx, gw, gb } = conv2dBackwardRef(g, x, w, gy);
      expect(finiteDiffError((v) => conv2dRef(g, v, w, b), x, gy, gx, rand)).toBeLessThan(1e-7);
      expect(finiteDiffError((v) => conv2dRef(g, x, v, b), w, gy, gw, rand)).toBeLessThan(1e-7);
      expect(finiteDiffError((v) => conv2dRef(g, x, w, v), b, gy, gb, rand)).toBeLessThan(1e-7);
    }
  });

  for (const [name, opts, all, fast] of PATHS) {
    it.runIf(FULL_SWEEP || fast.length > 0)(
      `GPU ${name}: forward, input, weight and bias gradients match the reference`,
      async () => {
        const gpu = await getGpu();
        const rand = seededRandom(2);
        for (const c of (FULL_SWEEP ? all : fast).map((i) => CASES[i]!)) {
          const g = conv2dGeometry(c.x, c.w, c.o);
          const x = randomF32(g.n * g.cin * g.h * g.w, rand);
          const w = randomF32(g.cout * g.cin * g.kh * g.kw, rand);
          const b = randomF32(g.cout, rand);
          const gy = randomF32(g.n * g.cout * g.ho * g.wo, rand);
          const yRef = conv2dRef(g, x, w, c.bias ? b : null);
          const ref = conv2dBackwardRef(g, x, w, gy);
          await withBuffers(gpu, async (up, out) => {
            const [bx, bw, bb, bgy] = [up(x), up(w), up(b), up(gy)];
            const by = out(yRef.length);
            const bgx = out(x.length);
            const bgw = out(w.length);
            const bgb = out(b.length);
            conv2dForwardRaw(gpu, g, bx, bw, c.bias ? bb : null, by, opts);
            conv2dBackwardInputRaw(gpu, g, bgy, bw, bgx, opts);
            conv2dBackwardWeightRaw(gpu, g, bx, bgy, bgw, opts);
            conv2dBackwardBiasRaw(gpu, g, bgy, bgb);
            const tag = `${JSON.stringify(c)} ${name}`;
            expect(relError(await gpu.readF32(by, yRef.length), yRef), `y ${tag}`).toBeLessThan(TOL);
            expect(relError(await gpu.readF32(bgx, x.length), ref.gx), `gx ${tag}`).toBeLessThan(TOL);
            expect(relError(await gpu.readF32(bgw, w.length), ref.gw), `gw ${tag}`).toBeLessThan(TOL);
            expect(relError(await gpu.readF32(bgb, b.length), ref.gb), `gb ${tag}`).toBeLessThan(TOL);
          });
        }
      },
    );
  }
});

const T_CASES: Array<{
  x: [number, number, number, number];
  w: [number, number, number, number];
  s: number;
  p: number;
  op?: number;
}> = [
  { x: [2, 5, 5, 6], w: [5, 3, 3, 3], s: 2, p: 0 }, // StyleGAN2's upsampling conv
  { x: [1, 3, 4, 7], w: [3, 4, 4, 4], s: 2, p: 1 },
  { x: [1, 4, 5, 3], w: [4, 2, 3, 3], s: 1, p: 0 },
  { x: [1, 3, 5, 5], w: [3, 2, 3, 3], s: 2, p: 1, op: 1 },
];

describe('conv_transpose2d', () => {
  it('float64 reference (scatter form) backward matches finite differences', () => {
    const rand = seededRandom(3);
    for (const c of T_CASES) {
      const t = convTranspose2dGeometry(c.x, c.w, { stride: c.s, padding: c.p, outputPadding: c.op ?? 0 });
      const x = randomF32(t.n * t.cin * t.h * t.w, rand);
      const w = randomF32(
        c.w.reduce((a, b) => a * b),
        rand,
      );
      const b = randomF32(t.cout, rand);
      const gy = randomF32(t.n * t.cout * t.hout * t.wout, rand);
      const { gx, gw, gb } = convTranspose2dBackwardRef(t, x, w, gy);
      expect(finiteDiffError((v) => convTranspose2dRef(t, v, w, b), x, gy, gx, rand)).toBeLessThan(1e-7);
      expect(finiteDiffError((v) => convTranspose2dRef(t, x, v, b), w, gy, gw, rand)).toBeLessThan(1e-7);
      expect(finiteDiffError((v) => convTranspose2dRef(t, x, w, v), b, gy, gb, rand)).toBeLessThan(1e-7);
    }
  });

  it('output size follows PyTorch: (H−1)·s − 2p + k + output_padding', () => {
    expect(convTranspose2dGeometry([1, 8, 16, 16], [8, 4, 3, 3], { stride: 2 }).hout).toBe(33);
    expect(convTranspose2dGeometry([1, 8, 16, 16], [8, 4, 4, 4], { stride: 2, padding: 1 }).hout).toBe(32);
  });

  // npm test: direct on every case, the tiled paths on one each (the full sweep: every case)
  const T_FAST = [
    [0, 1, 2, 3],
    [3], // output padding: phases of unequal size
    [0], // StyleGAN2's upsampling conv
  ];
  for (const [k, [name, opts]] of PATHS.slice(0, 3).entries()) {
    it(`GPU ${name}: forward and gradients match the reference`, async () => {
      const gpu = await getGpu();
      const rand = seededRandom(4);
      for (const c of FULL_SWEEP ? T_CASES : T_FAST[k]!.map((i) => T_CASES[i]!)) {
        const t = convTranspose2dGeometry(c.x, c.w, { stride: c.s, padding: c.p, outputPadding: c.op ?? 0 });
        const x = randomF32(t.n * t.cin * t.h * t.w, rand);
        const w = randomF32(
          c.w.reduce((a, b) => a * b),
          rand,
        );
        const b = randomF32(t.cout, rand);
        const gy = randomF32(t.n * t.cout * t.hout * t.wout, rand);
        const yRef = convTranspose2dRef(t, x, w, b);
        const ref = convTranspose2dBackwardRef(t, x, w, gy);
        await withBuffers(gpu, async (up, out) => {
          const [bx, bw, bb, bgy] = [up(x), up(w), up(b), up(gy)];
          const [by, bgx, bgw, bgb] = [out(yRef.length), out(x.length), out(w.length), out(b.length)];
          convTranspose2dForwardRaw(gpu, t, bx, bw, bb, by, opts);
          convTranspose2dBackwardInputRaw(gpu, t, bgy, bw, bgx, opts);
          convTranspose2dBackwardWeightRaw(gpu, t, bx, bgy, bgw, opts);
          convTranspose2dBackwardBiasRaw(gpu, t, bgy, bgb);
          const tag = `${JSON.stringify(c)} ${name}`;
          expect(relError(await gpu.readF32(by, yRef.length), yRef), `y ${tag}`).toBeLessThan(TOL);
          expect(relError(await gpu.readF32(bgx, x.length), ref.gx), `gx ${tag}`).toBeLessThan(TOL);
          expect(relError(await gpu.readF32(bgw, w.length), ref.gw), `gw ${tag}`).toBeLessThan(TOL);
          expect(relError(await gpu.readF32(bgb, b.length), ref.gb), `gb ${tag}`).toBeLessThan(TOL);
        });
      }
    });
  }
});
