/**
 * The fast conv paths (issue 4) against the float64 reference on odd shapes: fp32 tuned, the tensor-core kernel's
 * software-subgroup-matrix twin ('tc-sw', same tiling/offsets as 'tc'), the fused forward epilogues, the fallback
 * of 'tc' where the adapter has no subgroup matrices, and a structural check of the hardware 'tc' WGSL.
 *
 * Inputs are multiples of 2⁻¹⁰ in (−1, 1): exact in f16, their products exact in f32, so the f16 paths must agree
 * with the float64 reference to f32 summation accuracy (tolerance 1e-5): any indexing slip shows.
 */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { convEngine, tensorCoresAvailable, type ConvKernelOptions } from '../../src/tensor/conv/conv2d-raw.js';
import { gemmTcWgsl, TC_TILE, type GemmBody } from '../../src/tensor/conv/gemm-fast.js';
import { conv2dGeometry, convTranspose2dGeometry, type Conv2dOptions } from '../../src/tensor/conv/geometry.js';
import { seededRandom } from '../../src/tensor/reference/conv-check.js';
import {
  expectConv2dMatchesRef,
  expectFusedEpiloguesMatchRef,
  expectForwardMatchesRef,
  expectTransposedMatchesRef,
  q10,
  type EpilogueCombo,
} from '../helpers/raw-buffers.js';
import { expectTwinOf } from '../helpers/sgm-loads.js';
import { setTemplatedSubgroupMatrixSyntax } from '../../src/gpu/subgroup-matrix.js';
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
  // (npm test: the same in every dimension at a fifth of the work: the tc-sw twin runs slowly on lavapipe)
  FULL_SWEEP
    ? { x: [2, 20, 12, 13], w: [70, 20, 3, 3], o: { padding: 1 } }
    : { x: [2, 8, 9, 8], w: [20, 8, 3, 3], o: { padding: 1 } },
];

/** Each path with the cases of the full sweep (`npm run test:full`) and those `npm test` runs (helpers/sweep.ts). */
const PATHS: Array<[string, ConvKernelOptions, number[], number[]]> = [
  [
    'tuned 16×16×4 (4×4/thread)',
    { path: 'tuned', tile: { bm: 16, bn: 16, bk: 4, tm: 4, tn: 4 } },
    [0, 1, 2, 3],
    [1, 2],
  ],
  [
    'tuned 32×32×8, never split',
    { path: 'tuned', tile: { bm: 32, bn: 32, bk: 8, tm: 4, tn: 8 }, splits: 1 },
    [1, 3],
    [3],
  ],
  ['tuned default tile (128×128×8, 8×8/thread)', { path: 'tuned' }, [3], [3]],
  ['tc-sw 32×32×16, 2×1 subgroups', { path: 'tc-sw', tcTile: { bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 1 } }, [1, 3], [1]],
  [
    'tc-sw 16×32×16, row-major loads only, 3 splits',
    { path: 'tc-sw', tcTile: { bm: 16, bn: 32, bk: 16, sgm: 1, sgn: 2, rowMajorOnly: true }, splits: 3 },
    [0, 2],
    [2],
  ],
  [
    'tc-sw 64×64×32, 2×4 subgroups (TC_TILE layout at half size)',
    { path: 'tc-sw', tcTile: { bm: 64, bn: 64, bk: 32, sgm: 2, sgn: 4 } },
    [3],
    [3],
  ],
];

