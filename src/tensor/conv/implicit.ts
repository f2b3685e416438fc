/**
 * Tiled implicit-GEMM conv2d kernels in fp32 ('tiled': gemm.ts, 'tuned': gemm-tuned.ts): forward, input gradient
 * (per stride phase) and weight gradient (split over pixels, then reduced). The geometry is baked into the WGSL as
 * constants (cheap index math); sources are cached per (geometry, tile) key so no string is built on a hot path.
 *
 * forward:  M = N·Ho·Wo pixels, N = Cout, K = Cin·kh·kw.
 * dgrad:    one dense GEMM per stride phase (geometry.ts inputGradPhases): M = N·Hph·Wph, N = Cin,
 *           K = Cout·nky·nkx (no wasted multiply-adds).
 * wgrad:    M = Cout, N = Cin·kh·kw, K = N·Ho·Wo, split into `splits` ranges whose partial sums are then added.
 */
import { cached } from '../../gpu/source-cache.js';
import type { Gpu } from '../../gpu/index.js';
import { epilogueBuffers, epilogueWgsl, hasEpilogue, type ConvEpilogue } from './epilogue.js';
import { DEFAULT_TILE, gemmWgsl, type GemmTile } from './gemm.js';
import { TUNED_TILE, gemmTunedWgsl, type GemmBody } from './gemm-tuned.js';
import { ceilDiv, geomKey, inputGradPhases, type Conv2dGeom } from './geometry.js';
import { sumSplits, sumSplitsEpilogue, TARGET_WORKGROUPS } from './split-k.js';
import { convConstsWgsl } from './wgsl.js';

function tileKey(t: GemmTile): string {
  return `${t.bm},${t.bn},${t.bk},${t.tm},${t.tn}`;
}

const consts = (g: Conv2dGeom) => convConstsWgsl(g, false);

interface Engine {
  bm: number;
  bn: number;
  bk: number;
  key: string;
  suffix: string;
  gen: (body: GemmBody) => string;
}

function engineOf(opts: TiledOptions): Engine {
  if (opts.engine === 'fp32-tuned') {
    const tile = opts.tile ?? TUNED_TILE;
    return { ...tile, key: `tuned:${tileKey(tile)}`, suffix: '_tuned', gen: (b) => gemmTunedWgsl(b, tile) };
  }
  const tile = opts.tile ?? DEFAULT_TILE;
  return { ...tile, key: `fp32:${tileKey(tile)}`, suffix: '', gen: (b) => gemmWgsl({ ...b, tile }) };
}

/** Which GEMM generator runs the implicit GEMM: 'fp32' (gemm.ts, 64×64 default tile), 'fp32-tuned' (gemm-tuned.ts). */
export type GemmEngine = 'fp32' | 'fp32-tuned';

/**
 * Options of every tiled conv kernel. The K sum is split across workgroups (the partial sums added by a second
 * kernel) when the output has fewer tiles than TARGET_WORKGROUPS: weight gradients always, small layers too.
 */
export interface TiledOptions {
  /** Tile of the engine (default DEFAULT_TILE for 'fp32', TUNED_TILE for 'fp32-tuned'). */
  tile?: GemmTile;
  engine?: GemmEngine;
  /** Force the number of K splits. */
  splits?: number;
}

/** K range per split (a multiple of bk) and the number of splits, for `tiles` output tiles and a K of `k`. */
function chooseSplits(
  k: number,
  tiles: number,
  tile: { bk: number },
  opts: TiledOptions,
  minPerSplit: number,
): [number, number] {
  if (k === 0) return [tile.bk, 1];
  const want = opts.splits ?? Math.min(ceilDiv(TARGET_WORKGROUPS, tiles), ceilDiv(k, minPerSplit));
  const kSplit = ceilDiv(ceilDiv(k, Math.max(1, want)), tile.bk) * tile.bk;
  return [kSplit, ceilDiv(k, kSplit)];
}

export interface ForwardOptions extends TiledOptions {
  /** Fused epilogue after the bias: demodulation, noise, leaky ReLU·√2 (see epilogue.ts). */
  epilogue?: ConvEpilogue;
}

