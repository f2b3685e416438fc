/**
 * Patch staging for stride-1 tc2 forward convolutions (issue 4): the A operand of the implicit GEMM is staged once
 * per channel chunk as the input patch under the output tile, and every filter tap reads its fragments from that
 * patch at a shifted offset, instead of gathering and storing A again for each of the kh·kw taps.
 *
 * Why: the tc2 kernels are bound by their staging (bench/RESULTS.md, 2026-11-28c ablation: staging alone 84–90% of
 * a conv, the MMA core 55%). For a 3×3 conv each input element is staged 9 times per output tile; the patch of a
 * 8 × 16 output tile is (8 + 2) × (16 + 2) pixels, so A's staging shrinks ~6.4×.
 *
 * Layout: the tile covers TH = bm / 16 output rows × 16 output columns of one image (GEMM rows r = 16·ty + tx), so
 * a 16-row fragment is one output row. The patch is row-major [pixel (PH × PW)][channel (BK, rows padded by `pad`
 * halves)]; tap (ky, kx) of fragment row block i reads pixels ((ty + ky)·PW + kx + tx) for tx = 0…15 — 16 rows
 * at the constant stride RS — and 16 channels per k-step. K runs chunk-major (slice = chunk·taps + tap), so the
 * patch changes once per `taps` slices; the weights keep tc2's [tap][channel][n] layout (`bRow` picks the slice).
 * Split-K splits at chunk boundaries.
 */
import type { Gpu } from '../../gpu/index.js';
import { ceilDiv, type Conv2dGeom } from './geometry.js';
import type { Tc2Patch, Tc2Spec } from './tc2-kernel.js';
import { timesWeights } from './tc2-staging.js';
import type { Tc2Tile } from './tc2-tiles.js';
const NONE = '0xffffffffu';

/** Sizes of the patch of one output tile. */
function patchDims(g: Conv2dGeom, t: Tc2Tile) {
  const th = t.bm / 16;
  const pw = 16 + g.kw - 1;
  const ph = th + g.kh - 1;
  const rs = t.bk + (t.pad ?? 8);
  return { th, pw, ph, pp: ph * pw, rs, size: ph * pw * rs };
}

/** Workgroup memory of a patch-staged forward GEMM: the single patch, B's staging buffers, the epilogue scratch. */
export function patchBytes(g: Conv2dGeom, t: Tc2Tile): number {
  const b = t.bGlobal ? 0 : (t.single ? 1 : 2) * t.bk * (t.bn + (t.pad ?? 8));
  return 2 * (patchDims(g, t).size + b) + t.sgm * t.sgn * 1024;
}

/** Whether a forward conv can run patch-staged with this tile on a device with this much workgroup memory. */
export function patchApplies(g: Conv2dGeom, t: Tc2Tile, workgroupBytes: number): boolean {
  return (
    g.strideY === 1 &&
    g.strideX === 1 &&
    g.kh * g.kw > 1 &&
    t.bm % 16 === 0 &&
    (t.bm / t.sgm) % 16 === 0 &&
    patchBytes(g, t) <= workgroupBytes
  );
}

/** 128 × 128 over 4 × 4 subgroups, B double-buffered: the default for large stride-1 forwards (patchTileFor). */
export const PATCH_TILE: Tc2Tile = { bm: 128, bn: 128, bk: 32, sgm: 4, sgn: 4, pad: 8 };
/** 256 × 64 over 8 × 2 subgroups, one B buffer: the default where Cout ≤ 64 (the 64-channel layers at 512²). */
export const PATCH_TILE_N64: Tc2Tile = { bm: 256, bn: 64, bk: 32, sgm: 8, sgn: 2, pad: 8, single: true };
/** 64 × 128 over 2 × 4 subgroups: the default for outputs of ≤ 64 pixels (8²), where one tile covers the image. */
export const PATCH_TILE_SMALL: Tc2Tile = { bm: 64, bn: 128, bk: 32, sgm: 2, sgn: 4, pad: 8 };

