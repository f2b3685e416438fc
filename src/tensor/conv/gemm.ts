/**
 * A generator of tiled fp32 GEMM kernels with pluggable operand loaders: C[m, n] = Σ_k A(m, k)·B(k, n).
 * The convolutions are implicit GEMMs: their loaders gather A/B straight from the NCHW tensors (no im2col buffer)
 * and their `store` writes C into the output layout (with a fused bias).
 *
 * A workgroup computes a BM×BN tile of C; each of its (BM/TM)·(BN/TN) threads owns TM×TN outputs, strided by
 * BM/TM rows and BN/TN columns (so neighbouring threads touch neighbouring m: coalesced stores, conflict-free reads
 * of the A tile). Each step stages a BK-deep slice of A (BK×BM) and B (BK×BN) in workgroup memory.
 * Grid: x = M tiles, y = N tiles, z = K splits (each split covers KSPLIT of K; `store` receives the split index).
 */
export interface GemmTile {
  /** Workgroup tile rows (M), columns (N) and depth (K). */
  bm: number;
  bn: number;
  bk: number;
  /** Outputs per thread along M and N. */
  tm: number;
  tn: number;
}

export const DEFAULT_TILE: GemmTile = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 };

export interface GemmSpec {
  tile: GemmTile;
  /**
   * WGSL placed before the kernel: bindings and constants, and the functions
   * `fn loadA(m: u32, k: u32) -> f32`, `fn loadB(k: u32, n: u32) -> f32` (called only with m < M, n < N, k < K) and
   * `fn store(m: u32, n: u32, z: u32, v: f32)`.
   */
  header: string;
  /** WGSL u32 constant expressions for the sizes and the K range per split (a multiple of bk). */
  m: string;
  n: string;
  k: string;
  kSplit: string;
  /** Which index neighbouring threads vary when loading a tile (pick the operand's contiguous one). */
  aFast: 'm' | 'k';
  bFast: 'k' | 'n';
}

export function checkTile(t: GemmTile): number {
  const threads = (t.bm / t.tm) * (t.bn / t.tn);
  const ok =
    Number.isInteger(t.bm / t.tm) &&
    Number.isInteger(t.bn / t.tn) &&
    threads <= 256 &&
    Number.isInteger((t.bm * t.bk) / threads) &&
    Number.isInteger((t.bn * t.bk) / threads);
  if (!ok)
    throw new Error(`GEMM tile ${JSON.stringify(t)}: needs tm | bm, tn | bn, ≤ 256 threads dividing bm·bk and bn·bk`);
  return threads;
}

export function gemmWgsl(s: GemmSpec): string {
  const { bm, bn, bk, tm, tn } = s.tile;
  const T = checkTile(s.tile);
  const la = (bm * bk) / T;
  const lb = (bn * bk) / T;
  const aIdx =
    s.aFast === 'm' ? `let mm = e % ${bm}u; let kk = e / ${bm}u;` : `let kk = e % ${bk}u; let mm = e / ${bk}u;`;
  const bIdx =
    s.bFast === 'n' ? `let nn = e % ${bn}u; let kk = e / ${bn}u;` : `let kk = e % ${bk}u; let nn = e / ${bk}u;`;
  return /* wgsl */ `
${s.header}
const GEMM_M: u32 = ${s.m};
const GEMM_N: u32 = ${s.n};
const GEMM_K: u32 = ${s.k};
const GEMM_KSPLIT: u32 = ${s.kSplit};
var<workgroup> As: array<f32, ${bk * bm}>;
var<workgroup> Bs: array<f32, ${bk * bn}>;
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * ${bm}u;
  let n0 = wg.y * ${bn}u;
  let kBegin = wg.z * GEMM_KSPLIT;
  let kEnd = min(GEMM_K, kBegin + GEMM_KSPLIT);
  let tmi = li % ${bm / tm}u;
  let tni = li / ${bm / tm}u;
  var acc: array<f32, ${tm * tn}>;
  var a: array<f32, ${tm}>;
  var b: array<f32, ${tn}>;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${bk}u) {
    for (var r = 0u; r < ${la}u; r++) {
      let e = li + r * ${T}u;
      ${aIdx}
      let m = m0 + mm; let k = k0 + kk;
      var v = 0.0;
      if (m < GEMM_M && k < kEnd) { v = loadA(m, k); }
      As[kk * ${bm}u + mm] = v;
    }
    for (var r = 0u; r < ${lb}u; r++) {
      let e = li + r * ${T}u;
      ${bIdx}
      let n = n0 + nn; let k = k0 + kk;
      var v = 0.0;
      if (n < GEMM_N && k < kEnd) { v = loadB(k, n); }
      Bs[kk * ${bn}u + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
      for (var i = 0u; i < ${tm}u; i++) { a[i] = As[kk * ${bm}u + tmi + i * ${bm / tm}u]; }
      for (var j = 0u; j < ${tn}u; j++) { b[j] = Bs[kk * ${bn}u + tni + j * ${bn / tn}u]; }
      for (var i = 0u; i < ${tm}u; i++) {
        for (var j = 0u; j < ${tn}u; j++) { acc[i * ${tn}u + j] = fma(a[i], b[j], acc[i * ${tn}u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${tm}u; i++) {
    let m = m0 + tmi + i * ${bm / tm}u;
    if (m >= GEMM_M) { continue; }
    for (var j = 0u; j < ${tn}u; j++) {
      let n = n0 + tni + j * ${bn / tn}u;
      if (n < GEMM_N) { store(m, n, wg.z, acc[i * ${tn}u + j]); }
    }
  }
}`;
}
