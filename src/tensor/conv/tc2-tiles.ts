/**
 * Tiles of the tc2 tensor-core GEMMs (tc2.ts): their shapes, the per-shape defaults and the device's, the workgroup
 * memory they stage into, and split-K. A tile is BM×BN×BK per workgroup over SGM×SGN subgroups of 32 invocations,
 * each subgroup owning a (BM/SGM)×(BN/SGN) block of 16×16 f32 result matrices (f16 operands, 16×16×16 products).
 */
import { ceilDiv } from './geometry.js';
import { targetWorkgroups } from './split-k.js';

/** Invocations per subgroup the kernels assume (NVIDIA's warp; the software twin emulates 32 lanes). */
export const TC_SUBGROUP = 32;

/** 'hw': subgroup-matrix intrinsics (tensor cores); 'sw': the software twin over the same memory (tc2-kernel.ts). */
export type TcMode = 'hw' | 'sw';

export interface Tc2Tile {
  bm: number;
  bn: number;
  bk: number;
  /** Subgroups along m and n (32 invocations each; ≤ 8 in all, or 16 where the device allows 512 invocations). */
  sgm: number;
  sgn: number;
  /** Padding of every staged tile row, in halves (multiple of 8 keeps rows 16-byte aligned). Default 8. */
  pad?: number;
  /** Forward / input grad: load the weight matrices straight from the f16 weight buffer (no B staging). */
  bGlobal?: boolean;
  /** The fewest K slices a split-K workgroup of this tile walks (default 8). */
  minSlices?: number;
  /**
   * One staging buffer instead of two (two barriers per K slice instead of one; the next slice's global loads still
   * overlap the MMAs, in registers): half the workgroup memory, so larger tiles fit.
   */
  single?: boolean;
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

/** The tiles a call's GEMMs run with: the caller's for all of them, else the per-shape choice of tileFor. */
export interface Tc2Tiling {
  /** The tile of every GEMM (tests at lavapipe's sizes, bench variants); without it tileFor picks by shape. */
  tile?: Tc2Tile;
  /** The tile where the narrow and small-M tiles do not apply: defaultTile of the device (TC2_TILE if not given). */
  tileDefault?: Tc2Tile;
}

/**
 * The tile of a forward / input-gradient GEMM of m rows and n columns: the caller's, else the small-M tile where m
 * is within SMALL_M_ROWS, else the default for its width.
 */
export function tileFor(opts: Tc2Tiling, m: number, n: number): Tc2Tile {
  if (opts.tile) return opts.tile;
  if (m >= SMALL_M_ROWS.min && m <= SMALL_M_ROWS.max) return TC2_TILE_SMALL_M;
  return n <= 64 ? TC2_TILE_N64 : (opts.tileDefault ?? TC2_TILE);
}

/** A string naming every field of a tile (source cache keys). */
export function tileKey(t: Tc2Tile): string {
  return `${t.bm},${t.bn},${t.bk},${t.sgm},${t.sgn},${t.pad ?? 8},${t.bGlobal ? 1 : 0},${t.single ? 1 : 0}`;
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
export function dims(layout: Tc2Layout, rows: number, t: Tc2Tile): { stride: number; size: number } {
  const pad = t.pad ?? 8;
  return layout === 'k'
    ? { stride: rows + pad, size: t.bk * (rows + pad) }
    : { stride: t.bk + pad, size: rows * (t.bk + pad) };
}

/**
 * K slices per split-K workgroup and the number of splits, for a GEMM of `slices` K slices over `tiles` output tiles:
 * `splits` if given, else enough to run about targetWorkgroups (split-k.ts: 512 workgroups of ≤ 256 invocations, 256
 * of 512) of at least tile.minSlices (default 8) slices each.
 */
export function splitSlices(slices: number, tiles: number, opts: { splits?: number }, tile: Tc2Tile): [number, number] {
  if (slices === 0) return [1, 1];
  const depth = tile.minSlices ?? 8;
  const target = targetWorkgroups(tile.sgm * tile.sgn * TC_SUBGROUP);
  const want = opts.splits ?? Math.min(ceilDiv(target, tiles), ceilDiv(slices, depth));
  const sps = ceilDiv(slices, Math.max(1, want));
  return [sps, ceilDiv(slices, sps)];
}
