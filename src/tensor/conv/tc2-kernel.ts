/**
 * The text of a tc2 GEMM kernel: the MMA core (f16 16×16×16 subgroup matrices, f32 accumulators, double- or
 * single-buffered workgroup tiles with the next K slice fetched into registers while the current one is multiplied,
 * one barrier per slice) and the epilogue through a per-subgroup 16×16 f32 scratch that calls the spec's `store`,
 * around the staging code a spec brings (tc2-staging.ts, tc2-patch.ts). Mode 'sw' replaces the intrinsics by their
 * software twin, so every kernel's index math runs on any adapter.
 */
import { sgmLoad, sgmStore } from '../../gpu/subgroup-matrix.js';
import { checkTc2Tile, dims, TC_SUBGROUP, type Tc2Layout, type Tc2Tile, type TcMode } from './tc2-tiles.js';

export interface Tc2Spec {
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
${hw ? '' : softwareMatrices(bArr)}
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
 * The software twin of the subgroup-matrix intrinsics ('sw' mode): plain loops over the same workgroup memory with
 * the same offsets, strides and layouts. 32 virtual lanes; lane l owns elements l + 32·r of each 16×16 matrix
 * (row e / 16, column e % 16). The loop bound SW16 is 16 at run time, not a constant, so lavapipe's LLVM does not
 * unroll 8 × 16 steps per matrix product (that took seconds to compile per kernel). A operands come from SA,
 * B operands from `bArr`, results go to the scratch SCR.
 */
function softwareMatrices(bArr: string): string {
  return /* wgsl */ `
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
}
