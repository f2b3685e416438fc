/**
 * Tensor-core implicit-GEMM convolutions, second generation ('tc2', issue 4): the same MMA core as `gemmTcWgsl`
 * (f16 operands in subgroup matrices, f32 accumulators, 16×16×16, double-buffered workgroup tiles, one barrier per
 * K slice, epilogue through a per-subgroup 16×16 f32 scratch so `store` and the fused epilogues run unchanged), but
 * with the staging rebuilt around the convolution instead of a per-element `loadA(m, k)`:
 *
 * - K is walked in slices of BK that never straddle a filter tap: K order (tap, channel) with the channels of each
 *   tap padded to a multiple of BK. A slice is (tap, channel chunk): one uniform div/mod per slice, not per element.
 * - Activation gathers (A of forward / input grad): each thread owns a fixed pair of neighbouring output pixels for
 *   the whole kernel; their batch offset and origin (y, x) are computed once. Per slice the tap's (dy, dx) gives one
 *   bounds test per pixel (two unsigned compares) and one address; per element only `+ constant` and a load.
 *   Neighbouring threads read neighbouring pixels (x contiguous in NCHW) and write neighbouring f16 pairs
 *   into the k-major tile.
 * - Weights (B of forward / input grad) are converted once per call to f16 in the exact [tap][channel (padded)]
 *   [n (padded to BN)] layout the B tile wants: staging is a vec4<f16> copy with no convert and no index math, or
 *   (`bGlobal`) no staging at all: the subgroup-matrix loads read the f16 weights straight from the storage buffer.
 * - Weight gradient: K = pixels. Each thread owns a pair of neighbouring pixels of every slice (one div/mod per pixel
 *   per slice, shared by both operands) and a fixed set of output columns (channel, tap) whose offsets and (dy, dx)
 *   are computed once; both tiles are stored k-contiguous ([rows][k]).
 * - Tile rows are padded (`pad` halves, default 8 = 16 bytes) so the 16 rows of a matrix load do not all start in
 *   the same shared-memory banks (unpadded, a 128-half k-major row is 256 bytes: every row in the same banks).
 *
 * Mode 'sw' is the CPU-testable twin (software subgroup matrices over the same memory, offsets, strides and layouts).
 */
import type { Gpu } from '../../gpu/index.js';
import { epilogueBuffers, epilogueWgsl, hasEpilogue, type ConvEpilogue } from './epilogue.js';
import { TC_SUBGROUP, type TcMode } from './gemm-fast.js';
import { geomKey, type Conv2dGeom } from './geometry.js';
import { sumSplits, sumSplitsEpilogue } from './implicit.js';
import { derivedWeights } from './constant-weights.js';
import { patchApplies, patchSplits, patchStaging, patchTileFor, patchTiles } from './tc2-patch.js';
import { cached } from '../../gpu/source-cache.js';
import { sgmLoad, sgmStore } from '../../gpu/subgroup-matrix.js';

export interface Tc2Tile {
  bm: number;
  bn: number;
  bk: number;
  /** Subgroups along m and n (32 invocations each, ≤ 8 in all). */
  sgm: number;
  sgn: number;
  /** Padding of every staged tile row, in halves (multiple of 8 keeps rows 16-byte aligned). Default 8. */
  pad?: number;
  /** Forward / input grad: load the weight matrices straight from the f16 weight buffer (no B staging). */
  bGlobal?: boolean;
  /** The fewest K slices a split-K workgroup of this tile walks (default 8; Tc2Options.minSlicesPerSplit wins). */
  minSlices?: number;
  /**
   * One staging buffer instead of two (two barriers per K slice instead of one; the next slice's global loads still
   * overlap the MMAs, in registers): half the workgroup memory, so larger tiles fit.
   */
  single?: boolean;
  /**
   * Halves per staged weight unit (forward / input grad B without bGlobal): 4 (vec4<f16> loads, default) or 2
   * (vec2<f16>: each of a warp's 2-byte workgroup stores covers 32 consecutive words instead of every other word of
   * 64). H200, 2026-11-28 (`gpu-session.sh probe`): 2 was 0–4% slower on the large layers, so the stores were not
   * the limit; kept as an option for other GPUs.
   */
  bVec?: 2 | 4;
}

export const TC2_TILE: Tc2Tile = { bm: 128, bn: 128, bk: 32, sgm: 2, sgn: 4, pad: 8 };
/**
 * TC2_TILE's replacement where the device allows it (`defaultTile`): the same 128×128 tile over 16 subgroups (4×4,
 * 32×32 each, 4 accumulators) with one staging buffer, so each thread stages half as many elements per slice and
 * twice as many warps hide the latency. H200 (bench `gpu-session.sh big`, 2026-11-28, same process): 1–7% faster
 * than TC2_TILE on every forward and input-gradient GEMM it serves in the network (e.g. 3×3 128→256 stride 2 at
 * 257²: 135 → 125 µs; 1024→512 at 64²: 348 → 332 µs), slower on none; over the network's 3×3 convs forward 6.83 →
 * 6.67 ms, input gradients 6.17 → 6.08 ms. Needs 512 invocations and 33 KiB of workgroup memory per workgroup.
 */
export const TC2_TILE_16SG: Tc2Tile = { bm: 128, bn: 128, bk: 32, sgm: 4, sgn: 4, pad: 8, single: true };

/**
 * Workgroup memory of a GEMM with this tile: both operands staged in `layout` ('k' for forward / input-gradient
 * GEMMs, whose B is not staged with bGlobal; 'r' for the weight gradient), per staging buffer, plus the epilogue
 * scratch.
 */
export function tc2TileBytes(t: Tc2Tile, layout: 'k' | 'r' = 'k'): number {
  const b = layout === 'k' && t.bGlobal ? 0 : dims(layout, t.bn, t).size;
  return (t.single ? 1 : 2) * 2 * (dims(layout, t.bm, t).size + b) + t.sgm * t.sgn * 1024;
}

/** The tile for the GEMMs TC2_TILE serves by default on a device with these limits: TC2_TILE_16SG where it fits. */
export function defaultTile(limits: {
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number;
}): Tc2Tile {
  const t = TC2_TILE_16SG;
  const fits =
    limits.maxComputeInvocationsPerWorkgroup >= t.sgm * t.sgn * TC_SUBGROUP &&
    limits.maxComputeWorkgroupStorageSize >= tc2TileBytes(t);
  return fits ? t : TC2_TILE;
}
/**
 * The default tile where a forward / input-gradient GEMM has at most 64 columns (N = Cout, resp. Cin: the 64-channel
 * layers at 512²): with TC2_TILE half of every MMA would multiply padding. 256 × 64 with 4 × 2 subgroups keeps
 * each subgroup's 4 × 2 block of 16×16 accumulators; B (64 columns of f16 weights) is read straight from the
 * weight buffer, which keeps the tile within 48 KiB of workgroup storage. H200, 3×3 64→64 at 512², warm clocks
 * (bench conv-paths, 2026-11-28): forward 0.354 → 0.281 ms, input gradient 0.351 → 0.280 ms; 128 × 64 with 2 × 2
 * subgroups gave 0.301 / 0.297. The weight gradient (M = Cout = 64) keeps TC2_TILE: 64 × 256 / 64 × 128 tiles
 * measured 0.393 / 0.433 ms against its 0.393.
 */
export const TC2_TILE_N64: Tc2Tile = { bm: 256, bn: 64, bk: 32, sgm: 4, sgn: 2, pad: 8, bGlobal: true };

