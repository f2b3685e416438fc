/**
 * Staging code of the tc2 GEMMs (tc2-kernel.ts runs it): how each thread gathers its part of the next K slice into
 * registers (`fetch`) and stores it as f16 into the workgroup tiles (`put`).
 *
 * - Activation gathers (A of forward / input grad / sub-pixel): K is walked in slices of BK that never straddle a
 *   filter tap (K order (tap, channel), channels of each tap padded to a multiple of BK), so a slice is (tap,
 *   channel chunk): one uniform div/mod per slice. Each thread owns a fixed pair of neighbouring output pixels for
 *   the whole kernel, their batch offset and origin computed once; per slice one bounds test per pixel and one
 *   address; per element `+ constant` and a load. Neighbouring threads read neighbouring pixels (x contiguous in
 *   NCHW) and write neighbouring f16 pairs into the k-major tile.
 * - Weights (B of forward / input grad): pre-converted to f16 in the B tile's layout (tc2-weights.ts), so staging is
 *   a vec4<f16> copy, or (`bGlobal`) none: the matrix loads read the f16 weights from the storage buffer.
 * - Weight gradient (K = pixels): each thread owns pixel pairs of every slice (one div/mod chain per pixel per slice,
 *   shared by both operands) and fixed output rows and columns (channel, tap) whose offsets are computed once; both
 *   tiles are stored k-contiguous.
 */
import type { Tc2Spec } from './tc2-kernel.js';
import { dims, type Tc2Tile } from './tc2-tiles.js';

/** An origin that fails every bounds test. */
export const BIG_NEG = -1048576;

/**
 * Thread → element mapping of a staged operand: `lanes` units (pixel pairs, vec4s) along the contiguous axis,
 * `depth` lines along the other. Thread li owns units (li % L) + L·j (j < J) and lines (li / L) + Q·r (r < R).
 */
export function mapping(T: number, lanes: number, depth: number): { L: number; J: number; Q: number; R: number } {
  const L = Math.min(T, lanes);
  const J = lanes / L;
  const Q = T / L;
  const R = depth / Q;
  if (!Number.isInteger(J) || !Number.isInteger(R) || R < 1)
    throw new Error(`tc2: ${T} threads cannot stage ${lanes} units × ${depth} lines`);
  return { L, J, Q, R };
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

/** An A staging joined with the f16 weight copy of B (none with bGlobal: B is read from the weight buffer). */
export function timesWeights(
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
 * Staging of the pre-converted f16 weights (B of forward / input grad, layout 'k'): binding WHV (vec4<f16>), copied
 * to the B tile with no index math. (vec2<f16> units were 0–4% slower on the H200: bench/RESULTS.md.)
 */
export function weightCopy(
  T: number,
  t: Tc2Tile,
  npad: number,
  bRow = 'ks',
): { vars: string; init: string; fetch: string; put: string } {
  const V = 4;
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
    : '@group(0) @binding(1) var<storage, read> WHV: array<vec4<f16>>;';
}

/**
 * Staging of the weight gradient's GEMM (M = Cout, N = Cin·kh·kw in the weight layout's order, K = pixels): A is gy
 * (rows = output channels), B is x gathered per column (channel, tap); both stored k-contiguous ([rows][k]). The
 * header defines X, GY, the conv's constants and GEMM_K. `on`: the operand the gradient range scale multiplies.
 */
export function weightGradStaging(
  T: number,
  tile: Tc2Tile,
  on: 'x' | 'gy' | null,
): Pick<Tc2Spec, 'aLayout' | 'bLayout' | 'vars' | 'init' | 'fetch' | 'put' | 'cFast'> {
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
  return {
    aLayout: 'r',
    bLayout: 'r',
    vars: `var<private> kP: u32;\nvar<private> rQ: u32;\nvar<private> wOff: array<i32, ${mb.R}>;\nvar<private> wDy: array<i32, ${mb.R}>;\nvar<private> wDx: array<i32, ${mb.R}>;\nvar<private> pa: array<f32, ${U * ma.R}>;\nvar<private> pb: array<f32, ${U * mb.R}>;`,
    init,
    fetch,
    put,
    cFast: 'n',
  };
}
