/**
 * The 'tc2' tensor-core conv kernels (tc2.ts) through their software-subgroup-matrix twin 'tc2-sw' (same staging,
 * offsets, strides and layouts as the hardware kernels) against the float64 reference on odd shapes: forward
 * (bias), input and weight gradients, split-K, weights read straight from the f16 buffer (bGlobal), unpadded and
 * padded tile rows, more pixel pairs per thread than one (J > 1), channel counts that do and do not fill a K chunk,
 * a conv_transpose2d, fused epilogues with and without split-K, held (constant) weights, the fallback of 'tc2', and a structural check of the
 * hardware WGSL. Inputs are multiples of 2⁻¹⁰ (exact in f16): the twin must match to f32 summation accuracy.
 */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import {
  conv2dBackwardInputRaw,
  conv2dForwardRaw,
  convTranspose2dForwardRaw,
  tensorCoresAvailable,
  type ConvKernelOptions,
} from '../../src/tensor/conv/conv2d-raw.js';
import { conv2dGeometry, convTranspose2dGeometry, type Conv2dOptions } from '../../src/tensor/conv/geometry.js';
import {
  TC2_TILE,
  TC2_TILE_N64,
  TC2_TILE_SMALL_M,
  TC2_TILE_16SG,
  checkTc2Tile,
  defaultTile,
  tc2TileBytes,
  splitSlices,
  tc2ForwardWgslForTest,
  tileFor,
  type Tc2Tile,
} from '../../src/tensor/conv/tc2.js';
import { holdConstantWeights, releaseConstantWeights } from '../../src/tensor/conv/constant-weights.js';
import {
  PATCH_TILE,
  PATCH_TILE_N64,
  PATCH_TILE_SMALL,
  patchApplies,
  patchTileFor,
} from '../../src/tensor/conv/tc2-patch.js';
import { conv2dBackwardRef, conv2dRef, convTranspose2dRef } from '../../src/tensor/reference/conv.js';
import { relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import {
  expectConv2dMatchesRef,
  expectFusedEpiloguesMatchRef,
  expectForwardMatchesRef,
  expectTransposedMatchesRef,
  q10,
  withBuffers,
  type EpilogueCombo,
} from '../helpers/raw-buffers.js';
import { expectTwinOf, sgmLoads } from '../helpers/sgm-loads.js';
import { setTemplatedSubgroupMatrixSyntax } from '../../src/gpu/subgroup-matrix.js';
import { FULL_SWEEP, sweep } from '../helpers/sweep.js';

const TOL = 1e-5;

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
}
const CASES: Case[] = [
  { x: [2, 3, 7, 9], w: [5, 3, 3, 3], o: { padding: 1 } },
  { x: [1, 5, 9, 8], w: [7, 5, 4, 4], o: { stride: 2, padding: [1, 2, 0, 1] } },
  { x: [1, 3, 13, 11], w: [6, 3, 3, 3], o: { stride: 2 } },
  // several tiles everywhere (npm test: the same in every dimension at a fifth of the work; the twin's software
  // matrix products run slowly on lavapipe, so shapes cost time in proportion to their multiply-adds)
  FULL_SWEEP
    ? { x: [2, 20, 12, 13], w: [70, 20, 3, 3], o: { padding: 1 } }
    : { x: [2, 8, 9, 8], w: [20, 8, 3, 3], o: { padding: 1 } },
  { x: [1, 32, 9, 11], w: [48, 32, 3, 3], o: { padding: 1 } }, // channels fill whole K chunks
  { x: [1, 20, 13, 11], w: [48, 20, 3, 3], o: { padding: 1 } }, // N ≤ 64 forward and input gradient: the narrow tile
];

const sw = (tile: Tc2Tile, more: ConvKernelOptions = {}): ConvKernelOptions => ({
  path: 'tc2-sw',
  tc2Tile: tile,
  ...more,
});
const SMALL: Tc2Tile = { bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 1 };

/**
 * Three tilings cover the staging variants (padded/unpadded rows, B from global, split-K, more than one pixel pair per
 * thread). Larger tiles (TC2_TILE at half size) were tested when the path was written; they cost minutes of lavapipe
 * compilation with a cold shader cache, and 'tc2' is a bench variant, not a default path (bench/RESULTS.md).
 */