/**
 * The default tile of forward / input-gradient GEMMs with few rows (SMALL_M_ROWS: the 16²–33² layers, 512 and 1024
 * channels), where TC2_TILE leaves most of the GPU idle or splits K into long partial sums: 64 × 64 with 2 × 2
 * subgroups and split-K workgroups of ≥ 4 slices. H200, warm clocks, per conv incl. the f16 weight conversion
 * (bench `gpu-session.sh tiles`, 2026-11-28): 3×3 512→512 at 32² 81 → 64 µs, at 16² 48 → 33 µs, 1024→512 at 16²
 * 81 → 53 µs; at 8² (64 rows) TC2_TILE's fewer, longer workgroups stay faster (48 against 70 µs).
 */
export const TC2_TILE_SMALL_M: Tc2Tile = { bm: 64, bn: 64, bk: 32, sgm: 2, sgn: 2, pad: 8, minSlices: 4 };
/** GEMM rows for which TC2_TILE_SMALL_M is the default: 33² (a sub-pixel transposed conv from 32²) down to 65. */
export const SMALL_M_ROWS = { min: 65, max: 33 * 33 };

/**
 * The tile of a forward / input-gradient GEMM of m rows and n columns: the caller's, else the small-M tile where m
 * is within SMALL_M_ROWS (`smallMRows` replaces the bound, `tileSmallM` the tile), else the default for its width.
 */
export function tileFor(opts: Tc2Options, m: number, n: number): Tc2Tile {
  if (opts.tile) return opts.tile;
  if (m >= SMALL_M_ROWS.min && m <= (opts.smallMRows ?? SMALL_M_ROWS.max)) return opts.tileSmallM ?? TC2_TILE_SMALL_M;
  return n <= 64 ? (opts.tileN64 ?? TC2_TILE_N64) : (opts.tileDefault ?? TC2_TILE);
}

