/**
 * Tiled implicit-GEMM conv2d kernels (fp32): forward, input gradient (per stride phase) and weight gradient
 * (split over pixels, then reduced). The geometry is baked into the WGSL as constants (cheap index math); sources
 * are cached per (geometry, tile) key so no string is built on a hot path.
 *
 * forward:  M = N·Ho·Wo pixels, N = Cout, K = Cin·kh·kw.
 * dgrad:    for each stride phase (py, px) the input pixels h = py + sy·hh see only the taps ky ≡ py + padTop (mod sy),
 *           so each phase is a dense GEMM: M = N·Hph·Wph, N = Cin, K = Cout·nky·nkx (no wasted multiply-adds).
 * wgrad:    M = Cout, N = Cin·kh·kw, K = N·Ho·Wo, split into `splits` ranges whose partial sums are then added.
 */
import { cached } from '../../gpu/source-cache.js';
import type { Gpu } from '../../gpu/index.js';
import { epilogueBuffers, epilogueWgsl, hasEpilogue, type ConvEpilogue } from './epilogue.js';
import { DEFAULT_TILE, gemmWgsl, type GemmTile } from './gemm.js';
import { TC_TILE, TUNED_TILE, gemmTcWgsl, gemmTunedWgsl, type GemmBody, type TcTile } from './gemm-fast.js';
import { geomKey, type Conv2dGeom } from './geometry.js';

function tileKey(t: GemmTile): string {
  return `${t.bm},${t.bn},${t.bk},${t.tm},${t.tn}`;
}