describe('conv2d fast paths', () => {
  for (const [name, opts, all, fast] of PATHS) {
    it(`${name}: forward (bias), input and weight gradients match the reference`, async () => {
      const gpu = await getGpu();
      const rand = seededRandom(11);
      for (const c of (FULL_SWEEP ? all : fast).map((i) => CASES[i]!)) {
        const g = conv2dGeometry(c.x, c.w, c.o);
        await expectConv2dMatchesRef(gpu, rand, g, opts, TOL, `${JSON.stringify(c)} ${name}`);
      }
    });
  }

  it('conv_transpose2d (the upsampling StyledConv) on tuned and tc-sw', async () => {
    const gpu = await getGpu();
    const t = convTranspose2dGeometry([1, 6, 5, 4], [6, 5, 3, 3], { stride: 2 });
    await expectTransposedMatchesRef(gpu, seededRandom(12), t, [PATHS[0]![1], PATHS[3]![1]], TOL);
  });

  it('fused epilogues (demodulation, noise, bias, leaky ReLU·√2), with and without split-K', async () => {
    const variants: Array<[string, ConvKernelOptions]> = [
      ['tiled', { path: 'tiled', tile: { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 } }],
      ['tiled split', { path: 'tiled', tile: { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 }, splits: 4 }],
      ['tuned', PATHS[0]![1]],
      ['tc-sw', PATHS[3]![1]],
      ['tc-sw split', { ...PATHS[3]![1], splits: 3 }],
    ];
    const combos: EpilogueCombo[] = [
      { bias: true, demod: true, noise: 1, lrelu: true },
      { bias: false, demod: false, noise: 2, lrelu: true },
      { bias: true, demod: false, noise: 0, lrelu: false },
    ];
    await expectFusedEpiloguesMatchRef(await getGpu(), seededRandom(13), variants, combos, TOL);
  });

  it("falls back cleanly: 'tc' and 'fast' run the fp32 tuned kernel where the adapter lacks subgroup matrices", async () => {
    const gpu = await getGpu();
    const tc = tensorCoresAvailable(gpu);
    expect(convEngine(gpu, 'tc')).toBe(tc ? 'tc' : 'fp32-tuned');
    expect(convEngine(gpu, 'fast')).toBe(tc ? 'tc' : 'fp32-tuned');
    expect(convEngine(gpu, undefined)).toBe('fp32');
    if (tc) return; // the tensor-core result itself is checked by the bench on the GPU
    const rand = seededRandom(14);
    const g = conv2dGeometry([1, 4, 6, 7], [5, 4, 3, 3], { padding: 1 });
    const x = q10(g.n * g.cin * g.h * g.w, rand);
    const w = q10(g.cout * g.cin * 9, rand);
    await expectForwardMatchesRef(gpu, g, x, w, { path: 'tc', tile: PATHS[0]![1].tile }, TOL);
  });
});

describe('tensor-core WGSL generator', () => {
  const body: GemmBody = {
    header: `fn loadA(m: u32, k: u32) -> f32 { return 0.0; }
fn loadB(k: u32, n: u32) -> f32 { return 0.0; }
fn store(m: u32, n: u32, z: u32, v: f32) {}`,
    m: '1000u',
    n: '300u',
    k: '4608u',
    kSplit: '4608u',
    aFast: 'm',
    bFast: 'k',
  };

  it('hardware variant: enables, diagnostic, f16→f32 16×16 matrices; same staging and offsets as the software twin (both subgroup-matrix syntaxes)', () => {
    for (const templated of [true, false]) {
      setTemplatedSubgroupMatrixSyntax(templated);
      try {
        for (const tile of [TC_TILE, { ...TC_TILE, rowMajorOnly: true }, { bm: 64, bn: 128, bk: 32, sgm: 2, sgn: 2 }]) {
          const hw = gemmTcWgsl(body, tile, 'hw');
          const sw = gemmTcWgsl(body, tile, 'sw');
          expect(hw).toContain('subgroup_matrix_result<f32, 16, 16>');
          expect(hw).toMatch(/subgroupMatrixStore(<row_major>)?\(&SC/);
          const fm = tile.bm / tile.sgm / 16;
          const fn = tile.bn / tile.sgn / 16;
          // identical staging and operand blocks: (offset, column-major, stride) of every matrix load, in order
          expect(expectTwinOf(hw, sw)).toBe(fm + fn);
          expect(hw.match(/subgroupMatrixMultiplyAccumulate/g)!.length).toBe(fm * fn);
          expect(sw.match(/^ +swMma\(a/gm)!.length).toBe(fm * fn);
          // workgroup memory within the H100's 48 KiB
          const bytes = 2 * 2 * (tile.bm + tile.bn) * tile.bk + 4 * 256 * tile.sgm * tile.sgn;
          expect(bytes).toBeLessThanOrEqual(48 * 1024);
        }
      } finally {
        setTemplatedSubgroupMatrixSyntax(true);
      }
    }
  });

  it('the hardware variant compiles where the adapter has subgroup matrices', async () => {
    const gpu = await getGpu();
    if (!tensorCoresAvailable(gpu)) return;
    await gpu.compile('tc_gen_check', gemmTcWgsl(body, TC_TILE, 'hw'));
  });
});