export interface Tc2Options {
  /** The tile of every GEMM; without it, tileFor picks TC2_TILE or a narrow default by shape. */
  tile?: Tc2Tile;
  /** Replaces TC2_TILE_N64 (bench A/B). */
  tileN64?: Tc2Tile;
  /**
   * Forward / input gradient: the tile where the narrow and small-M tiles do not apply; TC2_TILE if not given (the
   * conv2d-raw entry points give `defaultTile` of the device).
   */
  tileDefault?: Tc2Tile;
  /** Replaces TC2_TILE_SMALL_M, the forward / input-gradient tile of GEMMs with few rows (tileFor). */
  tileSmallM?: Tc2Tile;
  /** Replaces SMALL_M_ROWS.max, the most rows for which the small-M tile applies (0: never). */
  smallMRows?: number;
  mode?: TcMode;
  targetWorkgroups?: number;
  splits?: number;
  /** The fewest K slices a split-K workgroup walks (default 8): fewer means more, shorter workgroups. */
  minSlicesPerSplit?: number;
  /**
   * Forward / input grad: use weightScale·w (EqualConv2d's 1/√fan_in), applied while the weights are converted to
   * f16 (f32 product, then f16: the same operands as scaling first), so no separate scale dispatch.
   */
  weightScale?: number;
  /**
   * A gradient operand's range scale [s, 1/s] (f16-range.ts): the kernel stages v·s in f16 and multiplies its
   * result by 1/s. Forward / input gradient / sub-pixel: applies to the gathered pixels (binding 0); weight
   * gradient: to the operand `gradScaleOn` names.
   */
  gradScale?: GPUBuffer;
  /** Weight gradient: which operand `gradScale` belongs to ('gy' for conv2d, 'x' for conv_transpose2d). */
  gradScaleOn?: 'x' | 'gy';
  /**
   * Forward: stage A as the input patch of the output tile, once per channel chunk for all taps (tc2-patch.ts),
   * with this tile wherever patchApplies (stride 1, kh·kw > 1, enough workgroup memory); null never; by default
   * patchTileFor's choice (or `tile`, where given, for every conv).
   */
  patchTile?: Tc2Tile | null;
  /**
   * Sub-pixel conv_transpose2d with a 3×3 kernel: each workgroup walks only the taps its output phases use (9/16 of
   * the GEMM, tc2-subpixel.ts); false walks all four (bench A/B).
   */
  subpixelSkipTaps?: boolean;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * A WGSL literal that denotes exactly Math.fround(v): 17 significant digits of the f32 value parse back to that
 * very value as an AbstractFloat (f64), so its conversion to f32 involves no rounding.
 */
export function f32Literal(v: number): string {
  const t = Math.fround(v).toPrecision(17);
  return t.includes('.') || t.includes('e') ? t : `${t}.0`;
}
const BIG_NEG = -1048576; // an origin that fails every bounds test

/** A kernel label naming the convolution (the profiler totals GPU time per label, so per layer shape). */
export function shapeName(g: Conv2dGeom): string {
  return `${g.kh}x${g.kw}/${g.strideY} ${g.cin}→${g.cout} @${g.h}x${g.w}`;
}

export function tileKey(t: Tc2Tile): string {
  return `${t.bm},${t.bn},${t.bk},${t.sgm},${t.sgn},${t.pad ?? 8},${t.bGlobal ? 1 : 0},${t.single ? 1 : 0},${t.bVec ?? 4}`;
}

function consts(g: Conv2dGeom): string {
  return /* wgsl */ `
const NB: u32 = ${g.n}u; const CIN: u32 = ${g.cin}u; const H: u32 = ${g.h}u; const W: u32 = ${g.w}u;
const COUT: u32 = ${g.cout}u; const KH: u32 = ${g.kh}u; const KW: u32 = ${g.kw}u;
const SY: u32 = ${g.strideY}u; const SX: u32 = ${g.strideX}u; const PT: i32 = ${g.padTop}; const PL: i32 = ${g.padLeft};
const HO: u32 = ${g.ho}u; const WO: u32 = ${g.wo}u; const HOWO: u32 = ${g.ho * g.wo}u; const HW: u32 = ${g.h * g.w}u;
const KHW: u32 = ${g.kh * g.kw}u; const KTOT: u32 = ${g.cin * g.kh * g.kw}u;`;
}

/**
 * Validate a tile and return its invocations per workgroup: at most 8 subgroups, or up to 16 (512 invocations) where
 * the device allows them (`maxThreads`, its maxComputeInvocationsPerWorkgroup).
 */
export function checkTc2Tile(t: Tc2Tile, maxThreads = 256): number {
  const threads = t.sgm * t.sgn * TC_SUBGROUP;
  const limit = Math.min(512, Math.max(256, maxThreads));
  const pad = t.pad ?? 8;
  const ok =
    t.bm % (16 * t.sgm) === 0 &&
    t.bn % (16 * t.sgn) === 0 &&
    t.bk % 16 === 0 &&
    threads <= limit &&
    pad >= 0 &&
    pad % 8 === 0 &&
    [t.bm, t.bn, t.bk].every((v) => (v & (v - 1)) === 0);
  if (!ok)
    throw new Error(
      `tc2 tile ${JSON.stringify(t)}: needs powers of two, 16·sgm | bm, 16·sgn | bn, 16 | bk, ≤ ${limit / TC_SUBGROUP} subgroups, 8 | pad`,
    );
  return threads;
}

/** Staged layouts: 'k' = [k][rows] (rows contiguous), 'r' = [rows][k] (k contiguous), 'g' = B from global. */
export type Tc2Layout = 'k' | 'r' | 'g';

/** Row stride and size (halves) of one buffer of a staged tile with `rows` rows. */
function dims(layout: Tc2Layout, rows: number, t: Tc2Tile): { stride: number; size: number } {
  const pad = t.pad ?? 8;
  return layout === 'k'
    ? { stride: rows + pad, size: t.bk * (rows + pad) }
    : { stride: t.bk + pad, size: rows * (t.bk + pad) };
}

/**
 * Thread → element mapping of a staged operand: `lanes` units (pixel pairs, vec4s) along the contiguous axis,
 * `depth` lines along the other. Thread li owns units (li % L) + L·j (j < J) and lines (li / L) + Q·r (r < R).
 */
function mapping(T: number, lanes: number, depth: number): { L: number; J: number; Q: number; R: number } {
  const L = Math.min(T, lanes);
  const J = lanes / L;
  const Q = T / L;
  const R = depth / Q;
  if (!Number.isInteger(J) || !Number.isInteger(R) || R < 1)
    throw new Error(`tc2: ${T} threads cannot stage ${lanes} units × ${depth} lines`);
  return { L, J, Q, R };
}

interface Tc2Spec {
  /** Bindings, constants and `fn store(m, n, z, v)`. */
  header: string;
  m: number;
  n: number;
  slices: number;
  slicesPerSplit: number;
  aLayout: 'k' | 'r';
  bLayout: Tc2Layout;
  /** 'g' only: row stride of the f16 weight matrix (WHS) whose row ks·BK + k holds slice ks. */
  npad?: number;
  /** var<private> declarations, per-thread setup (in main), fetch body (slice `ks` → registers), put body. */
  vars: string;
  init: string;
  fetch: string;
  put: string;
  cFast: 'm' | 'n';
  /** With a gradient range scale: its binding (GSC = [s, 1/s]); `put` reads gScale, results are multiplied by 1/s. */
  scaleBinding?: number;
  /** WGSL index of the B slice (K rows ·BK of the weight layout) that slice `ks` multiplies; default `ks`. */
  bRow?: string;
  /** A staged once per `every` slices into one row-major buffer (tc2-patch.ts) instead of per slice. */
  aPatch?: Tc2Patch;
  /**
   * The header defines `fn rowOf(r: u32) -> u32`: the GEMM row of tile row r, 0xffffffffu where none (default:
   * m0 + r below GEMM_M).
   */
  rowOf?: boolean;
  /**
   * Each workgroup walks only some of the K slices: the header defines `fn kSlices(n0: u32) -> u32` (how many, for
   * the workgroup at column n0; called once; from n0 only, so the loop stays in uniform control flow) and
   * `fn kSlice(i: u32) -> u32` (the i-th of them, ascending). The sub-pixel transposed conv skips the taps its
   * output phases never use (tc2-subpixel.ts).
   */
  sparseK?: boolean;
}

/**
 * An A operand staged once per chunk of slices: `fetch` (part of the spec's) loads it into registers when slice ks
 * starts a chunk, `put` stores them (behind a barrier, since the buffer is single); `slice` is WGSL run at the top of
 * every slice (names the fragment offsets use), `off(i, st)` the offset of row block i at k-step st.
 */
export interface Tc2Patch {
  size: number;
  stride: number;
  every: number;
  put: string;
  slice: string;
  off: (i: number, st: number) => string;
}

/**
 * The staging of a pixel-gather × f16-weight GEMM (forward, input gradient, transposed conv): every field of the
 * spec but the header, sizes and slices.
 */
export function gatherTimesWeights(
  T: number,
  tile: Tc2Tile,
  channels: number,
  npad: number,
  scaled = false,
): Pick<Tc2Spec, 'aLayout' | 'bLayout' | 'npad' | 'vars' | 'init' | 'fetch' | 'put' | 'cFast'> {
  return { aLayout: 'k', ...timesWeights(T, tile, npad, pixelGather(T, tile, channels, scaled)) };
}

/**
 * The staging of a patch-staged forward (tc2-patch.ts) × f16 weights: A once per channel chunk, B per slice in
 * chunk-major slice order.
 */
function patchedTimesWeights(
  T: number,
  g: Conv2dGeom,
  tile: Tc2Tile,
  npad: number,
  scaled: boolean,
): Pick<
  Tc2Spec,
  'aLayout' | 'bLayout' | 'npad' | 'vars' | 'init' | 'fetch' | 'put' | 'cFast' | 'bRow' | 'aPatch' | 'rowOf'
> {
  const a = patchStaging(T, g, tile, scaled);
  return {
    aLayout: 'r',
    ...timesWeights(T, tile, npad, { ...a, put: '' }, a.bRow),
    bRow: a.bRow,
    aPatch: a.patch,
    rowOf: true,
  };
}

/** An A staging joined with the f16 weight copy of B (none with bGlobal: B is read from the weight buffer). */
function timesWeights(
  T: number,
  tile: Tc2Tile,
  npad: number,
  a: { vars: string; init: string; fetch: string; put: string },
  bRow?: string,
): Pick<Tc2Spec, 'bLayout' | 'npad' | 'vars' | 'init' | 'fetch' | 'put' | 'cFast'> {
  const b = tile.bGlobal ? null : weightCopy(T, tile, npad, bRow);
  return {
    bLayout: tile.bGlobal ? 'g' : 'k',
    npad,
    vars: a.vars + '\n' + (b?.vars ?? ''),
    init: a.init + (b?.init ?? ''),
    fetch: a.fetch + (b?.fetch ?? ''),
    put: a.put + (b?.put ?? ''),
    cFast: 'm',
  };
}

/** The GEMM skeleton around the staging of a spec. */
export function tc2Kernel(s: Tc2Spec, tile: Tc2Tile, mode: TcMode): string {
  const { bm, bn, bk, sgm, sgn } = tile;
  const T = checkTc2Tile(tile, 512); // the entry points checked it against the device
  const nbuf = tile.single ? 1 : 2;
  const fm = bm / sgm / 16;
  const fn = bn / sgn / 16;
  const p = s.aPatch;
  if (p && s.sparseK) throw new Error('tc2Kernel: a patch-staged A walks every slice (no sparseK)');
  // slice `i` of the workgroup's walk: itself, or the i-th slice kSlice names
  const slice = (i: string) => (s.sparseK ? `kSlice(${i})` : i);
  const A = p ? { stride: p.stride, size: p.size } : dims(s.aLayout, bm, tile);
  const B = dims(s.bLayout, bn, tile);
  const hw = mode === 'hw';
  const aCol = !p && s.aLayout === 'k';
  const bRow = s.bRow ?? 'ks';
  const bCol = s.bLayout === 'r';
  // Element (row, col) of a row-major load at off + row·stride + col; of a column-major one at off + col·stride + row.
  const aOff = (i: number, st: number) =>
    p
      ? p.off(i, st)
      : aCol
        ? `buf * ${A.size}u + ${st * 16 * A.stride + i * 16}u + am0`
        : `buf * ${A.size}u + (am0 + ${i * 16}u) * ${A.stride}u + ${st * 16}u`;
  const bOff = (j: number, st: number) =>
    s.bLayout === 'g'
      ? `(${bRow} * ${bk}u + ${st * 16}u) * ${s.npad}u + n0 + bn0 + ${j * 16}u`
      : bCol
        ? `buf * ${B.size}u + (bn0 + ${j * 16}u) * ${B.stride}u + ${st * 16}u`
        : `buf * ${B.size}u + ${st * 16 * B.stride + j * 16}u + bn0`;
  const bStride = s.bLayout === 'g' ? s.npad! : B.stride;
  const bArr = s.bLayout === 'g' ? 'WHS' : 'SB';
  const ct = hw ? 'subgroup_matrix_result<f32, 16, 16>' : 'array<f32, 8>';
  let decl = '';
  for (let i = 0; i < fm; i++) for (let j = 0; j < fn; j++) decl += `  var c${i}_${j}: ${ct};\n`;
  let inner = '';
  for (let st = 0; st < bk / 16; st++) {
    inner += `    {\n`;
    for (let i = 0; i < fm; i++)
      inner += hw
        ? `      let a${i} = ${sgmLoad('subgroup_matrix_left<f16, 16, 16>', '&SA', aOff(i, st), aCol, `${A.stride}u`)};\n`
        : `      let a${i} = SwMat(${aOff(i, st)}, ${A.stride}u, ${aCol ? 1 : 0}u);\n`;
    for (let j = 0; j < fn; j++)
      inner += hw
        ? `      let b${j} = ${sgmLoad('subgroup_matrix_right<f16, 16, 16>', `&${bArr}`, bOff(j, st), bCol, `${bStride}u`)};\n`
        : `      let b${j} = SwMat(${bOff(j, st)}, ${bStride}u, ${bCol ? 1 : 0}u);\n`;
    for (let i = 0; i < fm; i++)
      for (let j = 0; j < fn; j++)
        inner += hw
          ? `      c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, c${i}_${j});\n`
          : `      swMma(a${i}, b${j}, &c${i}_${j}, lane);\n`;
    inner += `    }\n`;
  }
  const cm = s.cFast === 'm';
  const scaled = s.scaleBinding !== undefined;
  const rowCol = cm ? 'let row = e % 16u; let col = e / 16u;' : 'let row = e / 16u; let col = e % 16u;';
  let out = '';
  for (let i = 0; i < fm; i++)
    for (let j = 0; j < fn; j++) {
      out += hw
        ? `  ${sgmStore('&SCR', 'sg * 256u', `c${i}_${j}`, false, '16u')};\n`
        : `  swStore(c${i}_${j}, sg * 256u, lane);\n`;
      out += `  workgroupBarrier();
  for (var r = 0u; r < ${hw ? '8u' : 'SW16 / 2u'}; r++) {
    let e = lane + r * 32u; ${rowCol}
    let m = ${s.rowOf ? `rowOf(am0 + ${i * 16}u + row)` : `m0 + am0 + ${i * 16}u + row`}; let n = n0 + bn0 + ${j * 16}u + col;
    if (${s.rowOf ? 'm != 0xffffffffu' : 'm < GEMM_M'} && n < GEMM_N) { store(m, n, wg.z, ${scaled ? 'gUnscale * ' : ''}SCR[sg * 256u + row * 16u + col]); }
  }
  workgroupBarrier();\n`;
    }
  const sw = /* wgsl */ `
var<private> SW16: u32;
struct SwMat { off: u32, stride: u32, colMajor: u32 }
fn swAt(a: SwMat, row: u32, col: u32) -> u32 {
  return select(a.off + row * a.stride + col, a.off + col * a.stride + row, a.colMajor != 0u);
}
fn swMma(a: SwMat, b: SwMat, c: ptr<function, array<f32, 8>>, lane: u32) {
  for (var r = 0u; r < SW16 / 2u; r++) {
    let e = lane + r * 32u; let row = e / 16u; let col = e % 16u;
    var acc = (*c)[r];
    for (var k = 0u; k < SW16; k++) { acc = fma(f32(SA[swAt(a, row, k)]), f32(${bArr}[swAt(b, k, col)]), acc); }
    (*c)[r] = acc;
  }
}
fn swStore(c: array<f32, 8>, off: u32, lane: u32) {
  for (var r = 0u; r < SW16 / 2u; r++) { let e = lane + r * 32u; SCR[off + (e / 16u) * 16u + e % 16u] = c[r]; }
}`;
  return /* wgsl */ `enable f16;
${hw ? 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);' : '// software subgroup matrices (test variant)'}
${s.header}
const GEMM_M: u32 = ${s.m}u;
const GEMM_N: u32 = ${s.n}u;
const SLICES: u32 = ${s.slices}u;
const SPS: u32 = ${s.slicesPerSplit}u;
var<workgroup> SA: array<f16, ${(p ? 1 : nbuf) * A.size}>;
${s.bLayout === 'g' ? '' : `var<workgroup> SB: array<f16, ${nbuf * B.size}>;`}
var<workgroup> SCR: array<f32, ${(T / TC_SUBGROUP) * 256}>;
var<private> gM0: u32;
var<private> gN0: u32;
var<private> gLi: u32;
${scaled ? `@group(0) @binding(${s.scaleBinding}) var<storage, read> GSC: array<f32>;\nvar<private> gScale: f32;\nvar<private> gUnscale: f32;` : ''}
${s.vars}
${hw ? '' : sw}
fn fetchTiles(ks: u32) {
  let m0 = gM0; let n0 = gN0;
${s.fetch}}
fn putTiles(buf: u32) {
${s.put}}${
    p
      ? `
fn putPatch() {
${p.put}}`
      : ''
  }
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * ${bm}u;
  let n0 = wg.y * ${bn}u;
  gM0 = m0; gN0 = n0; gLi = li;${scaled ? ' gScale = GSC[0]; gUnscale = GSC[1];' : ''}
  let sBegin = wg.z * SPS;
  let sEnd = min(${s.sparseK ? 'kSlices(n0)' : 'SLICES'}, sBegin + SPS);
  let sg = li / ${TC_SUBGROUP}u; let lane = li % ${TC_SUBGROUP}u;${hw ? '' : '\n  SW16 = select(16u, 0u, wg.z == 0xffffffffu);'}
  let am0 = (sg % ${sgm}u) * ${bm / sgm}u; let bn0 = (sg / ${sgm}u) * ${bn / sgn}u;
${s.init}
${decl}  if (sBegin < sEnd) { fetchTiles(${slice('sBegin')}); putTiles(0u);${p ? ' putPatch();' : ''} }
  workgroupBarrier();
${tile.single ? '  let buf = 0u;' : '  var buf = 0u;'}
  for (var it = sBegin; it < sEnd; it++) {
    let ks = ${slice('it')}; let more = it + 1u < sEnd;${p ? `\n${p.slice}` : ''}
    if (more) { fetchTiles(${slice('it + 1u')}); }
${inner}${
    tile.single
      ? `    workgroupBarrier();
    if (more) { putTiles(0u);${p ? ` if ((ks + 1u) % ${p.every}u == 0u) { putPatch(); }` : ''} }
    workgroupBarrier();
  }`
      : `    if (more) { putTiles(buf ^ 1u); }${p ? `\n    if (more && (ks + 1u) % ${p.every}u == 0u) { workgroupBarrier(); putPatch(); }` : ''}
    workgroupBarrier();
    buf ^= 1u;
  }`
  }
${out}}`;
}