export function conv2dForwardTiled(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: ForwardOptions = {},
): void {
  const eng = engineOf(opts);
  const kk = g.cin * g.kh * g.kw;
  const ny = g.n * g.cout * g.ho * g.wo;
  const grid = [ceilDiv(g.n * g.ho * g.wo, eng.bm), ceilDiv(g.cout, eng.bn)];
  const [kSplit, splits] = chooseSplits(kk, grid[0]! * grid[1]!, eng, opts, 8 * eng.bk);
  const epi = opts.epilogue ?? {};
  const fused = splits === 1 && (bias !== null || hasEpilogue(epi));
  const extra = fused ? epilogueBuffers(bias, epi) : [];
  const ekey = fused ? epilogueWgsl(bias !== null, epi, 2).key : '';
  const src = cached(`fwd|${geomKey(g)}|${eng.key}|${ekey}|${kSplit}`, () => {
    const e = fused ? epilogueWgsl(bias !== null, epi, 2) : null;
    return eng.gen({
      m: 'NB * HOWO',
      n: 'COUT',
      k: 'KTOT',
      kSplit: `${kSplit}u`,
      aFast: 'm',
      bFast: 'k',
      header: /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${e ? e.decl : ''}
@group(0) @binding(${2 + extra.length}) var<storage, read_write> Y: array<f32>;
${consts(g)}
${e ? e.fn : ''}
fn loadA(m: u32, k: u32) -> f32 {
  let b = m / HOWO; let p = m % HOWO; let y = p / WO; let x = p % WO;
  let i = k / KHW; let r = k % KHW; let ky = r / KW; let kx = r % KW;
  let iy = i32(y * SY + ky) - PT; let ix = i32(x * SX + kx) - PL;
  if (iy < 0 || iy >= i32(H) || ix < 0 || ix >= i32(W)) { return 0.0; }
  return X[((b * CIN + i) * H + u32(iy)) * W + u32(ix)];
}
fn loadB(k: u32, n: u32) -> f32 { return Wt[n * KTOT + k]; }
fn store(m: u32, n: u32, z: u32, v: f32) {
  let b = m / HOWO; let p = m % HOWO;
  Y[z * ${ny}u + (b * COUT + n) * HOWO + p] = ${e ? 'epi(b, n, p, v)' : 'v'};
}`,
    });
  });
  const k = gpu.kernel(`conv2d_fwd_tiled${eng.suffix}`, src);
  if (splits === 1) {
    gpu.dispatch(k, [x, w, ...extra, y], [grid[0]!, grid[1]!, 1]);
    return;
  }
  const part = gpu.pool.acquire(splits * ny * 4, 'conv partials');
  gpu.dispatch(k, [x, w, part], [grid[0]!, grid[1]!, splits]);
  if (bias !== null || hasEpilogue(epi)) sumSplitsEpilogue(gpu, g, part, y, splits, bias, epi);
  else sumSplits(gpu, part, y, ny, splits);
  gpu.pool.release(part);
}

/** Input gradient; with `bias` (indexed by cin) it is conv_transpose2d's forward. */
export function conv2dBackwardInputTiled(
  gpu: Gpu,
  g: Conv2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  bias: GPUBuffer | null = null,
  opts: TiledOptions = {},
): void {
  const eng = engineOf(opts);
  const tile = eng;
  const nx = g.n * g.cin * g.h * g.w;
  // All phases share one split count (chosen for the first phase) and write disjoint elements of each split slice.
  const tiles0 = ceilDiv(g.n * ceilDiv(g.h, g.strideY) * ceilDiv(g.w, g.strideX), tile.bm) * ceilDiv(g.cin, tile.bn);
  const k0 = g.cout * ceilDiv(g.kh, g.strideY) * ceilDiv(g.kw, g.strideX);
  const splits = chooseSplits(k0, tiles0 * g.strideY * g.strideX, tile, opts, 8 * tile.bk)[1];
  const part = splits > 1 ? gpu.pool.acquire(splits * nx * 4, 'conv partials') : gx;
  for (const { py, px, hph, wph, ky0, kx0, nky, nkx, oy, ox } of inputGradPhases(g)) {
    const kPhase = g.cout * nky * nkx;
    const kSplit = Math.max(tile.bk, ceilDiv(ceilDiv(kPhase, splits), tile.bk) * tile.bk);
    const src = cached(`dgrad|${geomKey(g)}|${eng.key}|${bias ? 1 : 0}|${py},${px}|${kSplit}`, () =>
      eng.gen({
        m: 'NB * HPH * WPH',
        n: 'CIN',
        k: 'COUT * NKY * NKX',
        kSplit: `${kSplit}u`,
        aFast: 'm',
        bFast: 'k',
        header: /* wgsl */ `
@group(0) @binding(0) var<storage, read> GY: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${bias ? '@group(0) @binding(2) var<storage, read> Bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> GX: array<f32>;
${consts(g)}
const PY: u32 = ${py}u; const PX: u32 = ${px}u; const HPH: u32 = ${hph}u; const WPH: u32 = ${wph}u;
const KY0: u32 = ${ky0}u; const KX0: u32 = ${kx0}u; const NKY: u32 = ${nky}u; const NKX: u32 = ${nkx}u;
const NKYX: u32 = ${Math.max(1, nky * nkx)}u; const NKXD: u32 = ${Math.max(1, nkx)}u;
const OY: u32 = ${oy}u; const OX: u32 = ${ox}u;
fn loadA(m: u32, k: u32) -> f32 {
  let b = m / (HPH * WPH); let q = m % (HPH * WPH); let hh = q / WPH; let ww = q % WPH;
  let o = k / NKYX; let r = k % NKYX; let j = r / NKXD; let l = r % NKXD;
  let y = i32(hh + OY) - i32(j); let x = i32(ww + OX) - i32(l);
  if (y < 0 || y >= i32(HO) || x < 0 || x >= i32(WO)) { return 0.0; }
  return GY[((b * COUT + o) * HO + u32(y)) * WO + u32(x)];
}
fn loadB(k: u32, n: u32) -> f32 {
  let o = k / NKYX; let r = k % NKYX; let ky = KY0 + SY * (r / NKXD); let kx = KX0 + SX * (r % NKXD);
  return Wt[((o * CIN + n) * KH + ky) * KW + kx];
}
fn store(m: u32, n: u32, z: u32, v: f32) {
  let b = m / (HPH * WPH); let q = m % (HPH * WPH);
  let h = PY + SY * (q / WPH); let w = PX + SX * (q % WPH);
  GX[z * ${nx}u + ((b * CIN + n) * H + h) * W + w] = v${bias ? ' + select(0.0, Bias[n], z == 0u)' : ''};
}`,
      }),
    );
    const k = gpu.kernel(`conv2d_dgrad_tiled${eng.suffix}`, src);
    // Every split slice must be fully written: a split past this phase's K range stores zeros (its loop is empty).
    gpu.dispatch(k, bias ? [gy, w, bias, part] : [gy, w, part], [
      ceilDiv(g.n * hph * wph, tile.bm),
      ceilDiv(g.cin, tile.bn),
      splits,
    ]);
  }
  if (splits > 1) {
    sumSplits(gpu, part, gx, nx, splits);
    gpu.pool.release(part);
  }
}

export type WgradOptions = TiledOptions;

/** Weight gradient gw [cout, cin, kh, kw] = Σ_pixels gy ⊗ patches(x). */
export function conv2dBackwardWeightTiled(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  gy: GPUBuffer,
  gw: GPUBuffer,
  opts: WgradOptions = {},
): void {
  const eng = engineOf(opts);
  const tile = eng;
  const kk = g.cin * g.kh * g.kw;
  const L = g.n * g.ho * g.wo;
  const tiles = ceilDiv(g.cout, tile.bm) * ceilDiv(kk, tile.bn);
  let splits = opts.splits ?? Math.max(1, Math.min(ceilDiv(TARGET_WORKGROUPS, tiles), ceilDiv(L, tile.bk * 8)));
  const kSplit = ceilDiv(ceilDiv(L, splits), tile.bk) * tile.bk;
  splits = ceilDiv(L, kSplit);
  const src = cached(`wgrad|${geomKey(g)}|${eng.key}|${kSplit}`, () =>
    eng.gen({
      m: 'COUT',
      n: 'KTOT',
      k: 'NB * HOWO',
      kSplit: `${kSplit}u`,
      aFast: 'k',
      bFast: 'k',
      header: /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${consts(g)}
fn loadA(m: u32, k: u32) -> f32 {
  let b = k / HOWO; let p = k % HOWO;
  return GY[(b * COUT + m) * HOWO + p];
}
fn loadB(k: u32, n: u32) -> f32 {
  let b = k / HOWO; let p = k % HOWO; let y = p / WO; let x = p % WO;
  let i = n / KHW; let r = n % KHW; let ky = r / KW; let kx = r % KW;
  let iy = i32(y * SY + ky) - PT; let ix = i32(x * SX + kx) - PL;
  if (iy < 0 || iy >= i32(H) || ix < 0 || ix >= i32(W)) { return 0.0; }
  return X[((b * CIN + i) * H + u32(iy)) * W + u32(ix)];
}
fn store(m: u32, n: u32, z: u32, v: f32) { OUT[(z * COUT + m) * KTOT + n] = v; }`,
    }),
  );
  const k = gpu.kernel(`conv2d_wgrad_tiled${eng.suffix}`, src);
  const grid = [ceilDiv(g.cout, tile.bm), ceilDiv(kk, tile.bn), splits];
  if (splits === 1) {
    gpu.dispatch(k, [x, gy, gw], grid);
    return;
  }
  const part = gpu.pool.acquire(splits * g.cout * kk * 4, 'wgrad partials');
  gpu.dispatch(k, [x, gy, part], grid);
  sumSplits(gpu, part, gw, g.cout * kk, splits);
  gpu.pool.release(part);
}
