/**
 * The fp32 'tuned' conv path (gemm-tuned.ts) against the float64 reference on odd shapes, the fused forward
 * epilogues on the fp32 GEMMs, and the fallback of 'tc2' / 'fast' to 'tuned' where the adapter has no tensor cores.
 * (The implicit-GEMM loaders the tuned kernel shares with 'tiled', incl. the input gradient's stride phases, are
 * tested in conv2d.test.ts; the tensor-core kernels in conv-tc2.test.ts.)
 *
 * Inputs are multiples of 2⁻¹⁰ in (−1, 1), as in the tensor-core tests; tolerance 1e-5.
 */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { convKernels, tensorCoresAvailable, type ConvKernelOptions } from '../../src/tensor/conv/conv2d-raw.js';
import { conv2dGeometry, convTranspose2dGeometry, type Conv2dOptions } from '../../src/tensor/conv/geometry.js';
import { seededRandom } from '../../src/tensor/reference/conv-check.js';
import {
  expectConv2dMatchesRef,
  expectFusedEpiloguesMatchRef,
  expectTransposedMatchesRef,
  type EpilogueCombo,
} from '../helpers/raw-buffers.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

const TOL = 1e-5;

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
}
const CASES: Case[] = [
  { x: [2, 3, 7, 9], w: [5, 3, 3, 3], o: { padding: 1 } },
  { x: [1, 5, 9, 8], w: [7, 5, 4, 4], o: { stride: 2, padding: [1, 2, 0, 1] } },
  { x: [1, 3, 13, 11], w: [6, 3, 3, 3], o: { stride: 2 } }, // the network's downsampling conv
  // several tiles in every GEMM dimension, K loop of many steps
  FULL_SWEEP
    ? { x: [2, 20, 12, 13], w: [70, 20, 3, 3], o: { padding: 1 } }
    : { x: [2, 8, 9, 8], w: [20, 8, 3, 3], o: { padding: 1 } },
];

const TUNED16: ConvKernelOptions = { path: 'tuned', tile: { bm: 16, bn: 16, bk: 4, tm: 4, tn: 4 } };

/** Each path with the cases of the full sweep (`npm run test:full`) and those `npm test` runs (helpers/sweep.ts). */
const PATHS: Array<[string, ConvKernelOptions, number[], number[]]> = [
  // partial tiles in every dimension, split-K on the weight gradient
  ['tuned 16×16×4 (4×4/thread)', TUNED16, [0, 1, 2, 3], [0]],
  // 8×4 per thread (two vec4 blocks along n); the default tile has 8×8
  [
    'tuned 32×32×8, never split',
    { path: 'tuned', tile: { bm: 32, bn: 32, bk: 8, tm: 4, tn: 8 }, splits: 1 },
    [1, 3],
    [],
  ],
  ['tuned default tile (128×128×8, 8×8/thread)', { path: 'tuned' }, [3], [3]],
];

describe('conv2d fast paths', () => {
  for (const [name, opts, all, fast] of PATHS)
    it.runIf(FULL_SWEEP || fast.length > 0)(
      `${name}: forward (bias), input and weight gradients match the reference`,
      async () => {
        const gpu = await getGpu();
        const rand = seededRandom(11);
        for (const c of (FULL_SWEEP ? all : fast).map((i) => CASES[i]!)) {
          const g = conv2dGeometry(c.x, c.w, c.o);
          await expectConv2dMatchesRef(gpu, rand, g, opts, TOL, `${JSON.stringify(c)} ${name}`);
        }
      },
    );

  // conv_transpose2d's wiring is path-independent (conv2d.test.ts runs it on 'tiled'): the full sweep only
  it.runIf(FULL_SWEEP)('conv_transpose2d (the upsampling StyledConv) on tuned', async () => {
    const gpu = await getGpu();
    const t = convTranspose2dGeometry([1, 6, 5, 4], [6, 5, 3, 3], { stride: 2 });
    await expectTransposedMatchesRef(gpu, seededRandom(12), t, [TUNED16], TOL);
  });

  it('fused epilogues (demodulation, noise, bias, leaky ReLU·√2), with and without split-K', async () => {
    const small = { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 };
    const variants: Array<[string, ConvKernelOptions]> = [
      ['tiled', { path: 'tiled', tile: small }],
      ['tiled split', { path: 'tiled', tile: small, splits: 4 }],
      ['tuned', TUNED16],
    ];
    const combos: EpilogueCombo[] = [
      { bias: true, demod: true, noise: 1, lrelu: true },
      { bias: false, demod: false, noise: 2, lrelu: true },
      { bias: true, demod: false, noise: 0, lrelu: false },
    ];
    // on the first case: the tuned variant's bias-only forward is the first tuned test's kernel
    const c = CASES[0]!;
    const g = conv2dGeometry(c.x, c.w, c.o);
    await expectFusedEpiloguesMatchRef(await getGpu(), seededRandom(13), variants, combos, TOL, g);
  });

  it("falls back cleanly: 'tc2' and 'fast' run the fp32 tuned kernel where the adapter lacks tensor cores", async () => {
    const gpu = await getGpu();
    const tc = tensorCoresAvailable(gpu);
    expect(convKernels(gpu, 'tc2')).toBe(tc ? 'tc2' : 'fp32-tuned');
    expect(convKernels(gpu, 'fast')).toBe(tc ? 'tc2' : 'fp32-tuned');
    expect(convKernels(gpu, 'tc2-sw')).toBe('tc2-sw');
    expect(convKernels(gpu, undefined)).toBe('fp32');
    if (tc) return; // the tensor-core result itself is checked by the bench on the GPU
    // the shape and tile of the first tuned test: its kernels, already compiled
    const c = CASES[0]!;
    const g = conv2dGeometry(c.x, c.w, c.o);
    await expectConv2dMatchesRef(gpu, seededRandom(14), g, { ...TUNED16, path: 'tc2' }, TOL, 'tc2 → tuned');
  });
});