/**
 * Staging of an activation gather (A of forward / input grad, layout 'k'): rows = output pixels m, k = (tap,
 * channel). The header defines `SRC` (f32 source, channel stride G_SHW, image G_SH × G_SW, G_SC channels,
 * G_CB = channel chunks of BK per tap), `fn pixel(m) -> vec3i` (batch offset in elements, origin y, origin x) and
 * `fn tapOf(t) -> vec2i` (dy, dx).
 */
function pixelGather(
  T: number,
  t: Tc2Tile,
  channels: number,
  scaled: boolean,
): { vars: string; init: string; fetch: string; put: string } {
  const A = dims('k', t.bm, t);
  const { L, J, Q, R } = mapping(T, t.bm / 2, t.bk);
  const U = 2 * J; // pixels per thread
  const exactC = channels % t.bk === 0;
  let init = `  aP = li % ${L}u; aK = li / ${L}u;\n`;
  for (let u = 0; u < U; u++)
    init += `  { let m = m0 + 2u * (aP + ${L * (u >> 1)}u) + ${u & 1}u;
    if (m < GEMM_M) { let p = pixel(m); aB[${u}] = p.x + p.y * i32(G_SW) + p.z; aY[${u}] = p.y; aX[${u}] = p.z; }
    else { aB[${u}] = 0; aY[${u}] = ${BIG_NEG}; aX[${u}] = 0; } }\n`;
  let fetch = `  let t = ks / G_CB; let c0 = (ks % G_CB) * ${t.bk}u; let d = tapOf(t);
  let cOff = i32((c0 + aK) * G_SHW) + d.x * i32(G_SW) + d.y;\n`;
  for (let u = 0; u < U; u++)
    fetch += `  let ok${u} = u32(aY[${u}] + d.x) < G_SH && u32(aX[${u}] + d.y) < G_SW; let ad${u} = aB[${u}] + cOff;\n`;
  for (let r = 0; r < R; r++) {
    const cok = exactC ? '' : ` && c0 + aK + ${Q * r}u < G_SC`;
    for (let u = 0; u < U; u++)
      fetch += `  { var v = 0.0; if (ok${u}${cok}) { v = SRC[u32(ad${u} + ${Q * r * 1}i * i32(G_SHW))]; } pa[${u * R + r}] = v; }\n`;
  }
  let put = '';
  const sc = scaled ? ' * gScale' : '';
  for (let r = 0; r < R; r++)
    for (let j = 0; j < J; j++) {
      const at = `buf * ${A.size}u + (aK + ${Q * r}u) * ${A.stride}u + 2u * (aP + ${L * j}u)`;
      put += `  { let o = ${at}; SA[o] = f16(pa[${2 * j * R + r}]${sc}); SA[o + 1u] = f16(pa[${(2 * j + 1) * R + r}]${sc}); }\n`;
    }
  return {
    vars: `var<private> aP: u32;\nvar<private> aK: u32;\nvar<private> aB: array<i32, ${U}>;\nvar<private> aY: array<i32, ${U}>;\nvar<private> aX: array<i32, ${U}>;\nvar<private> pa: array<f32, ${U * R}>;`,
    init,
    fetch,
    put,
  };
}

