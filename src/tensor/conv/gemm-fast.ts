/**
 * Fast GEMM generators with the same loader interface as `gemmWgsl` (gemm.ts): the spec's header defines
 * `loadA(m, k) -> f32`, `loadB(k, n) -> f32` (called only in range) and `store(m, n, z, v)`; grid x = M tiles,
 * y = N tiles, z = K splits. So every implicit-GEMM convolution (forward, input grad, weight grad, fused epilogues)
 * runs on any of them unchanged.
 *
 * - `gemmTunedWgsl`: fp32, large tiles (default 128×128, 8×8 per thread), workgroup memory double-buffered with
 *   the next K slice prefetched into registers while the current one is multiplied (one barrier per K step),
 *   vec4 reads of the tiles (K-major layout, each row padded by one vec4 so column-wise stores do not conflict).
 * - `gemmTcWgsl`: tensor cores through Dawn's subgroup matrices (f16 operands, f32 accumulators, 16×16×16).
 *   Operands are gathered as f32 by the loaders, converted to f16 once when staged into (double-buffered)
 *   workgroup memory; each subgroup owns a (BM/SGM)×(BN/SGN) block of C as 16×16 result matrices; the epilogue
 *   stores each result matrix into a per-subgroup f32 scratch and calls `store` (so fused epilogues work).
 *   Mode 'sw' emits the same kernel with the subgroup-matrix intrinsics replaced by plain loops over the same
 *   workgroup memory with the same offsets/strides/layouts (a "software subgroup matrix": 32 virtual lanes,
 *   lane l owns elements l + 32·r of each 16×16 matrix), so its index math can be tested on any adapter.
 */
import type { GemmSpec, GemmTile } from './gemm.js';
import { sgmLoad, sgmStore } from '../../gpu/subgroup-matrix.js';

/** The loader part of a GEMM spec (no tile). `cFast`: which C index is contiguous in memory (for the TC epilogue). */
export type GemmBody = Omit<GemmSpec, 'tile'> & { cFast?: 'm' | 'n' };

export const TUNED_TILE: GemmTile = { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 };

export function checkTunedTile(t: GemmTile): number {
  const tx = t.bm / t.tm;
  const ty = t.bn / t.tn;
  const threads = tx * ty;
  const ok =
    t.tm % 4 === 0 &&
    t.tn % 4 === 0 &&
    Number.isInteger(tx) &&
    Number.isInteger(ty) &&
    threads <= 256 &&
    Number.isInteger((t.bm * t.bk) / threads) &&
    Number.isInteger((t.bn * t.bk) / threads);
  if (!ok)
    throw new Error(
      `tuned GEMM tile ${JSON.stringify(t)}: needs 4 | tm, 4 | tn, tm | bm, tn | bn, ≤ 256 threads dividing bm·bk and bn·bk`,
    );
  return threads;
}

/** Index of the staged element e (0 … bm·bk) for an operand whose fast thread index is `fast`. */
function stagedIndex(fast: 'm' | 'k' | 'n', rows: number, bk: number, r: string): string {
  return fast === 'k'
    ? `let kk = ${r} % ${bk}u; let rr = ${r} / ${bk}u;`
    : `let rr = ${r} % ${rows}u; let kk = ${r} / ${rows}u;`;
}