/**
 * Each path with the cases it runs: all listed in the full sweep (`npm run test:full`), the second list in
 * `npm test` (the case that exercises what the path adds; see helpers/sweep.ts).
 */
const PATHS: Array<[string, ConvKernelOptions, number[], number[]]> = [
  [
    'tc2-sw 32×32×16, 2×1 subgroups, four-phase input gradient',
    sw(SMALL, { subpixelTranspose: false }),
    [0, 1, 2, 3, 4, 5],
    [1, 3], // 4×4 stride-2 asymmetric padding (four phases); several tiles in every GEMM dimension
  ],
  ['tc2-sw 32×32×16, B from global, 3 splits', sw({ ...SMALL, bGlobal: true }, { splits: 3 }), [0, 1, 4], [4]],
  [
    'tc2-sw 128×16×16, 1 subgroup (2 pixel pairs per thread), unpadded',
    sw({ bm: 128, bn: 16, bk: 16, sgm: 1, sgn: 1, pad: 0 }),
    [3],
    [3],
  ],
  // stride 2: case 2 (3×3, no padding) takes the sub-pixel GEMM for its input gradient; case 1 (padded) cannot
  // (case 1's padded fallback also runs in the single-buffered path below, which keeps the default routing)
  ['tc2-sw 32×32×16, sub-pixel input gradient (the default)', sw(SMALL), [1, 2], [2]],
  // no tile given: tileFor picks the narrow tile where N ≤ 64 (forward, input gradient; the weight gradient and the
  // sub-pixel GEMM, N = 4·Cout, take TC2_TILE). TC2_TILE_N64 itself needs 42 KiB of workgroup storage, over
  // lavapipe's 32: the twin runs the routing with a smaller narrow tile of the same kind (B from global, 2×2).
  [
    'tc2-sw narrow-tile routing (N ≤ 64)',
    { path: 'tc2-sw', tc2TileN64: { bm: 64, bn: 32, bk: 16, sgm: 2, sgn: 2, bGlobal: true }, smallMRows: 0 },
    [5],
    [5],
  ],
  // one staging buffer (two barriers per slice), 16 subgroups (512 invocations), weights staged as f16 pairs
  [
    'tc2-sw 64×64×32, 4×4 subgroups, single-buffered, vec2 weight units',
    sw({ bm: 64, bn: 64, bk: 32, sgm: 4, sgn: 4, single: true, bVec: 2 }),
    [1, 3],
    [1],
  ],
  // no tile given and 65–1089 rows: TC2_TILE_SMALL_M itself (64×64, 2×2 subgroups, split-K of ≥ 4 slices: 3 here)
  ['tc2-sw small-M routing (the default small-M tile)', { path: 'tc2-sw' }, [3], [3]],
];

const TRANSPOSED_VARIANTS: readonly ConvKernelOptions[] = [
  { ...PATHS[0]![1], subpixelTranspose: false }, // four input-gradient GEMMs, one per output phase
  { ...PATHS[2]![1], subpixelTranspose: false },
  { ...PATHS[0]![1], subpixelTranspose: true }, // one GEMM over the four output phases (the default)
  { ...PATHS[2]![1], subpixelTranspose: true, splits: 2 },
];
/** The sub-pixel GEMM with 16-column tiles, walking only the taps of each tile's phases, and walking all four. */
const SKIP_TAP_VARIANTS: readonly ConvKernelOptions[] = [
  sw({ bm: 32, bn: 16, bk: 16, sgm: 2, sgn: 1 }),
  sw({ bm: 32, bn: 16, bk: 16, sgm: 2, sgn: 1, bGlobal: true }, { splits: 3 }),
  sw({ bm: 32, bn: 16, bk: 16, sgm: 2, sgn: 1 }, { subpixelSkipTaps: false }),
];