/**
 * Staging of the pre-converted f16 weights (B of forward / input grad, layout 'k'): binding WHV (vec4<f16>, or
 * vec2<f16> with tile.bVec 2).
 */
export function weightCopy(
  T: number,
  t: Tc2Tile,
  npad: number,
  bRow = 'ks',
): { vars: string; init: string; fetch: string; put: string } {
  const V = t.bVec ?? 4;
  const B = dims('k', t.bn, t);
  const { L, J, Q, R } = mapping(T, t.bn / V, t.bk);
  const npv = npad / V;
  let fetch = `  let rb = (${bRow} * ${t.bk}u + bK) * ${npv}u + n0 / ${V}u + bQ;\n`;
  for (let r = 0; r < R; r++)
    for (let j = 0; j < J; j++) fetch += `  pb[${j * R + r}] = WHV[rb + ${r * Q * npv + L * j}u];\n`;
  let put = '';
  const comps = 'xyzw'.slice(0, V);
  for (let r = 0; r < R; r++)
    for (let j = 0; j < J; j++) {
      const at = `buf * ${B.size}u + (bK + ${Q * r}u) * ${B.stride}u + ${V}u * (bQ + ${L * j}u)`;
      const st = [...comps].map((c, i) => `SB[o${i ? ` + ${i}u` : ''}] = v.${c};`).join(' ');
      put += `  { let o = ${at}; let v = pb[${j * R + r}]; ${st} }\n`;
    }
  return {
    vars: `var<private> bQ: u32;\nvar<private> bK: u32;\nvar<private> pb: array<vec${V}<f16>, ${J * R}>;`,
    init: `  bQ = li % ${L}u; bK = li / ${L}u;\n`,
    fetch,
    put,
  };
}

/**
 * The filter taps (ky·kw + kx) of a stride phase of the input gradient, in the layout's tap order: tap t ↦
 * (ky0 + sy·(t / nkx), kx0 + sx·(t % nkx)).
 */
function phaseTaps(kw: number, nky: number, nkx: number, ky0: number, kx0: number, sy: number, sx: number): number[] {
  const taps: number[] = [];
  for (let t = 0; t < nky * nkx; t++) taps.push((ky0 + sy * Math.floor(t / nkx)) * kw + kx0 + sx * (t % nkx));
  return taps;
}

/**
 * Weight conversion to the f16 B tile layout WH[t][r][q] (r < cp rows = the GEMM's k channels, q < npad columns =
 * its n; zero outside sc × nn) from conv2d's f32 weights W[cout][cin][kh][kw]: 'fwd' reads W[q][r][tap] (rows are
 * input channels), 'dgrad' W[r][q][tap] (rows are output channels). Each invocation owns a column pair (q, q+1)
 * of one row: it reads both columns' kh·kw taps (contiguous in W) once into registers and writes one f16 pair per
 * tap, so neighbouring invocations write neighbouring pairs. H200 (bench `gpu-session.sh convert`, 2026-11-28): the
 * 16×16-block transpose through workgroup memory it replaced, and a 64×8 one with conflict-free strides, were as
 * fast within the run-to-run spread; holding the weights constant (no conversion at all) takes 0.35 ms off the
 * 7.0 ms forward sum over the network's 3×3 convs, so the conversion is ~5% of a conv.
 * Layout tap t holds filter tap `taps[t]` (ky·kw + kx): all taps in order for the forward, and for the input
 * gradient the taps of every stride phase one after the other, so one dispatch converts all phases (each phase's
 * GEMM binds its part of the buffer). Constant weights (constant-weights.ts) are converted once and kept.
 */
function convertWeights(
  gpu: Gpu,
  g: Conv2dGeom,
  w: GPUBuffer,
  layout: 'fwd' | 'dgrad',
  taps: readonly number[],
  cp: number,
  npad: number,
  scale = 1,
): { buffer: GPUBuffer; temporary: boolean } {
  const khw = g.kh * g.kw;
  const key = `${layout}|${g.cout},${g.cin},${g.kh},${g.kw}|${taps.join(',')}|${cp},${npad}|${scale}`;
  return derivedWeights(w, key, () => {
    const halves = taps.length * cp * npad;
    const wh = gpu.pool.acquire(Math.max(16, halves * 2), 'tc2 f16 weights');
    if (halves === 0) return wh;
    const qMajor = layout === 'fwd';
    const pairs = (cp * npad) / 2;
    const code = cached(`wconv2|${key}`, () => {
      const sc = scale === 1 ? '' : ` * ${f32Literal(scale)}`;
      let load = '';
      for (let k = 0; k < khw; k++)
        load += `  let u${k} = select(0.0, Wsrc[b0 + ${k}u]${sc}, ok0); let v${k} = select(0.0, Wsrc[b1 + ${k}u]${sc}, ok1);\n`;
      let store = '';
      for (let t = 0; t < taps.length; t++)
        store += `  WH[${t * pairs}u + e] = vec2<f16>(f16(u${taps[t]}), f16(v${taps[t]}));\n`;
      return /* wgsl */ `enable f16;
@group(0) @binding(0) var<storage, read> Wsrc: array<f32>;
@group(0) @binding(1) var<storage, read_write> WH: array<vec2<f16>>;
const SC: u32 = ${qMajor ? g.cin : g.cout}u; const NN: u32 = ${qMajor ? g.cout : g.cin}u; const D1: u32 = ${g.cin}u;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= ${pairs}u) { return; }
  let q = 2u * (e % ${npad / 2}u); let r = e / ${npad / 2}u;
  let ok0 = r < SC && q < NN; let ok1 = r < SC && q + 1u < NN;
  // W[cout][cin][tap]: (q, r) is (cout, cin) for the forward, (cin, cout) for the input gradient
  let b0 = select(0u, ${qMajor ? '(q * D1 + r)' : '(r * D1 + q)'} * ${khw}u, ok0);
  let b1 = select(0u, ${qMajor ? '((q + 1u) * D1 + r)' : '(r * D1 + q + 1u)'} * ${khw}u, ok1);
${load}${store}}`;
    });
    const groups = ceilDiv(pairs, 256);
    const gx = Math.min(groups, 65535);
    gpu.dispatch(
      gpu.kernel(`conv2d_tc2_weights_f16 ${layout} ${g.kh}x${g.kw} ${g.cin}→${g.cout}`, code),
      [w, wh],
      [gx, ceilDiv(groups, gx), 1],
    );
    return wh;
  });
}

