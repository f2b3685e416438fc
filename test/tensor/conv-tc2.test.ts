/**
 * The 'tc2' tensor-core conv kernels (tc2*.ts) through their software-subgroup-matrix twin 'tc2-sw' (same staging,
 * offsets, strides and layouts as the hardware kernels) against the float64 reference on odd shapes: the gather
 * staging (forward with bias, four-phase and sub-pixel input gradients, weight gradient), weights read straight from
 * the f16 buffer (bGlobal), unpadded tile rows, split-K, 16 subgroups with one staging buffer, the default small-M
 * tile, conv_transpose2d (sub-pixel GEMMs that walk only their phases' taps, and 4×4 kernels that walk all), fused
 * epilogues with and without split-K, held (constant) weights, patch staging, and structural checks of the hardware
 * WGSL. Inputs are multiples of 2⁻¹⁰ (exact in f16): the twin must match to f32 summation accuracy.
 *
 * Each variant runs once, at a small shape that exercises it (npm test compiles every kernel cold on lavapipe);
 * shapes are shared between tests so that kernels are too. `npm run test:full` runs every variant on every shape,
 * plus the slow-to-compile tiles (2×1 subgroups; 128 rows on one subgroup: two pixel pairs per thread).
 */
import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import {
  conv2dBackwardInputRaw,
  conv2dForwardRaw,
  convTranspose2dForwardRaw,
  type ConvKernelOptions,
} from '../../src/tensor/conv/conv2d-raw.js';
import {
  conv2dGeometry,
  convTranspose2dGeometry,
  type Conv2dGeom,
  type Conv2dOptions,
} from '../../src/tensor/conv/geometry.js';
import {
  TC2_TILE,
  TC2_TILE_N64,
  TC2_TILE_SMALL_M,
  TC2_TILE_16SG,
  checkTc2Tile,
  defaultTile,
  tc2TileBytes,
  splitSlices,
  tileFor,
  type Tc2Tile,
} from '../../src/tensor/conv/tc2-tiles.js';
import { tc2ForwardWgslForTest } from '../../src/tensor/conv/tc2.js';
import { holdConstantWeights, releaseConstantWeights } from '../../src/tensor/conv/constant-weights.js';
import {
  PATCH_TILE,
  PATCH_TILE_N64,
  PATCH_TILE_SMALL,
  patchApplies,
  patchFor,
  patchTileFor,
} from '../../src/tensor/conv/tc2-patch.js';
import { subpixelApplies } from '../../src/tensor/conv/tc2-subpixel.js';
import { shallowApplies } from '../../src/tensor/conv/shallow.js';
import { conv2dBackwardRef, conv2dRef, convTranspose2dRef } from '../../src/tensor/reference/conv.js';
import { relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import {
  TC2_TEST_TILE,
  expectConv2dMatchesRef,
  expectFusedEpiloguesMatchRef,
  expectForwardMatchesRef,
  expectTransposedForwardMatchesRef,
  expectTransposedMatchesRef,
  q10,
  withBuffers,
  type EpilogueCombo,
} from '../helpers/raw-buffers.js';
import { expectTwinOf, sgmLoads } from '../helpers/sgm-loads.js';
import { setTemplatedSubgroupMatrixSyntax } from '../../src/gpu/subgroup-matrix.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

const TOL = 1e-5;

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
}
const geom = (c: Case): Conv2dGeom => conv2dGeometry(c.x, c.w, c.o);

/** 4×4 stride 2, asymmetric padding: four input-gradient phases; 3 × 2 output tiles of 32 × 32; Cin 5 < BK. */
const S1: Case = { x: [2, 5, 13, 12], w: [40, 5, 4, 4], o: { stride: 2, padding: [1, 2, 0, 1] } };
/** Channels that fill whole K chunks; 4 × 2 output tiles. */
const S2: Case = { x: [1, 32, 9, 11], w: [48, 32, 3, 3], o: { padding: 1 } };
/** 3×3 stride 2 unpadded (the network's downsampling conv): its input gradient is one sub-pixel GEMM. */
const S3: Case = { x: [1, 4, 13, 11], w: [6, 4, 3, 3], o: { stride: 2 } };
/** 144 GEMM rows: the default tiles pick TC2_TILE_SMALL_M (lavapipe's 32 KiB hold no default patch tile). */
const S4: Case = { x: [2, 8, 9, 8], w: [20, 8, 3, 3], o: { padding: 1 } };
const CASES: Case[] = [
  S1,
  S2,
  S3,
  S4,
  { x: [2, 3, 7, 9], w: [5, 3, 3, 3], o: { padding: 1 } },
  { x: [2, 20, 12, 13], w: [70, 20, 3, 3], o: { padding: 1 } },
  { x: [1, 20, 13, 11], w: [48, 20, 3, 3], o: { padding: 1 } },
];

