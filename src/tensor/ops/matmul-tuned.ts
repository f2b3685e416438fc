/**
 * Large products of `matmul` on the tuned fp32 GEMM (conv/gemm-tuned.ts: 128×128 tiles, 8×8 outputs per thread,
 * double-buffered workgroup memory; 64×64 tiles for products of fewer outputs), which the convolutions reach
 * 25–28 TFLOP/s with; the 16×16 kernel of linalg.ts
 * (one output per thread, two workgroup reads per FMA) stays for small and batched products. The template fit's MLPs
 * are such products: ~82k points through 256–512-wide layers, forward and backward.
 *
 * Sizes are baked into the kernel (one pipeline per shape: a fit repeats its few shapes every step); alpha and the
 * bias scale travel as uniforms. A product with few output tiles (a weight gradient: M, N of the layer widths, K of
 * the points) splits K across workgroups into partials that one more dispatch adds up (conv/split-k.ts), the
 * epilogue (bias, and the old value when accumulating) carried by split 0.
 */
import type { GemmTile } from '../conv/gemm.js';
import { ceilDiv } from '../conv/geometry.js';
import { gemmTunedWgsl, TUNED_TILE } from '../conv/gemm-tuned.js';
import { sumSplits, TARGET_WORKGROUPS } from '../conv/split-k.js';
import { gpu } from '../tensor.js';
import { cachedKernel, f, params } from '../kernels/util.js';

/** Products at least this large on every side take the tuned GEMM (a 128×128 tile is at least a quarter used). */
export const TUNED_MIN_ROWS = 64;
export const TUNED_MIN_COLS = 64;
export const TUNED_MIN_DEPTH = 16;

export interface TunedProduct {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  biasScale: number;
  /** Add into C's current values instead of overwriting them. */
  accumulate: boolean;
  /** Force the number of K splits (tests); default: enough splits for ~TARGET_WORKGROUPS workgroups. */
  splits?: number;
}

/** A product at least this deep takes the tuned GEMM also with a narrow side (see usesTunedGemm). */
export const TUNED_DEEP = 4096;

/**
 * Whether an unbatched [m, k] · [k, n] product goes to the tuned GEMM: a large one, or a deep one whose tiles are at
 * least a quarter used. The second kind is a narrow layer's weight gradient over the points (the template's first
 * SDF layer: 512 × 39 outputs, K = 81,920): the 16×16 kernel runs its K serially in ~100 workgroups (3.7 ms on an
 * H200), the tuned GEMM splits K across hundreds. A thinner product (a 1-row projection) stays on the gemv kernel,
 * which would otherwise pay for mostly empty tiles.
 */
export function usesTunedGemm(m: number, n: number, k: number): boolean {
  if (m >= TUNED_MIN_ROWS && n >= TUNED_MIN_COLS && k >= TUNED_MIN_DEPTH) return true;
  const t = tileFor(m, n);
  return k >= TUNED_DEEP && 4 * m * n >= ceilDiv(m, t.bm) * t.bm * ceilDiv(n, t.bn) * t.bn;
}

/** A product with fewer outputs than this takes 64×64 tiles (4×4 per thread): more workgroups, a quarter the code. */
const SMALL_OUTPUTS = 512 * 512;
const SMALL_TILE: GemmTile = { bm: 64, bn: 64, bk: 8, tm: 4, tn: 4 };
const tileFor = (m: number, n: number): GemmTile => (m * n < SMALL_OUTPUTS ? SMALL_TILE : TUNED_TILE);

/** K per split (a multiple of the tile's depth) and the number of splits. */
function splitsFor(p: TunedProduct, tile: GemmTile): [number, number] {
  const { bm, bn, bk } = tile;
  const tiles = ceilDiv(p.m, bm) * ceilDiv(p.n, bn);
  // each split keeps at least 8 K steps of the tile, so the partials' traffic stays small next to the product
  const want = p.splits ?? Math.max(1, Math.min(ceilDiv(TARGET_WORKGROUPS, tiles), ceilDiv(p.k, 8 * bk)));
  const kSplit = ceilDiv(ceilDiv(p.k, want), bk) * bk;
  return [kSplit, ceilDiv(p.k, kSplit)];
}