export function releaseWeights(gpu: Gpu, wh: { buffer: GPUBuffer; temporary: boolean }): void {
  if (wh.temporary) gpu.pool.release(wh.buffer);
}

export function splitSlices(slices: number, tiles: number, opts: Tc2Options, tile: Tc2Tile): [number, number] {
  if (slices === 0) return [1, 1];
  const depth = opts.minSlicesPerSplit ?? tile.minSlices ?? 8;
  const want = opts.splits ?? Math.min(ceilDiv(opts.targetWorkgroups ?? 512, tiles), ceilDiv(slices, depth));
  const sps = ceilDiv(slices, Math.max(1, want));
  return [sps, ceilDiv(slices, sps)];
}

/**
 * Bindings of a pixel-gather × f16-weight GEMM that stores to `out` with an optional per-column bias (the input
 * gradient, conv_transpose2d): SRC, the weights, Bias, `out`, then the gradient range scale (its binding index).
 */
export function gatherBindings(tile: Tc2Tile, bias: boolean, out: string): { wgsl: string; scaleBinding: number } {
  return {
    wgsl: `@group(0) @binding(0) var<storage, read> SRC: array<f32>;
${bHeader(tile)}
${bias ? '@group(0) @binding(2) var<storage, read> Bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> ${out}: array<f32>;`,
    scaleBinding: bias ? 4 : 3,
  };
}

export function bHeader(tile: Tc2Tile): string {
  return tile.bGlobal
    ? '@group(0) @binding(1) var<storage, read> WHS: array<f16>;'
    : `@group(0) @binding(1) var<storage, read> WHV: array<vec${tile.bVec ?? 4}<f16>>;`;
}

export function conv2dForwardTc2(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: Tc2Options & { epilogue?: ConvEpilogue } = {},
): void {
  const patched = patchFor(gpu, g, opts);
  const tile = patched ?? tileFor(opts, g.n * g.ho * g.wo, g.cout);
  const order = phaseTaps(g.kw, g.kh, g.kw, 0, 0, 1, 1);
  const weights = (cp: number, npad: number) => convertWeights(gpu, g, w, 'fwd', order, cp, npad, opts.weightScale);
  forwardGemm(
    gpu,
    g,
    x,
    weights,
    bias,
    y,
    opts,
    tile,
    patched !== null,
    `conv2d_fwd_tc2_${opts.mode ?? 'hw'} ${shapeName(g)}`,
  );
}

/** The patch tile of a forward-like conv: the caller's, none, or patchTileFor's (none where a `tile` is given). */
function patchFor(gpu: Gpu, g: Conv2dGeom, opts: Tc2Options): Tc2Tile | null {
  const want = opts.patchTile !== undefined ? opts.patchTile : opts.tile ? null : patchTileFor(g, gpu.limits);
  return want && patchApplies(g, want, gpu.limits.maxComputeWorkgroupStorageSize) ? want : null;
}

/**
 * The GEMM of a forward conv `g` (x → y) with f16 weights made by `weights(cp, npad)` in the [tap][channel][n]
 * layout: the gather or (patched) the patch staging, split-K and the fused or separate epilogue.
 */
function forwardGemm(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  weights: (cp: number, npad: number) => { buffer: GPUBuffer; temporary: boolean },
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: Tc2Options & { epilogue?: ConvEpilogue },
  tile: Tc2Tile,
  patched: boolean,
  /** The kernel's label (profiles total GPU time per label). */
  label: string,
): void {
  const mode = opts.mode ?? 'hw';
  const T = checkTc2Tile(tile, gpu.limits.maxComputeInvocationsPerWorkgroup);
  const taps = g.kh * g.kw;
  const cb = ceilDiv(g.cin, tile.bk);
  const cp = cb * tile.bk;
  const npad = ceilDiv(g.cout, tile.bn) * tile.bn;
  const M = g.n * g.ho * g.wo;
  const ny = g.n * g.cout * g.ho * g.wo;
  const grid = [patched ? patchTiles(g, tile) : ceilDiv(M, tile.bm), ceilDiv(g.cout, tile.bn)];
  const slices = taps * cb;
  const split = splitSlices(slices, grid[0]! * grid[1]!, opts, tile);
  const [sps, splits] = patched ? patchSplits(split[0], slices, taps) : split;
  const epi = opts.epilogue ?? {};
  const fused = splits === 1 && (bias !== null || hasEpilogue(epi));
  const extra = fused ? epilogueBuffers(bias, epi) : [];
  const ekey = fused ? epilogueWgsl(bias !== null, epi, 2).key : '';
  const wh = weights(cp, npad);
  const gs = opts.gradScale ? [opts.gradScale] : [];

  const src = cached(
    `tc2fwd|${geomKey(g)}|${tileKey(tile)}|${patched ? 'patch' : ''}|${mode}|${ekey}|${sps}|${gs.length}`,
    () => {
      const e = fused ? epilogueWgsl(bias !== null, epi, 2) : null;
      const staging = patched
        ? patchedTimesWeights(T, g, tile, npad, gs.length > 0)
        : gatherTimesWeights(T, tile, g.cin, npad, gs.length > 0);
      return tc2Kernel(
        {
          header: /* wgsl */ `
@group(0) @binding(0) var<storage, read> SRC: array<f32>;
${bHeader(tile)}
${e ? e.decl : ''}
@group(0) @binding(${2 + extra.length}) var<storage, read_write> Y: array<f32>;
${consts(g)}
const G_SC: u32 = CIN; const G_SH: u32 = H; const G_SW: u32 = W; const G_SHW: u32 = HW; const G_CB: u32 = ${cb}u;
${e ? e.fn : ''}
fn pixel(m: u32) -> vec3i {
  let b = m / HOWO; let p = m % HOWO;
  return vec3i(i32(b * CIN * HW), i32((p / WO) * SY) - PT, i32((p % WO) * SX) - PL);
}
fn tapOf(t: u32) -> vec2i { return vec2i(i32(t / KW), i32(t % KW)); }
fn store(m: u32, n: u32, z: u32, v: f32) {
  let b = m / HOWO; let p = m % HOWO;
  Y[z * ${ny}u + (b * COUT + n) * HOWO + p] = ${e ? 'epi(b, n, p, v)' : 'v'};
}`,
          m: M,
          n: g.cout,
          slices,
          slicesPerSplit: sps,
          ...staging,
          scaleBinding: gs.length ? 3 + extra.length : undefined,
        },
        tile,
        mode,
      );
    },
  );
  const k = gpu.kernel(label, src);
  if (splits === 1) {
    gpu.dispatch(k, [x, wh.buffer, ...extra, y, ...gs], [grid[0]!, grid[1]!, 1]);
  } else {
    const part = gpu.pool.acquire(splits * ny * 4, 'conv partials');
    gpu.dispatch(k, [x, wh.buffer, part, ...gs], [grid[0]!, grid[1]!, splits]);
    if (bias !== null || hasEpilogue(epi)) sumSplitsEpilogue(gpu, g, part, y, splits, bias, epi);
    else sumSplits(gpu, part, y, ny, splits);
    gpu.pool.release(part);
  }
  releaseWeights(gpu, wh);
}