describe('conv2d tc2 (software twin)', () => {
  for (const [name, opts, all, fast] of PATHS) {
    it(`${name}: forward (bias), input and weight gradients match the reference`, async () => {
      const gpu = await getGpu();
      const rand = seededRandom(21);
      for (const c of (FULL_SWEEP ? all : fast).map((i) => CASES[i]!)) {
        const g = conv2dGeometry(c.x, c.w, c.o);
        if (!FULL_SWEEP && opts.tc2Tile?.bm === 128) {
          // npm test: the 128-row tile (two pixel pairs per thread, unpadded rows) forward only: its three kernels
          // take a minute to compile on lavapipe; all passes in the full sweep and on the GPU (bench conv-paths)
          const x = q10(g.n * g.cin * g.h * g.w, rand);
          const w = q10(g.cout * g.cin * g.kh * g.kw, rand);
          await expectForwardMatchesRef(gpu, g, x, w, opts, TOL);
          continue;
        }
        await expectConv2dMatchesRef(gpu, rand, g, opts, TOL, `${JSON.stringify(c)} ${name}`);
      }
    });
  }

  it('conv_transpose2d (bias through the input-gradient kernel), with and without B from global', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(22);
    for (const [t, variants] of [
      // npm test: sub-pixel on the small tile (the four-phase form runs in the first path above; the 128-row
      // tile's pairings are slow to compile on lavapipe: full sweep)
      [convTranspose2dGeometry([2, 6, 5, 4], [6, 5, 3, 3], { stride: 2 }), sweep(TRANSPOSED_VARIANTS, [2])],
      // 12 and 16 output channels: 16-column tiles hold one or two phases, so workgroups skip taps (sparseK)
      [convTranspose2dGeometry([1, 7, 4, 5], [7, 12, 3, 3], { stride: 2 }), SKIP_TAP_VARIANTS],
      [convTranspose2dGeometry([1, 5, 3, 4], [5, 16, 3, 3], { stride: 2 }), sweep(SKIP_TAP_VARIANTS, [0])],
    ] as const)
      await expectTransposedMatchesRef(gpu, rand, t, variants, TOL);
  });

  it('fused epilogues (demodulation, noise, bias, leaky ReLU·√2), with and without split-K', async () => {
    const variants: Array<[string, ConvKernelOptions]> = [
      ['tc2-sw', PATHS[0]![1]],
      ['tc2-sw split', { ...PATHS[0]![1], splits: 3 }],
      ['tc2-sw B global', { ...PATHS[2]![1], splits: 1 }],
    ];
    const combos: EpilogueCombo[] = [
      { bias: true, demod: true, noise: 1, lrelu: true },
      { bias: false, demod: false, noise: 2, lrelu: true },
    ];
    await expectFusedEpiloguesMatchRef(await getGpu(), seededRandom(23), variants, combos, TOL);
  });

  it('held (constant) weights: their f16 copies are made once, reused by later calls and freed on release', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(24);
    const c = CASES[1]!; // stride 2, 4×4 taps: several input-gradient phases, their weight layouts in one buffer
    const g = conv2dGeometry(c.x, c.w, c.o);
    const x = q10(g.n * g.cin * g.h * g.w, rand);
    const w = q10(g.cout * g.cin * g.kh * g.kw, rand);
    const gy = q10(g.n * g.cout * g.ho * g.wo, rand);
    const yRef = conv2dRef(g, x, w, null);
    const ref = conv2dBackwardRef(g, x, w, gy);
    const opts = PATHS[0]![1];
    await withBuffers(gpu, async (up, out) => {
      const [bx, bw, bgy] = [up(x), up(w), up(gy)];
      const [by, bgx] = [out(yRef.length), out(x.length)];
      const run = () => {
        conv2dForwardRaw(gpu, g, bx, bw, null, by, opts);
        conv2dBackwardInputRaw(gpu, g, bgy, bw, bgx, opts);
      };
      let d0 = gpu.dispatchCount;
      run(); // not held: converts on every call
      const unheld = gpu.dispatchCount - d0;
      holdConstantWeights(bw);
      try {
        run();
        await gpu.sync();
        d0 = gpu.dispatchCount;
        const inUse = gpu.pool.stats.bytesInUse;
        gpu.clear(by);
        gpu.clear(bgx);
        run();
        const perRun = gpu.dispatchCount - d0;
        expect(relError(await gpu.readF32(by, yRef.length), yRef)).toBeLessThan(TOL);
        expect(relError(await gpu.readF32(bgx, x.length), ref.gx)).toBeLessThan(TOL);
        // no conversion dispatches once held: one for the forward, one for all input-gradient phases (4 here)
        expect(perRun).toBe(unheld - 2);
        releaseConstantWeights(gpu, bw);
        expect(gpu.pool.stats.bytesInUse).toBeLessThan(inUse);
      } finally {
        releaseConstantWeights(gpu, bw);
      }
    });
  });

  it("'tc2' falls back to the fp32 tuned kernel where the adapter lacks subgroup matrices", async () => {
    const gpu = await getGpu();
    if (tensorCoresAvailable(gpu)) return; // the hardware result is checked by bench/conv-paths.ts
    const rand = seededRandom(24);
    const g = conv2dGeometry([1, 4, 6, 7], [5, 4, 3, 3], { padding: 1 });
    const x = q10(g.n * g.cin * g.h * g.w, rand);
    const w = q10(g.cout * g.cin * 9, rand);
    await expectForwardMatchesRef(gpu, g, x, w, { path: 'tc2', tile: { bm: 16, bn: 16, bk: 4, tm: 4, tn: 4 } }, TOL);
  });
});