export function gemmTunedWgsl(s: GemmBody, tile: GemmTile = TUNED_TILE): string {
  const { bm, bn, bk, tm, tn } = tile;
  const T = checkTunedTile(tile);
  const TX = bm / tm;
  const TY = bn / tn;
  const la = (bm * bk) / T;
  const lb = (bn * bk) / T;
  const ra = bm / 4 + 1; // vec4 per A row (one k), padded
  const rb = bn / 4 + 1;
  const qa = tm / 4;
  const qb = tn / 4;
  let fetch = '';
  for (let r = 0; r < la; r++) {
    fetch += `    { let e = li + ${r * T}u; ${stagedIndex(s.aFast, bm, bk, 'e')}
      let m = m0 + rr; let k = kb + kk; pa[${r}] = 0.0; if (m < GEMM_M && k < kEnd) { pa[${r}] = loadA(m, k); } }\n`;
  }
  for (let r = 0; r < lb; r++) {
    fetch += `    { let e = li + ${r * T}u; ${stagedIndex(s.bFast, bn, bk, 'e')}
      let n = n0 + rr; let k = kb + kk; pb[${r}] = 0.0; if (n < GEMM_N && k < kEnd) { pb[${r}] = loadB(k, n); } }\n`;
  }
  let put = '';
  for (let r = 0; r < la; r++) {
    put += `    { let e = li + ${r * T}u; ${stagedIndex(s.aFast, bm, bk, 'e')}
      As[(buf * ${bk}u + kk) * ${ra}u + rr / 4u][rr % 4u] = pa[${r}]; }\n`;
  }
  for (let r = 0; r < lb; r++) {
    put += `    { let e = li + ${r * T}u; ${stagedIndex(s.bFast, bn, bk, 'e')}
      Bs[(buf * ${bk}u + kk) * ${rb}u + rr / 4u][rr % 4u] = pb[${r}]; }\n`;
  }
  let inner = '';
  for (let q = 0; q < qa; q++) inner += `      let a${q} = As[(buf * ${bk}u + kk) * ${ra}u + tx + ${q * TX}u];\n`;
  for (let q = 0; q < qb; q++) inner += `      let b${q} = Bs[(buf * ${bk}u + kk) * ${rb}u + ty + ${q * TY}u];\n`;
  for (let q = 0; q < qa; q++)
    for (let c = 0; c < 4; c++) {
      const i = q * 4 + c;
      inner += `      { let av = vec4f(a${q}[${c}]);`;
      for (let p = 0; p < qb; p++) inner += ` acc[${i * qb + p}] = fma(av, b${p}, acc[${i * qb + p}]);`;
      inner += ' }\n';
    }
  let out = '';
  for (let q = 0; q < qa; q++)
    for (let c = 0; c < 4; c++) {
      const i = q * 4 + c;
      out += `  { let m = m0 + (tx + ${q * TX}u) * 4u + ${c}u; if (m < GEMM_M) {\n`;
      for (let p = 0; p < qb; p++)
        for (let d = 0; d < 4; d++)
          out += `    { let n = n0 + (ty + ${p * TY}u) * 4u + ${d}u; if (n < GEMM_N) { store(m, n, wg.z, acc[${i * qb + p}][${d}]); } }\n`;
      out += '  } }\n';
    }
  return /* wgsl */ `
${s.header}
const GEMM_M: u32 = ${s.m};
const GEMM_N: u32 = ${s.n};
const GEMM_K: u32 = ${s.k};
const GEMM_KSPLIT: u32 = ${s.kSplit};
var<workgroup> As: array<vec4f, ${2 * bk * ra}>;
var<workgroup> Bs: array<vec4f, ${2 * bk * rb}>;
var<private> pa: array<f32, ${la}>;
var<private> pb: array<f32, ${lb}>;
fn fetchTiles(li: u32, m0: u32, n0: u32, kb: u32, kEnd: u32) {
${fetch}}
fn putTiles(li: u32, buf: u32) {
${put}}
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * ${bm}u;
  let n0 = wg.y * ${bn}u;
  let kBegin = wg.z * GEMM_KSPLIT;
  let kEnd = min(GEMM_K, kBegin + GEMM_KSPLIT);
  let tx = li % ${TX}u;
  let ty = li / ${TX}u;
  var acc: array<vec4f, ${(tm * tn) / 4}>;
  fetchTiles(li, m0, n0, kBegin, kEnd);
  putTiles(li, 0u);
  workgroupBarrier();
  var buf = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${bk}u) {
    let kn = k0 + ${bk}u;
    let more = kn < kEnd;
    if (more) { fetchTiles(li, m0, n0, kn, kEnd); }
    for (var kk = 0u; kk < ${bk}u; kk++) {
${inner}    }
    if (more) { putTiles(li, buf ^ 1u); }
    workgroupBarrier();
    buf ^= 1u;
  }
${out}}`;
}

/** Tensor-core tile: BM×BN×BK per workgroup, SGM×SGN subgroups of 32 invocations, 16×16×16 matrices. */
export interface TcTile {
  bm: number;
  bn: number;
  bk: number;
  sgm: number;
  sgn: number;
  /**
   * Use only row-major subgroup-matrix loads (as the probe validated). Default false: an operand whose loader
   * runs fastest along m (A) or k (B) is staged so that neighbouring threads write neighbouring halves and then
   * loaded column-major.
   */
  rowMajorOnly?: boolean;
}

export const TC_TILE: TcTile = { bm: 128, bn: 128, bk: 32, sgm: 2, sgn: 4 };
export const TC_SUBGROUP = 32;

export function checkTcTile(t: TcTile): number {
  const threads = t.sgm * t.sgn * TC_SUBGROUP;
  const ok =
    t.bm % (16 * t.sgm) === 0 &&
    t.bn % (16 * t.sgn) === 0 &&
    t.bk % 16 === 0 &&
    threads <= 256 &&
    Number.isInteger((t.bm * t.bk) / threads) &&
    Number.isInteger((t.bn * t.bk) / threads);
  if (!ok)
    throw new Error(`tensor-core tile ${JSON.stringify(t)}: needs 16·sgm | bm, 16·sgn | bn, 16 | bk, ≤ 8 subgroups`);
  return threads;
}

export type TcMode = 'hw' | 'sw';