const A = TC2_TEST_TILE;
const sw = (tile: Tc2Tile, more: ConvKernelOptions = {}): ConvKernelOptions => ({
  path: 'tc2-sw',
  tc2Tile: tile,
  ...more,
});
const BG: ConvKernelOptions = sw({ ...A, bGlobal: true, pad: 0 }, { splits: 3 });

/** Each variant with the case `npm test` runs it on (the full sweep: every case). */
const VARIANTS: Array<[string, ConvKernelOptions, Case]> = [
  ['gather staging, four-phase input gradient', sw(A), S1],
  ['B from global, unpadded tile rows, 3 splits', BG, S2],
  ['sub-pixel input gradient', sw(A), S3],
  ['16 subgroups, one staging buffer', sw({ bm: 64, bn: 64, bk: 32, sgm: 4, sgn: 4, single: true }), S2],
];
/** Slow to compile on lavapipe (more unrolled f16 stores per invocation): the full sweep only. */
const FULL_VARIANTS: Array<[string, ConvKernelOptions]> = [
  ['32×32×16, 2×1 subgroups', sw({ bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 1 })],
  [
    '32×32×16, 2×1 subgroups, four-phase transposed',
    sw({ bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 1 }, { subpixelTranspose: false }),
  ],
  [
    '128×16×16, 1 subgroup (2 pixel pairs per thread), unpadded',
    sw({ bm: 128, bn: 16, bk: 16, sgm: 1, sgn: 1, pad: 0 }),
  ],
];

describe('conv2d tc2 (software twin)', () => {
  it('the test shapes take the routes their names say', () => {
    const lim = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 32768 };
    for (const c of CASES.slice(0, 4)) expect(shallowApplies(geom(c))).toBe(false);
    const g3 = geom(S3);
    const t3 = { n: 1, cin: g3.cout, cout: g3.cin, h: g3.ho, w: g3.wo, hout: g3.h, wout: g3.w, conv: g3 };
    expect(subpixelApplies(t3)).toBe(true);
    expect(patchTileFor(geom(S4), lim)).toBeNull();
    expect(tileFor({}, 2 * 9 * 8, 20)).toBe(TC2_TILE_SMALL_M);
  });

  for (const [name, opts, c] of VARIANTS)
    it(`${name}: forward (bias), input and weight gradients match the reference`, async () => {
      const gpu = await getGpu();
      const rand = seededRandom(21);
      for (const k of FULL_SWEEP ? CASES : [c])
        await expectConv2dMatchesRef(gpu, rand, geom(k), opts, TOL, `${JSON.stringify(k)} ${name}`);
    });

  for (const [name, opts] of FULL_VARIANTS)
    it.runIf(FULL_SWEEP)(`full sweep, ${name}: every pass, every case`, async () => {
      const gpu = await getGpu();
      const rand = seededRandom(21);
      for (const k of CASES)
        await expectConv2dMatchesRef(gpu, rand, geom(k), opts, TOL, `${JSON.stringify(k)} ${name}`);
    });

  it('the default tiles (TC2_TILE_SMALL_M for 65–1,089 rows): forward', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(25);
    const g = geom(S4);
    const x = q10(g.n * g.cin * g.h * g.w, rand);
    const w = q10(g.cout * g.cin * g.kh * g.kw, rand);
    await expectForwardMatchesRef(gpu, g, x, w, { path: 'tc2-sw' }, TOL);
  });

  it('conv_transpose2d: sub-pixel GEMM with bias (all passes); workgroups that walk only their phases’ taps; 4×4', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(22);
    // the adjoint of S3: its weight gradient is S3's kernel
    const t = convTranspose2dGeometry([1, 6, 6, 5], [6, 4, 3, 3], { stride: 2 });
    await expectTransposedMatchesRef(gpu, rand, t, [sw(A)], TOL);
    // 12 and 16 output channels in 16-column tiles: a tile holds one or two phases, so workgroups skip taps (sparseK)
    const narrow: Tc2Tile = { bm: 32, bn: 16, bk: 16, sgm: 2, sgn: 1 };
    const t12 = convTranspose2dGeometry([1, 7, 4, 5], [7, 12, 3, 3], { stride: 2 });
    await expectTransposedForwardMatchesRef(
      gpu,
      rand,
      t12,
      [sw(narrow), sw({ ...narrow, bGlobal: true }, { splits: 3 })],
      TOL,
    );
    const t16 = convTranspose2dGeometry([1, 5, 3, 4], [5, 16, 3, 3], { stride: 2 });
    await expectTransposedForwardMatchesRef(gpu, rand, t16, [sw(narrow)], TOL);
    // a 4×4 kernel: every phase uses all four taps (no skipping)
    const t4 = convTranspose2dGeometry([1, 3, 4, 5], [3, 4, 4, 4], { stride: 2 });
    expect(subpixelApplies(t4)).toBe(true);
    await expectTransposedForwardMatchesRef(gpu, rand, t4, [sw(A)], TOL);
  });

  it.runIf(FULL_SWEEP)('full sweep: those transposed convs as four phase GEMMs, all passes', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(22);
    const narrow: Tc2Tile = { bm: 32, bn: 16, bk: 16, sgm: 2, sgn: 1 };
    const ts = [
      convTranspose2dGeometry([1, 6, 6, 5], [6, 4, 3, 3], { stride: 2 }),
      convTranspose2dGeometry([1, 7, 4, 5], [7, 12, 3, 3], { stride: 2 }),
      convTranspose2dGeometry([1, 5, 3, 4], [5, 16, 3, 3], { stride: 2 }),
      convTranspose2dGeometry([1, 3, 4, 5], [3, 4, 4, 4], { stride: 2 }),
    ];
    for (const opts of [sw(A, { subpixelTranspose: false }), sw(narrow, { subpixelTranspose: false, splits: 2 })])
      for (const t of ts) await expectTransposedMatchesRef(gpu, rand, t, [opts], TOL);
  });

  it('fused epilogues (demodulation, noise, bias, leaky ReLU·√2), with and without split-K', async () => {
    const variants: Array<[string, ConvKernelOptions]> = [
      ['tc2-sw', sw(A)],
      ['tc2-sw split', BG], // the GEMM kernel of 'B from global, 3 splits' on S2; the epilogue in the split sum
    ];
    const combos: EpilogueCombo[] = [
      { bias: true, demod: true, noise: 1, lrelu: true },
      { bias: false, demod: false, noise: 2, lrelu: true },
    ];
    await expectFusedEpiloguesMatchRef(await getGpu(), seededRandom(23), variants, combos, TOL, geom(S2));
  });

  it('held (constant) weights: their f16 copies are made once, reused by later calls and freed on release', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(24);
    const g = geom(S1); // stride 2, 4×4 taps: four input-gradient phases, their weight layouts in one buffer
    const x = q10(g.n * g.cin * g.h * g.w, rand);
    const w = q10(g.cout * g.cin * g.kh * g.kw, rand);
    const gy = q10(g.n * g.cout * g.ho * g.wo, rand);
    const yRef = conv2dRef(g, x, w, null);
    const ref = conv2dBackwardRef(g, x, w, gy);
    const opts = sw(A);
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
});