/**
 * The forward conv equal to a stride-1 conv's input gradient: gy [n, cout, ho, wo] → gx [n, cin, h, w] with the
 * kernel flipped (tap (ky, kx) ↦ (kh−1−ky, kw−1−kx)), channels swapped and padding kh−1−pad (may be negative).
 */
export function dgradAsForward(g: Conv2dGeom): Conv2dGeom {
  return {
    n: g.n,
    cin: g.cout,
    h: g.ho,
    w: g.wo,
    cout: g.cin,
    kh: g.kh,
    kw: g.kw,
    strideY: 1,
    strideX: 1,
    padTop: g.kh - 1 - g.padTop,
    padBottom: g.kh - 1 - g.padBottom,
    padLeft: g.kw - 1 - g.padLeft,
    padRight: g.kw - 1 - g.padRight,
    ho: g.h,
    wo: g.w,
  };
}

/** Input gradient (per stride phase, as implicit.ts); with `bias` (indexed by cin) conv_transpose2d's forward. */
export function conv2dBackwardInputTc2(
  gpu: Gpu,
  g: Conv2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  bias: GPUBuffer | null = null,
  opts: Tc2Options = {},
): void {
  if (g.strideY === 1 && g.strideX === 1) {
    // a stride-1 input gradient is the forward conv of gy with the flipped filter: patch-staged where it applies
    const gd = dgradAsForward(g);
    const patched = patchFor(gpu, gd, opts);
    if (patched) {
      const khw = g.kh * g.kw;
      const flipped = Array.from({ length: khw }, (_, t) => khw - 1 - t);
      const weights = (cp: number, npad: number) =>
        convertWeights(gpu, g, w, 'dgrad', flipped, cp, npad, opts.weightScale);
      const label = `conv2d_dgrad_tc2_${opts.mode ?? 'hw'} ${shapeName(g)} (patch)`;
      forwardGemm(gpu, gd, gy, weights, bias, gx, { ...opts, epilogue: undefined }, patched, true, label);
      return;
    }
  }
  // rows per stride phase (the largest phase)
  const tile = tileFor(opts, g.n * ceilDiv(g.h, g.strideY) * ceilDiv(g.w, g.strideX), g.cin);
  const mode = opts.mode ?? 'hw';
  const T = checkTc2Tile(tile, gpu.limits.maxComputeInvocationsPerWorkgroup);
  const nx = g.n * g.cin * g.h * g.w;
  const cb = ceilDiv(g.cout, tile.bk);
  const cp = cb * tile.bk;
  const npad = ceilDiv(g.cin, tile.bn) * tile.bn;
  const tiles0 = ceilDiv(g.n * ceilDiv(g.h, g.strideY) * ceilDiv(g.w, g.strideX), tile.bm) * ceilDiv(g.cin, tile.bn);
  const slices0 = ceilDiv(g.kh, g.strideY) * ceilDiv(g.kw, g.strideX) * cb;
  const splits = splitSlices(slices0, tiles0 * g.strideY * g.strideX, opts, tile)[1];
  const part = splits > 1 ? gpu.pool.acquire(splits * nx * 4, 'conv partials') : gx;
  // The stride phases (output pixels ≡ (py, px) mod stride) and their filter taps; one weight conversion for all.
  const phases: {
    py: number;
    px: number;
    hph: number;
    wph: number;
    ky0: number;
    kx0: number;
    nkx: number;
    first: number;
    taps: number;
  }[] = [];
  const allTaps: number[] = [];
  for (let py = 0; py < g.strideY; py++)
    for (let px = 0; px < g.strideX; px++) {
      const hph = ceilDiv(g.h - py, g.strideY);
      const wph = ceilDiv(g.w - px, g.strideX);
      if (hph <= 0 || wph <= 0) continue;
      const ky0 = (py + g.padTop) % g.strideY;
      const kx0 = (px + g.padLeft) % g.strideX;
      const nky = Math.max(0, ceilDiv(g.kh - ky0, g.strideY));
      const nkx = Math.max(0, ceilDiv(g.kw - kx0, g.strideX));
      const taps = phaseTaps(g.kw, nky, nkx, ky0, kx0, g.strideY, g.strideX);
      phases.push({ py, px, hph, wph, ky0, kx0, nkx, first: allTaps.length, taps: taps.length });
      allTaps.push(...taps);
    }
  const wh = convertWeights(gpu, g, w, 'dgrad', allTaps, cp, npad, opts.weightScale);
  const gs = opts.gradScale ? [opts.gradScale] : [];
  const tapBytes = cp * npad * 2; // a multiple of 512 (bk, bn ≥ 16): phase parts are valid binding offsets
  if (phases.length > 1 && tapBytes % gpu.limits.minStorageBufferOffsetAlignment !== 0)
    throw new Error(`tc2: weight parts of ${tapBytes} bytes are not aligned for binding offsets`);
  for (const { py, px, hph, wph, ky0, kx0, nkx, first, taps } of phases) {
    {
      const oy = (py + g.padTop - ky0) / g.strideY;
      const ox = (px + g.padLeft - kx0) / g.strideX;
      const slices = taps * cb;
      const sps = Math.max(1, ceilDiv(slices, splits));
      const M = g.n * hph * wph;
      const phaseConsts = /* wgsl */ `
const PY: u32 = ${py}u; const PX: u32 = ${px}u; const HPH: u32 = ${hph}u; const WPH: u32 = ${wph}u;
const KY0: u32 = ${ky0}u; const KX0: u32 = ${kx0}u; const NKXD: u32 = ${Math.max(1, nkx)}u;
const OY: u32 = ${oy}u; const OX: u32 = ${ox}u;`;

      const src = cached(
        `tc2dgrad|${geomKey(g)}|${tileKey(tile)}|${mode}|${bias ? 1 : 0}|${py},${px}|${sps}|${gs.length}`,
        () => {
          const b = gatherBindings(tile, bias !== null, 'GX');
          return tc2Kernel(
            {
              header: /* wgsl */ `
${b.wgsl}
${consts(g)}
${phaseConsts}
const G_SC: u32 = COUT; const G_SH: u32 = HO; const G_SW: u32 = WO; const G_SHW: u32 = HOWO; const G_CB: u32 = ${cb}u;
fn pixel(m: u32) -> vec3i {
  let b = m / (HPH * WPH); let q = m % (HPH * WPH);
  return vec3i(i32(b * COUT * HOWO), i32(q / WPH + OY), i32(q % WPH + OX));
}
fn tapOf(t: u32) -> vec2i { return vec2i(-i32(t / NKXD), -i32(t % NKXD)); }
fn store(m: u32, n: u32, z: u32, v: f32) {
  let b = m / (HPH * WPH); let q = m % (HPH * WPH);
  let h = PY + SY * (q / WPH); let w = PX + SX * (q % WPH);
  GX[z * ${nx}u + ((b * CIN + n) * H + h) * W + w] = v${bias ? ' + select(0.0, Bias[n], z == 0u)' : ''};
}`,
              m: M,
              n: g.cin,
              slices,
              slicesPerSplit: sps,
              ...gatherTimesWeights(T, tile, g.cout, npad, gs.length > 0),
              scaleBinding: gs.length ? b.scaleBinding : undefined,
            },
            tile,
            mode,
          );
        },
      );
      const k = gpu.kernel(`conv2d_dgrad_tc2_${mode} ${shapeName(g)}`, src);
      // Every split slice must be fully written: a split past this phase's slices stores zeros (empty loop).
      const wpart = taps > 0 ? { buffer: wh.buffer, offset: first * tapBytes, size: taps * tapBytes } : wh.buffer;
      gpu.dispatch(k, bias ? [gy, wpart, bias, part, ...gs] : [gy, wpart, part, ...gs], [
        ceilDiv(M, tile.bm),
        ceilDiv(g.cin, tile.bn),
        splits,
      ]);
    }
  }
  releaseWeights(gpu, wh);
  if (splits > 1) {
    sumSplits(gpu, part, gx, nx, splits);
    gpu.pool.release(part);
  }
}