function consts(g: Conv2dGeom): string {
  return /* wgsl */ `
const NB: u32 = ${g.n}u; const CIN: u32 = ${g.cin}u; const H: u32 = ${g.h}u; const W: u32 = ${g.w}u;
const COUT: u32 = ${g.cout}u; const KH: u32 = ${g.kh}u; const KW: u32 = ${g.kw}u;
const SY: u32 = ${g.strideY}u; const SX: u32 = ${g.strideX}u; const PT: i32 = ${g.padTop}; const PL: i32 = ${g.padLeft};
const HO: u32 = ${g.ho}u; const WO: u32 = ${g.wo}u; const HOWO: u32 = ${g.ho * g.wo}u;
const KHW: u32 = ${g.kh * g.kw}u; const KTOT: u32 = ${g.cin * g.kh * g.kw}u;`;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

interface Engine {
  bm: number;
  bn: number;
  bk: number;
  key: string;
  suffix: string;
  gen: (body: GemmBody) => string;
}

function engineOf(opts: TiledOptions): Engine {
  const e = opts.engine ?? 'fp32';
  if (e === 'fp32') {
    const tile = opts.tile ?? DEFAULT_TILE;
    return { ...tile, key: `fp32:${tileKey(tile)}`, suffix: '', gen: (b) => gemmWgsl({ ...b, tile }) };
  }
  if (e === 'fp32-tuned') {
    const tile = opts.tile ?? TUNED_TILE;
    return { ...tile, key: `tuned:${tileKey(tile)}`, suffix: '_tuned', gen: (b) => gemmTunedWgsl(b, tile) };
  }
  const t = opts.tcTile ?? TC_TILE;
  const mode = e === 'tc' ? 'hw' : 'sw';
  return {
    bm: t.bm,
    bn: t.bn,
    bk: t.bk,
    key: `${e}:${t.bm},${t.bn},${t.bk},${t.sgm},${t.sgn},${t.rowMajorOnly ? 1 : 0}`,
    suffix: `_${e.replace('-', '_')}`,
    gen: (b) => gemmTcWgsl(b, t, mode),
  };
}

/**
 * Which GEMM generator runs the implicit GEMM: 'fp32' (gemm.ts, 64×64 default tile), 'fp32-tuned' (gemm-fast.ts,
 * 128×128 double-buffered), 'tc' (tensor cores: f16 operands, f32 accumulation; needs the subgroup-matrix
 * feature), 'tc-sw' (the tensor-core kernel with software subgroup matrices: a CPU-testable twin of 'tc').
 */
export type GemmEngine = 'fp32' | 'fp32-tuned' | 'tc' | 'tc-sw';

export interface TiledOptions {
  /** Tile of the fp32 engines (default DEFAULT_TILE for 'fp32', TUNED_TILE for 'fp32-tuned'). */
  tile?: GemmTile;
  engine?: GemmEngine;
  /** Tile of the tensor-core engines (default TC_TILE). */
  tcTile?: TcTile;
  /**
   * Aim for about this many workgroups: when the output tiles are fewer, the K sum is split across workgroups and
   * the partial sums added by a second kernel (default 512; weight gradients always need it, small layers too).
   */
  targetWorkgroups?: number;
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
  const want = opts.splits ?? Math.min(ceilDiv(opts.targetWorkgroups ?? 512, tiles), ceilDiv(k, minPerSplit));
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
      cFast: 'm',
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

/** y = epilogue(Σ_z part[z]) for a forward output [n, cout, ho, wo]. */
export function sumSplitsEpilogue(
  gpu: Gpu,
  g: Conv2dGeom,
  part: GPUBuffer,
  y: GPUBuffer,
  splits: number,
  bias: GPUBuffer | null,
  epi: ConvEpilogue,
): void {
  const ny = g.n * g.cout * g.ho * g.wo;
  const extra = epilogueBuffers(bias, epi);
  const e = epilogueWgsl(bias !== null, epi, 1);
  const src = cached(
    `sumepi|${geomKey(g)}|${e.key}|${splits}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<f32>;
${e.decl}
@group(0) @binding(${1 + extra.length}) var<storage, read_write> Y: array<f32>;
${consts(g)}
${e.fn}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= ${ny}u) { return; }
  var s = 0.0;
  for (var z = 0u; z < ${splits}u; z++) { s += Part[z * ${ny}u + i]; }
  let p = i % HOWO; let t = i / HOWO;
  Y[i] = epi(t / COUT, t % COUT, p, s);
}`,
  );
  const groups = ceilDiv(ny, 256);
  const gx = Math.min(groups, 65535);
  gpu.dispatch(gpu.kernel('conv2d_fwd_sum_epilogue', src), [part, ...extra, y], [gx, ceilDiv(groups, gx), 1]);
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
  for (let py = 0; py < g.strideY; py++)
    for (let px = 0; px < g.strideX; px++) {
      const hph = ceilDiv(g.h - py, g.strideY);
      const wph = ceilDiv(g.w - px, g.strideX);
      if (hph <= 0 || wph <= 0) continue;
      const ky0 = (py + g.padTop) % g.strideY;
      const kx0 = (px + g.padLeft) % g.strideX;
      const nky = Math.max(0, ceilDiv(g.kh - ky0, g.strideY));
      const nkx = Math.max(0, ceilDiv(g.kw - kx0, g.strideX));
      const oy = (py + g.padTop - ky0) / g.strideY;
      const ox = (px + g.padLeft - kx0) / g.strideX;
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
          cFast: 'm',
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
  let splits =
    opts.splits ?? Math.max(1, Math.min(ceilDiv(opts.targetWorkgroups ?? 512, tiles), ceilDiv(L, tile.bk * 8)));
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
      cFast: 'n',
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

/**
 * Σ over split-K partials, bandwidth-bound: each invocation owns one vec4 (or one f32 when e is not a multiple of
 * 4) and sums the splits with four independent accumulators, so four loads are in flight per invocation.
 */
function sumSplitsWgsl(t: 'vec4f' | 'f32'): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<${t}>;
@group(0) @binding(1) var<storage, read_write> Out: array<${t}>;
struct S { e: u32, splits: u32 }
@group(1) @binding(0) var<uniform> P: S;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= P.e) { return; }
  var s0 = ${t}(0.0); var s1 = ${t}(0.0); var s2 = ${t}(0.0); var s3 = ${t}(0.0);
  var z = 0u;
  for (; z + 4u <= P.splits; z += 4u) {
    s0 += Part[z * P.e + i];
    s1 += Part[(z + 1u) * P.e + i];
    s2 += Part[(z + 2u) * P.e + i];
    s3 += Part[(z + 3u) * P.e + i];
  }
  for (; z < P.splits; z++) { s0 += Part[z * P.e + i]; }
  Out[i] = (s0 + s1) + (s2 + s3);
}`;
}

/** out[i] = Σ_z part[z·e + i]. */
export function sumSplits(gpu: Gpu, part: GPUBuffer, out: GPUBuffer, e: number, splits: number): void {
  const vec = e % 4 === 0;
  const n = vec ? e / 4 : e;
  const groups = ceilDiv(n, 256);
  const gx = Math.min(groups, 65535);
  gpu.dispatch(
    gpu.kernel(
      'sum_splits',
      cached(`sum_splits|${vec}`, () => sumSplitsWgsl(vec ? 'vec4f' : 'f32')),
    ),
    [part, out],
    [gx, ceilDiv(groups, gx), 1],
    Uint32Array.from([n, splits]),
  );
}