/**
 * Patch staging (tc2-patch.ts): stride-1 forward convs stage the input patch of the output tile once per channel
 * chunk and read every tap's fragments from it at shifted offsets; a stride-1 input gradient runs as the patched
 * forward of gy with the flipped filter. Odd sizes, a batch, a partial channel chunk, a non-square kernel with
 * asymmetric padding over several tile rows and columns, no padding, split-K across chunks, B from global, one
 * staging buffer; strided convs keep the gather staging.
 */
describe('conv2d tc2 patch staging (software twin)', () => {
  const P1: Case = { x: [2, 5, 11, 21], w: [20, 5, 2, 4], o: { padding: [1, 0, 2, 1] } };
  const P2: Case = { x: [1, 4, 6, 5], w: [3, 4, 3, 3], o: {} };
  const patched = (tile: Tc2Tile, more: ConvKernelOptions = {}) => sw(A, { tc2PatchTile: tile, ...more });
  const VARIANTS_P: Array<[string, ConvKernelOptions, Case[]]> = [
    ['32×32×16, 2×2 subgroups', patched(A), [P1, P2]],
    ['B from global, 2 splits', patched({ ...A, bGlobal: true }, { splits: 2 }), [S2]],
    ['one staging buffer', patched({ ...A, single: true }), [S2]],
  ];
  const ALL_P = [P1, P2, S2, S4, { x: [1, 5, 19, 21], w: [6, 5, 2, 4], o: { padding: [1, 0, 2, 1] } } as Case];

  it('a stride-1 conv_transpose2d runs patch-staged with its bias fused', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(24);
    const t = convTranspose2dGeometry([2, 6, 5, 4], [6, 5, 3, 3], { stride: 1, padding: 1 });
    const x = q10(t.n * t.cin * t.h * t.w, rand);
    const w = q10(t.cin * t.cout * 9, rand);
    const b = q10(t.cout, rand);
    const yRef = convTranspose2dRef(t, x, w, b);
    for (const splits of FULL_SWEEP ? [undefined, 2] : [undefined]) {
      await withBuffers(gpu, async (up, out) => {
        const by = out(yRef.length);
        convTranspose2dForwardRaw(gpu, t, up(x), up(w), up(b), by, patched(A, { splits }));
        expect(relError(await gpu.readF32(by, yRef.length), yRef), `splits ${splits}`).toBeLessThan(TOL);
      });
    }
  });

  it('an input concatenated along channels: read from both buffers (whole chunks), else concatenated first', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(25);
    // batch 2 (per-source batch strides), the second source's last chunk partial (23 = 16 + 7), split-K across the
    // two sources' chunks; then a first part of 5 channels (not whole chunks of BK 16): the concatenated copy
    const g = conv2dGeometry([2, 23, 7, 9], [10, 23, 3, 3], { padding: 1 });
    const x = q10(g.n * g.cin * g.h * g.w, rand);
    const w = q10(g.cout * g.cin * 9, rand);
    const b = q10(g.cout, rand);
    const yRef = conv2dRef(g, x, w, b);
    const hw = g.h * g.w;
    const part = (c0: number, c1: number) =>
      Float32Array.from({ length: g.n * (c1 - c0) * hw }, (_, i) => {
        const n = Math.floor(i / ((c1 - c0) * hw));
        return x[(n * g.cin + c0) * hw + (i % ((c1 - c0) * hw))]!;
      });
    for (const [first, splits] of [
      [16, 2],
      [5, 1],
    ] as const) {
      await withBuffers(gpu, async (up, out) => {
        const by = out(yRef.length);
        const second = { buffer: up(part(first, g.cin)), channels: g.cin - first };
        const d0 = gpu.dispatchCount;
        conv2dForwardRaw(gpu, g, up(part(0, first)), up(w), up(b), by, { ...patched(A, { splits }), concat: second });
        expect(relError(await gpu.readF32(by, yRef.length), yRef), `first ${first}`).toBeLessThan(TOL);
        // weights, GEMM (, split sum); concatenated first: a copy per batch and source, dispatches too
        const copies = first % 16 === 0 ? 0 : 2 * g.n;
        expect(gpu.dispatchCount - d0, `first ${first}`).toBe(splits + 1 + copies);
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

  it('routing: the caller’s patch tile where it applies (stride 1, more than one tap), none for strided or 1×1 convs or when turned off', async () => {
    const gpu = await getGpu();
    const at = (c: Case, o: { tile?: Tc2Tile; patchTile?: Tc2Tile | null }) => patchFor(gpu, geom(c), o);
    expect(at(P1, { patchTile: A })).toBe(A);
    expect(at(S1, { patchTile: A })).toBeNull();
    expect(at({ x: [1, 4, 6, 5], w: [3, 4, 1, 1], o: {} }, { patchTile: A })).toBeNull();
    expect(at(P1, { patchTile: null })).toBeNull();
    expect(at(P1, { tile: A })).toBeNull(); // a tile for every GEMM and no patch tile: gather staging
    expect(patchApplies(geom(P2), A, gpu.limits.maxComputeWorkgroupStorageSize)).toBe(true);
  });

  for (const [name, opts, cases] of VARIANTS_P)
    it(`${name}: forward with bias and input gradient match the reference`, async () => {
      const gpu = await getGpu();
      const rand = seededRandom(23);
      for (const c of FULL_SWEEP ? ALL_P : cases) {
        const g = geom(c);
        const x = q10(g.n * g.cin * g.h * g.w, rand);
        const w = q10(g.cout * g.cin * g.kh * g.kw, rand);
        const b = q10(g.cout, rand);
        const yRef = conv2dRef(g, x, w, b);
        expect(patchApplies(g, opts.tc2PatchTile!, gpu.limits.maxComputeWorkgroupStorageSize), JSON.stringify(c)).toBe(
          true,
        );
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
    TC2_TILE_N64,
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
  it('split-K depth from the tile, else 8 slices; 16 subgroups only where the device allows 512', () => {
    expect(splitSlices(144, 4, {}, TC2_TILE)).toEqual([8, 18]);
    expect(splitSlices(144, 8, {}, TC2_TILE_SMALL_M)).toEqual([4, 36]);
    expect(splitSlices(144, 4, { splits: 3 }, TC2_TILE)).toEqual([48, 3]);
    expect(splitSlices(0, 4, {}, TC2_TILE)).toEqual([1, 1]);
    // 512-invocation tiles aim at half as many workgroups (split-k.ts targetWorkgroups)
    expect(splitSlices(144, 128, {}, TC2_TILE)).toEqual([36, 4]);
    expect(splitSlices(144, 128, {}, TC2_TILE_16SG)).toEqual([72, 2]);
    expect(splitSlices(72, 256, {}, TC2_TILE_16SG)).toEqual([72, 1]);
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