/**
 * Weight gradient: M = Cout, N = Cin·kh·kw (the weight layout's order), K = pixels. Both operands are gathered
 * k-contiguous ([rows][k]); each thread owns pixel pair(s) of every slice and fixed rows (A) and columns (B).
 */
export function conv2dBackwardWeightTc2(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  gy: GPUBuffer,
  gw: GPUBuffer,
  opts: Tc2Options = {},
): void {
  // Both operands staged k-contiguous: halve BK until the tiles fit the adapter's workgroup memory.
  let tile: Tc2Tile = { ...(opts.tile ?? TC2_TILE), bGlobal: false };
  while (tile.bk > 16 && tc2TileBytes(tile, 'r') > gpu.limits.maxComputeWorkgroupStorageSize)
    tile = { ...tile, bk: tile.bk / 2 };
  const mode = opts.mode ?? 'hw';
  const T = checkTc2Tile(tile, gpu.limits.maxComputeInvocationsPerWorkgroup);
  const kk = g.cin * g.kh * g.kw;
  const L = g.n * g.ho * g.wo;
  const slices = ceilDiv(L, tile.bk);
  const tiles = ceilDiv(g.cout, tile.bm) * ceilDiv(kk, tile.bn);
  const [sps, splits] = splitSlices(slices, tiles, opts, tile);
  const gs = opts.gradScale ? [opts.gradScale] : [];
  const on = gs.length ? (opts.gradScaleOn ?? 'gy') : null;
  const src = cached(`tc2wgrad|${geomKey(g)}|${tileKey(tile)}|${mode}|${sps}|${on}`, () => {
    const A = dims('r', tile.bm, tile);
    const B = dims('r', tile.bn, tile);
    const ma = mapping(T, tile.bk / 2, tile.bm);
    const mb = mapping(T, tile.bk / 2, tile.bn);
    // Same pixel lanes for both operands (L, J depend only on T and bk).
    const { L: PL_, J } = ma;
    const U = 2 * J;
    let init = `  kP = li % ${PL_}u; rQ = li / ${PL_}u;\n`;
    for (let r = 0; r < mb.R; r++)
      init += `  { let n = n0 + rQ + ${mb.Q * r}u;
    if (n < KTOT) { let c = n / KHW; let t = n % KHW; let dy = i32(t / KW); let dx = i32(t % KW);
      wOff[${r}] = i32(c * HW) + dy * i32(W) + dx; wDy[${r}] = dy; wDx[${r}] = dx; }
    else { wOff[${r}] = 0; wDy[${r}] = ${BIG_NEG}; wDx[${r}] = 0; } }\n`;
    let fetch = `  let rowA = (m0 + rQ) * HOWO;\n`;
    for (let u = 0; u < U; u++) {
      fetch += `  { let p = ks * ${tile.bk}u + 2u * (kP + ${PL_ * (u >> 1)}u) + ${u & 1}u; let ok = p < GEMM_K;
    let b = p / HOWO; let q = p % HOWO; let oy = q / WO; let ox = q % WO;
    let iy0 = select(${BIG_NEG}, i32(oy * SY) - PT, ok); let ix0 = i32(ox * SX) - PL;
    let ga = b * COUT * HOWO + q + rowA; let xb = i32(b * CIN * HW) + iy0 * i32(W) + ix0;\n`;
      for (let r = 0; r < ma.R; r++)
        fetch += `    { var v = 0.0; if (ok && m0 + rQ + ${ma.Q * r}u < COUT) { v = GY[ga + ${ma.Q * r}u * HOWO]; } pa[${u * ma.R + r}] = v; }\n`;
      for (let r = 0; r < mb.R; r++)
        fetch += `    { var v = 0.0; if (u32(iy0 + wDy[${r}]) < H && u32(ix0 + wDx[${r}]) < W) { v = X[u32(xb + wOff[${r}])]; } pb[${u * mb.R + r}] = v; }\n`;
      fetch += '  }\n';
    }
    let put = '';
    // A is gy (rows = output channels), B is x; the range scale multiplies the operand that is the gradient.
    const sa = on === 'gy' ? ' * gScale' : '';
    const sb = on === 'x' ? ' * gScale' : '';
    for (let j = 0; j < J; j++) {
      for (let r = 0; r < ma.R; r++)
        put += `  { let o = buf * ${A.size}u + (rQ + ${ma.Q * r}u) * ${A.stride}u + 2u * (kP + ${PL_ * j}u); SA[o] = f16(pa[${2 * j * ma.R + r}]${sa}); SA[o + 1u] = f16(pa[${(2 * j + 1) * ma.R + r}]${sa}); }\n`;
      for (let r = 0; r < mb.R; r++)
        put += `  { let o = buf * ${B.size}u + (rQ + ${mb.Q * r}u) * ${B.stride}u + 2u * (kP + ${PL_ * j}u); SB[o] = f16(pb[${2 * j * mb.R + r}]${sb}); SB[o + 1u] = f16(pb[${(2 * j + 1) * mb.R + r}]${sb}); }\n`;
    }
    return tc2Kernel(
      {
        header: /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${consts(g)}
const GEMM_K: u32 = ${L}u;
fn store(m: u32, n: u32, z: u32, v: f32) { OUT[(z * COUT + m) * KTOT + n] = v; }`,
        m: g.cout,
        n: kk,
        slices,
        slicesPerSplit: sps,
        aLayout: 'r',
        bLayout: 'r',
        vars: `var<private> kP: u32;\nvar<private> rQ: u32;\nvar<private> wOff: array<i32, ${mb.R}>;\nvar<private> wDy: array<i32, ${mb.R}>;\nvar<private> wDx: array<i32, ${mb.R}>;\nvar<private> pa: array<f32, ${U * ma.R}>;\nvar<private> pb: array<f32, ${U * mb.R}>;`,
        init,
        fetch,
        put,
        cFast: 'n',
        scaleBinding: on ? 3 : undefined,
      },
      tile,
      mode,
    );
  });
  const k = gpu.kernel(`conv2d_wgrad_tc2_${mode} ${shapeName(g)}`, src);
  const grid = [ceilDiv(g.cout, tile.bm), ceilDiv(kk, tile.bn), splits];
  if (splits === 1) {
    gpu.dispatch(k, [x, gy, gw, ...gs], grid);
    return;
  }
  const part = gpu.pool.acquire(splits * g.cout * kk * 4, 'wgrad partials');
  gpu.dispatch(k, [x, gy, part, ...gs], grid);
  sumSplits(gpu, part, gw, g.cout * kk, splits);
  gpu.pool.release(part);
}

/** The WGSL of the forward kernel of a geometry (for structural tests of the hardware variant). */
export function tc2ForwardWgslForTest(g: Conv2dGeom, tile: Tc2Tile, mode: TcMode): string {
  const T = checkTc2Tile(tile, 512);
  const cb = ceilDiv(g.cin, tile.bk);
  const npad = ceilDiv(g.cout, tile.bn) * tile.bn;
  return tc2Kernel(
    {
      header: `${bHeader(tile)}\n${consts(g)}\nconst G_CB: u32 = ${cb}u;`,
      m: g.n * g.ho * g.wo,
      n: g.cout,
      slices: g.kh * g.kw * cb,
      slicesPerSplit: g.kh * g.kw * cb,
      ...gatherTimesWeights(T, tile, g.cin, npad),
    },
    tile,
    mode,
  );
}