/**
 * The patch tile of a forward conv by default, or null where the gather staging stays (strided convs, 1×1, and the
 * 16²–32² layers with ≤ 512 channels, where split-K over the small-M tile was faster). H200, per conv, same
 * process (bench `gpu-session.sh patch` / `patch2`, 2026-11-28): 3×3 128→128 @256² 0.155 → 0.146 ms, 512→512
 * @64² 0.178 → 0.163, 1024→512 @64² 0.329 → 0.302, 512→256 @128² 0.312 → 0.280, 256→128 @256² 0.279 → 0.262,
 * 1024→512 @16² 0.086 → 0.063; 64→64 @512² (PATCH_TILE_N64) 0.279 → 0.198; 512→512 @8² (PATCH_TILE_SMALL) 0.072 →
 * 0.038; 512→512 @32² 0.071 → 0.082 and @16² 0.048 → 0.048 with any patch tile, hence gather there.
 */
export function patchTileFor(
  g: Conv2dGeom,
  limits: { maxComputeInvocationsPerWorkgroup: number; maxComputeWorkgroupStorageSize: number },
): Tc2Tile | null {
  const m = g.n * g.ho * g.wo;
  const t = g.cout <= 64 ? PATCH_TILE_N64 : m <= 64 ? PATCH_TILE_SMALL : m >= 4096 || g.cin >= 1024 ? PATCH_TILE : null;
  const fits =
    t !== null &&
    t.sgm * t.sgn * 32 <= limits.maxComputeInvocationsPerWorkgroup &&
    patchApplies(g, t, limits.maxComputeWorkgroupStorageSize);
  return fits ? t : null;
}

/** Output tiles (workgroups along x) of a patch-staged forward: images × tile rows × tile columns. */
export function patchTiles(g: Conv2dGeom, t: Tc2Tile): number {
  return g.n * ceilDiv(g.ho, t.bm / 16) * ceilDiv(g.wo, 16);
}

/**
 * The A staging of a patch-staged forward (SRC f32 NCHW, the header's consts): module-scope vars (with
 * `fn rowOf`), per-thread init, the fetch part (loads the next chunk's patch into registers when `ks` starts a
 * chunk), the Tc2Patch hooks and the B slice index.
 */