/**
 * Patch staging (tc2-patch.ts): stride-1 forward convs stage the input patch of the output tile once per channel
 * chunk and read every tap's fragments from it at shifted offsets. Odd sizes, batches, partial channel chunks, a
 * non-square kernel with asymmetric padding and more than one tile column, no padding, split-K across chunks, B from
 * global, one staging buffer with 4 subgroups along m; strided convs keep the gather staging.
 */
describe('conv2d tc2 patch staging (software twin)', () => {
  const PATCH_CASES: Case[] = [
    { x: [2, 3, 7, 9], w: [5, 3, 3, 3], o: { padding: 1 } },
    CASES[3]!, // several tiles, a partial channel chunk
    { x: [1, 32, 9, 11], w: [48, 32, 3, 3], o: { padding: 1 } },
    { x: [1, 5, 19, 21], w: [6, 5, 2, 4], o: { padding: [1, 0, 2, 1] } },
    { x: [1, 4, 6, 5], w: [3, 4, 3, 3], o: {} },
    { x: [1, 5, 9, 8], w: [7, 5, 4, 4], o: { stride: 2, padding: [1, 2, 0, 1] } },
  ];
  const VARIANTS: Array<[string, ConvKernelOptions]> = [
    ['32×32×16, 2×1 subgroups', { path: 'tc2-sw', tc2Tile: SMALL, tc2PatchTile: SMALL }],
    ['32×32×16, 2 splits', { path: 'tc2-sw', tc2Tile: SMALL, tc2PatchTile: SMALL, splits: 2 }],
    ['32×32×16, B from global', { path: 'tc2-sw', tc2Tile: SMALL, tc2PatchTile: { ...SMALL, bGlobal: true } }],
    [
      '64×32×32, 4×1 subgroups, single-buffered',
      { path: 'tc2-sw', tc2Tile: SMALL, tc2PatchTile: { bm: 64, bn: 32, bk: 32, sgm: 4, sgn: 1, single: true } },
    ],
  ];
  it('a stride-1 conv_transpose2d runs patch-staged with its bias fused, with and without split-K', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(24);
    const t = convTranspose2dGeometry([2, 6, 5, 4], [6, 5, 3, 3], { stride: 1, padding: 1 });
    const x = q10(t.n * t.cin * t.h * t.w, rand);
    const w = q10(t.cin * t.cout * 9, rand);
    const b = q10(t.cout, rand);
    const yRef = convTranspose2dRef(t, x, w, b);
    for (const splits of [undefined, 2]) {
      const opts: ConvKernelOptions = { path: 'tc2-sw', tc2Tile: SMALL, tc2PatchTile: SMALL, splits };
      await withBuffers(gpu, async (up, out) => {
        const by = out(yRef.length);
        convTranspose2dForwardRaw(gpu, t, up(x), up(w), up(b), by, opts);
        expect(relError(await gpu.readF32(by, yRef.length), yRef), `splits ${splits}`).toBeLessThan(TOL);
      });
    }
  });

  it('picks a patch tile by shape: 64-channel outputs, ≤ 64 pixels, large layers; none for strided, 1×1 or mid-size', () => {
    const lim = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152 };
    const at = (c: number, co: number, s: number, k = 3, stride = 1) =>
      patchTileFor(conv2dGeometry([1, c, s, s], [co, c, k, k], { padding: (k - 1) >> 1, stride }), lim);
    expect(at(64, 64, 512)).toBe(PATCH_TILE_N64);
    expect(at(512, 512, 8)).toBe(PATCH_TILE_SMALL);
    expect(at(128, 128, 256)).toBe(PATCH_TILE);
    expect(at(1024, 512, 16)).toBe(PATCH_TILE);
    expect(at(512, 512, 32)).toBeNull();
    expect(at(128, 256, 257, 3, 2)).toBeNull();
    expect(at(128, 128, 64, 1)).toBeNull();
    // where the device lacks the invocations or the workgroup memory: none
    expect(
      patchTileFor(conv2dGeometry([1, 128, 64, 64], [128, 128, 3, 3], { padding: 1 }), {
        ...lim,
        maxComputeWorkgroupStorageSize: 32768,
      }),
    ).toBeNull();
    expect(
      patchTileFor(conv2dGeometry([1, 64, 64, 64], [64, 64, 3, 3], { padding: 1 }), {
        ...lim,
        maxComputeInvocationsPerWorkgroup: 256,
      }),
    ).toBeNull();
  });

  for (const [name, opts] of VARIANTS)
    it(`${name}: forward with bias and input gradient match the reference`, async () => {
      const gpu = await getGpu();
      const rand = seededRandom(23);
      // npm test: the first variant on several tiles with a partial chunk, the non-square kernel, no padding and
      // the strided gather; the others (splits, B from global, one buffer) where channels fill whole K chunks
      for (const c of sweep(PATCH_CASES, name === VARIANTS[0]![0] ? [1, 3, 4, 5] : [2])) {
        const g = conv2dGeometry(c.x, c.w, c.o);
        const x = q10(g.n * g.cin * g.h * g.w, rand);
        const w = q10(g.cout * g.cin * g.kh * g.kw, rand);
        const b = q10(g.cout, rand);
        const yRef = conv2dRef(g, x, w, b);
        const patched = patchApplies(g, opts.tc2PatchTile!, gpu.limits.maxComputeWorkgroupStorageSize);
        expect(patched, JSON.stringify(c)).toBe(g.strideY === 1);
        const gy = q10(g.n * g.cout * g.ho * g.wo, rand);
        const gxRef = conv2dBackwardRef(g, x, w, gy).gx;
        await withBuffers(gpu, async (up, out) => {
          const by = out(yRef.length);
          const bgx = out(x.length);
          const bw = up(w);
          conv2dForwardRaw(gpu, g, up(x), bw, up(b), by, opts);
          // a stride-1 input gradient runs as the patch-staged forward of gy with the flipped filter
          conv2dBackwardInputRaw(gpu, g, up(gy), bw, bgx, opts);
          expect(relError(await gpu.readF32(bgx, x.length), gxRef), `gx ${JSON.stringify(c)} ${name}`).toBeLessThan(
            TOL,
          );
          expect(relError(await gpu.readF32(by, yRef.length), yRef), `${JSON.stringify(c)} ${name}`).toBeLessThan(TOL);
        });
      }
    });
});