export function gemmTcWgsl(s: GemmBody, tile: TcTile = TC_TILE, mode: TcMode = 'hw'): string {
  const { bm, bn, bk, sgm, sgn } = tile;
  const T = checkTcTile(tile);
  const la = (bm * bk) / T;
  const lb = (bn * bk) / T;
  const fm = bm / sgm / 16; // result matrices per subgroup along m
  const fn = bn / sgn / 16;
  // Staging layouts. A: k-major [k][m] (col-major load) when the loader runs along m, else m-major [m][k].
  const aKMajor = s.aFast === 'm' && !tile.rowMajorOnly;
  // B: n-major [n][k] (col-major load) when the loader runs along k, else k-major [k][n] (row-major load).
  const bNMajor = s.bFast === 'k' && !tile.rowMajorOnly;
  const aFastIdx: 'm' | 'k' = aKMajor ? 'm' : 'k';
  const bFastIdx: 'n' | 'k' = bNMajor ? 'k' : 'n';
  const aIdx = (e: string) =>
    aFastIdx === 'm'
      ? `let mm = ${e} % ${bm}u; let kk = ${e} / ${bm}u;`
      : `let kk = ${e} % ${bk}u; let mm = ${e} / ${bk}u;`;
  const bIdx = (e: string) =>
    bFastIdx === 'n'
      ? `let nn = ${e} % ${bn}u; let kk = ${e} / ${bn}u;`
      : `let kk = ${e} % ${bk}u; let nn = ${e} / ${bk}u;`;
  const aAt = aKMajor ? `kk * ${bm}u + mm` : `mm * ${bk}u + kk`;
  const bAt = bNMajor ? `nn * ${bk}u + kk` : `kk * ${bn}u + nn`;
  let fetch = '';
  for (let r = 0; r < la; r++)
    fetch += `    { let e = li + ${r * T}u; ${aIdx('e')}
      let m = m0 + mm; let k = kb + kk; pa[${r}] = 0.0; if (m < GEMM_M && k < kEnd) { pa[${r}] = loadA(m, k); } }\n`;
  for (let r = 0; r < lb; r++)
    fetch += `    { let e = li + ${r * T}u; ${bIdx('e')}
      let n = n0 + nn; let k = kb + kk; pb[${r}] = 0.0; if (n < GEMM_N && k < kEnd) { pb[${r}] = loadB(k, n); } }\n`;
  let put = '';
  for (let r = 0; r < la; r++)
    put += `    { let e = li + ${r * T}u; ${aIdx('e')} SA[buf * ${bm * bk}u + ${aAt}] = f16(pa[${r}]); }\n`;
  for (let r = 0; r < lb; r++)
    put += `    { let e = li + ${r * T}u; ${bIdx('e')} SB[buf * ${bn * bk}u + ${bAt}] = f16(pb[${r}]); }\n`;

  // Offsets of the 16×16 operand blocks (element (row, col) of a row-major load at off + row·stride + col; of a
  // column-major load at off + col·stride + row).
  const aOff = (i: number) =>
    aKMajor
      ? `buf * ${bm * bk}u + kk * ${bm}u + am0 + ${i * 16}u`
      : `buf * ${bm * bk}u + (am0 + ${i * 16}u) * ${bk}u + kk`;
  const aStride = aKMajor ? bm : bk;
  const bOff = (j: number) =>
    bNMajor
      ? `buf * ${bn * bk}u + (bn0 + ${j * 16}u) * ${bk}u + kk`
      : `buf * ${bn * bk}u + kk * ${bn}u + bn0 + ${j * 16}u`;
  const bStride = bNMajor ? bk : bn;
  const hw = mode === 'hw';
  const ct = hw ? 'subgroup_matrix_result<f32, 16, 16>' : 'array<f32, 8>';
  let decl = '';
  for (let i = 0; i < fm; i++) for (let j = 0; j < fn; j++) decl += `  var c${i}_${j}: ${ct};\n`;
  let inner = '';
  for (let i = 0; i < fm; i++)
    inner += hw
      ? `      let a${i} = ${sgmLoad('subgroup_matrix_left<f16, 16, 16>', '&SA', aOff(i), aKMajor, `${aStride}u`)};\n`
      : `      let a${i} = SwMat(${aOff(i)}, ${aStride}u, ${aKMajor ? 1 : 0}u);\n`;
  for (let j = 0; j < fn; j++)
    inner += hw
      ? `      let b${j} = ${sgmLoad('subgroup_matrix_right<f16, 16, 16>', '&SB', bOff(j), bNMajor, `${bStride}u`)};\n`
      : `      let b${j} = SwMat(${bOff(j)}, ${bStride}u, ${bNMajor ? 1 : 0}u);\n`;
  for (let i = 0; i < fm; i++)
    for (let j = 0; j < fn; j++)
      inner += hw
        ? `      c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, c${i}_${j});\n`
        : `      swMma(a${i}, b${j}, &c${i}_${j}, lane);\n`;
  // Epilogue: one result matrix at a time through the subgroup's 16×16 f32 scratch (row-major, stride 16).
  const cm = (s.cFast ?? 'm') === 'm';
  const rowCol = cm ? 'let row = e % 16u; let col = e / 16u;' : 'let row = e / 16u; let col = e % 16u;';
  let out = '';
  for (let i = 0; i < fm; i++)
    for (let j = 0; j < fn; j++) {
      out += hw
        ? `  ${sgmStore('&SC', 'sg * 256u', `c${i}_${j}`, false, '16u')};\n`
        : `  swStore(c${i}_${j}, sg * 256u, lane);\n`;
      out += `  workgroupBarrier();
  for (var r = 0u; r < ${hw ? '8u' : 'SW16 / 2u'}; r++) {
    let e = lane + r * 32u; ${rowCol}
    let m = m0 + am0 + ${i * 16}u + row; let n = n0 + bn0 + ${j * 16}u + col;
    if (m < GEMM_M && n < GEMM_N) { store(m, n, wg.z, SC[sg * 256u + row * 16u + col]); }
  }
  workgroupBarrier();\n`;
    }
  // Loop bounds the shader compiler cannot see as constants (SW16 = 16 at run time), so lavapipe's LLVM does not
  // unroll 8 × 16 steps per matrix product (that took seconds to compile per kernel).
  const sw = /* wgsl */ `
var<private> SW16: u32;
struct SwMat { off: u32, stride: u32, colMajor: u32 }
fn swAt(a: SwMat, row: u32, col: u32) -> u32 {
  return select(a.off + row * a.stride + col, a.off + col * a.stride + row, a.colMajor != 0u);
}
// c += a·b for the elements this lane owns (e = lane + 32·r: row e / 16, column e % 16).
fn swMma(a: SwMat, b: SwMat, c: ptr<function, array<f32, 8>>, lane: u32) {
  for (var r = 0u; r < SW16 / 2u; r++) {
    let e = lane + r * 32u; let row = e / 16u; let col = e % 16u;
    var acc = (*c)[r];
    for (var k = 0u; k < SW16; k++) { acc = fma(f32(SA[swAt(a, row, k)]), f32(SB[swAt(b, k, col)]), acc); }
    (*c)[r] = acc;
  }
}
fn swStore(c: array<f32, 8>, off: u32, lane: u32) {
  for (var r = 0u; r < SW16 / 2u; r++) { let e = lane + r * 32u; SC[off + (e / 16u) * 16u + e % 16u] = c[r]; }
}`;
  return /* wgsl */ `enable f16;
${hw ? 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);' : '// software subgroup matrices (test variant)'}
${s.header}
const GEMM_M: u32 = ${s.m};
const GEMM_N: u32 = ${s.n};
const GEMM_K: u32 = ${s.k};
const GEMM_KSPLIT: u32 = ${s.kSplit};
var<workgroup> SA: array<f16, ${2 * bm * bk}>;
var<workgroup> SB: array<f16, ${2 * bn * bk}>;
var<workgroup> SC: array<f32, ${(T / TC_SUBGROUP) * 256}>;
var<private> pa: array<f32, ${la}>;
var<private> pb: array<f32, ${lb}>;
${hw ? '' : sw}
fn fetchTiles(li: u32, m0: u32, n0: u32, kb: u32, kEnd: u32) {
${fetch}}
fn putTiles(li: u32, buf: u32) {
${put}}
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * ${bm}u;
  let n0 = wg.y * ${bn}u;
  let kBegin = wg.z * GEMM_KSPLIT;
  let kEnd = min(GEMM_K, kBegin + GEMM_KSPLIT);
  let sg = li / ${TC_SUBGROUP}u; let lane = li % ${TC_SUBGROUP}u;${hw ? '' : '\n  SW16 = select(16u, 0u, wg.z == 0xffffffffu);'}
  let am0 = (sg % ${sgm}u) * ${bm / sgm}u; let bn0 = (sg / ${sgm}u) * ${bn / sgn}u;
${decl}  fetchTiles(li, m0, n0, kBegin, kEnd);
  putTiles(li, 0u);
  workgroupBarrier();
  var buf = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${bk}u) {
    let kn = k0 + ${bk}u;
    let more = kn < kEnd;
    if (more) { fetchTiles(li, m0, n0, kn, kEnd); }
    for (var kk = 0u; kk < ${bk}u; kk += 16u) {
${inner}    }
    if (more) { putTiles(li, buf ^ 1u); }
    workgroupBarrier();
    buf ^= 1u;
  }
${out}}`;
}
