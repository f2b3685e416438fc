/**
 * The tuned fp32 GEMM ('tuned' path), with the same loader interface as `gemmWgsl` (gemm.ts): the spec's header
 * defines `loadA(m, k) -> f32`, `loadB(k, n) -> f32` (called only in range) and `store(m, n, z, v)`; grid x = M
 * tiles, y = N tiles, z = K splits, so every implicit-GEMM convolution (forward, input grad, weight grad, fused
 * epilogues) runs on it unchanged. Large tiles (default 128×128, 8×8 per thread), workgroup memory double-buffered
 * with the next K slice prefetched into registers while the current one is multiplied (one barrier per K step),
 * vec4 reads of the tiles (K-major layout, each row padded by one vec4 so column-wise stores do not conflict).
 */
import type { GemmSpec, GemmTile } from './gemm.js';

/** The loader part of a GEMM spec (no tile). */
export type GemmBody = Omit<GemmSpec, 'tile'>;

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