describe('tc2 WGSL generator', () => {
  const g = conv2dGeometry([1, 128, 64, 64], [128, 128, 3, 3], { padding: 1 });
  const tiles: Tc2Tile[] = [
    TC2_TILE,
    { ...TC2_TILE, bGlobal: true },
    { ...TC2_TILE, sgm: 2, sgn: 2 },
    { ...TC2_TILE, pad: 0 },
    { bm: 128, bn: 128, bk: 64, sgm: 2, sgn: 4, bGlobal: true },
    TC2_TILE_N64, // (its structure here; the narrow routing runs through the twin above)
    TC2_TILE_SMALL_M,
    TC2_TILE_16SG,
  ];
  it('picks the narrow default tile for N ≤ 64, a small-M tile where the rows fit, unless a tile is given', () => {
    expect(tileFor({}, 4096, 64)).toBe(TC2_TILE_N64);
    expect(tileFor({}, 4096, 65)).toBe(TC2_TILE);
    expect(tileFor({ tile: TC2_TILE }, 4096, 12)).toBe(TC2_TILE);
    expect(tileFor({}, 64, 512)).toBe(TC2_TILE);
    expect(tileFor({}, 65, 512)).toBe(TC2_TILE_SMALL_M);
    expect(tileFor({}, 33 * 33, 64)).toBe(TC2_TILE_SMALL_M);
    expect(tileFor({}, 33 * 33 + 1, 512)).toBe(TC2_TILE);
    const small: Tc2Tile = { bm: 64, bn: 128, bk: 32, sgm: 2, sgn: 4 };
    expect(tileFor({ tileSmallM: small }, 100, 512)).toBe(small);
    expect(tileFor({ tileSmallM: small, smallMRows: 2000 }, 2000, 512)).toBe(small);
    expect(tileFor({ smallMRows: 0 }, 100, 512)).toBe(TC2_TILE);
    // the device picks what replaces TC2_TILE: 16 subgroups where 512 invocations and 33 KiB fit (not on lavapipe)
    expect(tc2TileBytes(TC2_TILE)).toBe(43008);
    expect(tc2TileBytes(TC2_TILE_16SG)).toBe(33792);
    expect(defaultTile({ maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152 })).toBe(
      TC2_TILE_16SG,
    );
    expect(defaultTile({ maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 32768 })).toBe(
      TC2_TILE,
    );
    expect(defaultTile({ maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 49152 })).toBe(
      TC2_TILE,
    );
    expect(tileFor({ tileDefault: TC2_TILE_16SG }, 4096, 512)).toBe(TC2_TILE_16SG);
    expect(tileFor({ tileDefault: TC2_TILE_16SG }, 4096, 64)).toBe(TC2_TILE_N64);
  });
  it('split-K depth from the options, else the tile, else 8 slices; 16 subgroups only where the device allows 512', () => {
    expect(splitSlices(144, 4, {}, TC2_TILE)).toEqual([8, 18]);
    expect(splitSlices(144, 8, {}, TC2_TILE_SMALL_M)).toEqual([4, 36]);
    expect(splitSlices(144, 8, { minSlicesPerSplit: 2 }, TC2_TILE_SMALL_M)).toEqual([3, 48]); // 64 wanted: 3 slices each
    expect(splitSlices(144, 4, { splits: 3 }, TC2_TILE)).toEqual([48, 3]);
    const big: Tc2Tile = { bm: 128, bn: 128, bk: 32, sgm: 4, sgn: 4, single: true };
    expect(checkTc2Tile(big, 1024)).toBe(512);
    expect(() => checkTc2Tile(big, 256)).toThrow(/≤ 8 subgroups/);
    expect(() => checkTc2Tile({ ...big, sgm: 8 }, 1024)).toThrow(/≤ 16 subgroups/);
  });
  it('hardware variant: enables, matrix types, the same staging and the same matrix loads as the twin (both subgroup-matrix syntaxes)', () => {
    for (const templated of [true, false]) {
      setTemplatedSubgroupMatrixSyntax(templated);
      try {
        for (const tile of tiles) {
          const hw = tc2ForwardWgslForTest(g, tile, 'hw');
          const sw = tc2ForwardWgslForTest(g, tile, 'sw');
          const fm = tile.bm / tile.sgm / 16;
          const fn = tile.bn / tile.sgn / 16;
          expect(expectTwinOf(hw, sw)).toBe(((fm + fn) * tile.bk) / 16);
          expect(hw.match(/subgroupMatrixMultiplyAccumulate/g)!.length).toBe((fm * fn * tile.bk) / 16);
          if (tile.bGlobal) expect(sgmLoads(hw).some((l) => l.ptr === '&WHS')).toBe(true);
          // workgroup memory within the H100's 48 KiB, and tc2TileBytes is what the kernel declares
          const declared = [...hw.matchAll(/var<workgroup> \w+: array<(f16|f32), (\d+)>/g)].reduce(
            (a, m) => a + Number(m[2]) * (m[1] === 'f16' ? 2 : 4),
            0,
          );
          expect(declared).toBe(tc2TileBytes(tile));
          expect(declared).toBeLessThanOrEqual(48 * 1024);
          // no division or modulo in the per-element staging (only per slice / per pixel, before the unrolled elements)
          const fetch = hw.slice(hw.indexOf('fn fetchTiles'), hw.indexOf('fn putTiles'));
          expect(fetch.split('\n').filter((l) => /pa\[\d+\] = v/.test(l) && /[/%]/.test(l))).toEqual([]);
        }
      } finally {
        setTemplatedSubgroupMatrixSyntax(true);
      }
    }
  });
});