function wgsl(p: TunedProduct, tile: GemmTile, bias: boolean, kSplit: number, split: boolean): string {
  const { m, n, k, transA, transB, accumulate } = p;
  const aAt = transA ? `A[k * ${m}u + m]` : `A[m * ${k}u + k]`;
  const bAt = transB ? `B[n * ${k}u + k]` : `B[k * ${n}u + n]`;
  // unsplit: C = alpha·s + bias (+ C); split z: Part[z] = alpha·s, plus bias (+ C) in split 0
  const extra = `${bias ? ' + bias[n] * P.bscale' : ''}${accumulate ? ' + C[i]' : ''}`;
  const store = split ? `Part[z * ${m * n}u + i] = select(y, y${extra}, z == 0u);` : `C[i] = y${extra};`;
  let b = 2;
  const decl = [
    `@group(0) @binding(0) var<storage, read> A: array<f32>;`,
    `@group(0) @binding(1) var<storage, read> B: array<f32>;`,
  ];
  if (bias) decl.push(`@group(0) @binding(${b++}) var<storage, read> bias: array<f32>;`);
  if (split) {
    if (accumulate) decl.push(`@group(0) @binding(${b++}) var<storage, read> C: array<f32>;`);
    decl.push(`@group(0) @binding(${b++}) var<storage, read_write> Part: array<f32>;`);
  } else decl.push(`@group(0) @binding(${b++}) var<storage, read_write> C: array<f32>;`);
  return gemmTunedWgsl(
    {
      m: `${m}u`,
      n: `${n}u`,
      k: `${k}u`,
      kSplit: `${kSplit}u`,
      aFast: transA ? 'm' : 'k',
      bFast: transB ? 'k' : 'n',
      header: /* wgsl */ `
${decl.join('\n')}
struct PP { alpha: f32, bscale: f32 }
@group(1) @binding(0) var<uniform> P: PP;
fn loadA(m: u32, k: u32) -> f32 { return ${aAt}; }
fn loadB(k: u32, n: u32) -> f32 { return ${bAt}; }
fn store(m: u32, n: u32, z: u32, v: f32) {
  let i = m * ${n}u + n;
  let y = v * P.alpha;
  ${store}
}`,
    },
    tile,
  );
}

/** C = alpha · op(A) · op(B) (+ biasScale · bias[col]) (+ C when accumulating), row-major, on raw buffers. */
export function matmulTunedRaw(
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  bias: GPUBuffer | null,
  p: TunedProduct,
): void {
  const tile = tileFor(p.m, p.n);
  const [kSplit, splits] = splitsFor(p, tile);
  const split = splits > 1;
  const key = `mm_tuned:${p.m}x${p.n}x${p.k}:${p.transA}:${p.transB}:${!!bias}:${p.accumulate}:${split ? kSplit : 0}`;
  const kernel = cachedKernel(key, () => wgsl(p, tile, bias !== null, kSplit, split));
  const grid = [ceilDiv(p.m, tile.bm), ceilDiv(p.n, tile.bn), splits];
  const pp = params(f(p.alpha), f(p.biasScale));
  const inputs = bias ? [a, b, bias] : [a, b];
  if (!split) {
    gpu().dispatch(kernel, [...inputs, c], grid, pp);
    return;
  }
  const e = p.m * p.n;
  const part = gpu().pool.acquire(splits * e * 4, 'matmul partials');
  gpu().dispatch(kernel, [...inputs, ...(p.accumulate ? [c] : []), part], grid, pp);
  sumSplits(gpu(), part, c, e, splits);
  gpu().pool.release(part);
}