export function patchStaging(
  T: number,
  g: Conv2dGeom,
  t: Tc2Tile,
  scaled: boolean,
  /** Channels in SRC where the input's other channels come from SRC2 (a multiple of BK: chunks never straddle). */
  first?: number,
): { vars: string; init: string; fetch: string; patch: Tc2Patch; bRow: string } {
  if (first !== undefined && (first % t.bk !== 0 || first <= 0 || first >= g.cin))
    throw new Error(`tc2 patch staging: the first source's ${first} channels must be a multiple of BK ${t.bk}`);
  const { th, pw, pp, rs, size } = patchDims(g, t);
  const taps = g.kh * g.kw;
  const cb = ceilDiv(g.cin, t.bk);
  const units = pp * (t.bk / 2); // (pixel, channel pair)
  const ju = ceilDiv(units, T);
  const tx = ceilDiv(g.wo, 16);
  const ty = ceilDiv(g.ho, th);
  const exactC = g.cin % t.bk === 0;
  let init = `  { let t = wg.x; pX0 = (t % ${tx}u) * 16u; pY0 = ((t / ${tx}u) % ${ty}u) * ${th}u; pB = t / ${tx * ty}u; }\n`;
  for (let j = 0; j < ju; j++)
    init += `  { let u = li + ${j * T}u;
    if (u < ${units}u) {
      let px = u % ${pp}u; let pr = u / ${pp}u;
      let iy = i32(pY0 + px / ${pw}u) - PT; let ix = i32(pX0 + px % ${pw}u) - PL;
      qS[${j}] = px * ${rs}u + 2u * pr; qC[${j}] = 2u * pr;
      qB[${j}] = select(-1, ${first === undefined ? 'i32(pB * CIN * HW) + ' : ''}iy * i32(W) + ix, iy >= 0 && iy < i32(H) && ix >= 0 && ix < i32(W));
    } else { qS[${j}] = ${NONE}; qC[${j}] = 0u; qB[${j}] = -1; } }\n`;
  let fetch = `  if (ks % ${taps}u == 0u) {\n    let c0 = (ks / ${taps}u) * ${t.bk}u;\n`;
  const loadFrom = (src: string, lim: string) =>
    exactC
      ? `v0 = ${src}[a]; v1 = ${src}[a + HW];`
      : `if (c < ${lim}) { v0 = ${src}[a]; } if (c + 1u < ${lim}) { v1 = ${src}[a + HW]; }`;
  if (first === undefined) {
    for (let j = 0; j < ju; j++)
      fetch += `    { var v0 = 0.0; var v1 = 0.0;
      if (qB[${j}] >= 0) { let c = c0 + qC[${j}]; let a = u32(qB[${j}]) + c * HW; ${loadFrom('SRC', 'CIN')} }
      qa[${2 * j}] = v0; qa[${2 * j + 1}] = v1; }\n`;
  } else {
    // The chunk lies in one source (uniform branch): channel c0 of the input is SRC's c0 or SRC2's c0 − FIRST.
    fetch += `    let second = c0 >= ${first}u; let cs = select(c0, c0 - ${first}u, second);
    let cn = select(${first}u, CIN - ${first}u, second); let ob = pB * cn * HW;\n`;
    for (let j = 0; j < ju; j++)
      fetch += `    { var v0 = 0.0; var v1 = 0.0;
      if (qB[${j}] >= 0) { let c = cs + qC[${j}]; let a = ob + u32(qB[${j}]) + c * HW;
        if (second) { ${loadFrom('SRC2', 'cn')} } else { ${loadFrom('SRC', 'cn')} } }
      qa[${2 * j}] = v0; qa[${2 * j + 1}] = v1; }\n`;
  }
  fetch += `  }\n`;
  const sc = scaled ? ' * gScale' : '';
  let put = '';
  for (let j = 0; j < ju; j++)
    put += `  if (qS[${j}] != ${NONE}) { let o = qS[${j}]; SA[o] = f16(qa[${2 * j}]${sc}); SA[o + 1u] = f16(qa[${2 * j + 1}]${sc}); }\n`;
  const vars = /* wgsl */ `var<private> pB: u32;
var<private> pY0: u32;
var<private> pX0: u32;
var<private> qB: array<i32, ${ju}>;
var<private> qC: array<u32, ${ju}>;
var<private> qS: array<u32, ${ju}>;
var<private> qa: array<f32, ${2 * ju}>;
fn rowOf(r: u32) -> u32 {
  let y = pY0 + r / 16u; let x = pX0 + r % 16u;
  if (y < HO && x < WO) { return pB * HOWO + y * WO + x; }
  return ${NONE};
}`;
  return {
    vars,
    init,
    fetch,
    bRow: `((ks % ${taps}u) * ${cb}u + ks / ${taps}u)`,
    patch: {
      size,
      stride: rs,
      every: taps,
      put,
      slice: `    let tap = ks % ${taps}u; let tky = tap / KW; let tkx = tap % KW;`,
      off: (i, st) => `((am0 / 16u + ${i}u + tky) * ${pw}u + tkx) * ${rs}u + ${st * 16}u`,
    },
  };
}

/** Slices per split-K workgroup rounded up to whole chunks (`taps` slices), and the resulting split count. */
export function patchSplits(sps: number, slices: number, taps: number): [number, number] {
  const s = ceilDiv(sps, taps) * taps;
  return [s, ceilDiv(slices, s)];
}

/**
 * The staging of a patch-staged forward (tc2-patch.ts) × f16 weights: A once per channel chunk, B per slice in
 * chunk-major slice order.
 */
export function patchedTimesWeights(
  T: number,
  g: Conv2dGeom,
  tile: Tc2Tile,
  npad: number,
  scaled: boolean,
  first?: number,
): Pick<
  Tc2Spec,
  'aLayout' | 'bLayout' | 'npad' | 'vars' | 'init' | 'fetch' | 'put' | 'cFast' | 'bRow' | 'aPatch' | 'rowOf'
> {
  const a = patchStaging(T, g, tile, scaled, first);
  return {
    aLayout: 'r',
    ...timesWeights(T, tile, npad, { ...a, put: '' }, a.bRow),
    bRow: a.bRow,
    aPatch: a.patch,
    rowOf: true,
  };
}

/**
 * The patch tile of a forward-like conv: the caller's (`patchTile`, null for none), else patchTileFor's, or none
 * where the caller gives a `tile` for every GEMM; null where the conv cannot run patch-staged.
 */
export function patchFor(
  gpu: Gpu,
  g: Conv2dGeom,
  opts: { tile?: Tc2Tile; patchTile?: Tc2Tile | null },
): Tc2Tile | null {
  const want = opts.patchTile !== undefined ? opts.patchTile : opts.tile ? null : patchTileFor(g, gpu.limits);
  return want && patchApplies(g, want, gpu.limits.maxComputeWorkgroupStorageSize) ? want : null;
}
