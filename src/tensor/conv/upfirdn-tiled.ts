/**
 * Fast upfirdn2d and its adjoint: a polyphase, register-blocked kernel generated per geometry (issue 4).
 *
 * Both directions are one "forward-form" problem: out[o] = Σ_k W[k] · in~[o·D + k − P0] per axis, where in~ is the
 * input with U−1 zeros inserted between samples. The forward has (U, D, P0) = (up, down, pad0) and W = the flipped
 * taps; the adjoint has (U, D, P0) = (down, up, kh − 1 − pad0) and W = the taps as given (unflipped), reading gy and
 * writing gx (see the derivation in README.md, "upfirdn2d speed").
 *
 * Each invocation computes a TY×TX block of outputs whose origin is a multiple of the polyphase period
 * U/gcd(U, D) on each axis, so which taps hit a real (non-inserted) sample, and at which input offset, is known when
 * the WGSL is generated: the kernel is a fully unrolled list of FMAs over only the live taps (no zero taps, no
 * div/mod, no per-tap branches). Input rows are streamed: each needed input row segment is loaded once into
 * registers (zero outside the plane) and feeds every output row that uses it. Outputs are stored as vec4 when the
 * block width and the output width are multiples of 4. A workgroup is 64 invocations laid out as
 * WGX × WGY × WGP (blocks along x, along y, planes), so small planes (16²) still fill the workgroup.
 * Geometry, tile and accumulate are baked into the WGSL (sources cached by key); channel views stay parameters.
 * Loads are branch-free (clamped index + select): straight-line code that also compiles quickly on LLVM (lavapipe).
 */
import type { Gpu } from '../../gpu/index.js';
import { ceilDiv } from './geometry.js';
import type { UpfirdnGeom } from './upfirdn-geometry.js';

export interface AxisForm {
  /** Input and output extents along this axis. */
  n: number;
  no: number;
  up: number;
  down: number;
  pad0: number;
  taps: number;
}

export interface UpfirdnForm {
  x: AxisForm;
  y: AxisForm;
  /** Tap index into K for tap (ky, kx) of the forward form: flipped (forward) or as given (adjoint). */
  flip: boolean;
  kh: number;
  kw: number;
}

export function forwardForm(g: UpfirdnGeom): UpfirdnForm {
  return {
    x: { n: g.w, no: g.wo, up: g.upX, down: g.downX, pad0: g.padX0, taps: g.kw },
    y: { n: g.h, no: g.ho, up: g.upY, down: g.downY, pad0: g.padY0, taps: g.kh },
    flip: true,
    kh: g.kh,
    kw: g.kw,
  };
}

export function adjointForm(g: UpfirdnGeom): UpfirdnForm {
  return {
    x: { n: g.wo, no: g.w, up: g.downX, down: g.upX, pad0: g.kw - 1 - g.padX0, taps: g.kw },
    y: { n: g.ho, no: g.h, up: g.downY, down: g.upY, pad0: g.kh - 1 - g.padY0, taps: g.kh },
    flip: false,
    kh: g.kh,
    kw: g.kw,
  };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const pow2ceil = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

interface AxisPlan {
  /** Outputs per invocation along the axis (a multiple of the period). */
  t: number;
  /** base input index of a block starting at output o0 = blk·t: blk·baseMul. */
  baseMul: number;
  /** For each output j of the block, the live taps (k, input offset from base). */
  live: Array<Array<{ k: number; off: number }>>;
  offMin: number;
  offMax: number;
}

function planAxis(a: AxisForm, want: number): AxisPlan {
  const g = gcd(a.up, a.down);
  const period = a.up / g;
  const t = period * Math.max(1, Math.round(want / period));
  const live: AxisPlan['live'] = [];
  let offMin = Infinity;
  let offMax = -Infinity;
  for (let j = 0; j < t; j++) {
    const list: Array<{ k: number; off: number }> = [];
    for (let k = 0; k < a.taps; k++) {
      const r = j * a.down + k - a.pad0;
      if (((r % a.up) + a.up) % a.up !== 0) continue;
      const off = r / a.up;
      list.push({ k, off });
      offMin = Math.min(offMin, off);
      offMax = Math.max(offMax, off);
    }
    live.push(list);
  }
  if (offMin === Infinity) offMin = offMax = 0;
  // o0·D/U with o0 = blk·t: t is a multiple of U/g, so this is blk·(t/(U/g))·(D/g).
  return { t, baseMul: (t / period) * (a.down / g), live, offMin, offMax };
}

export interface TiledPlan {
  key: string;
  source: string;
  wgx: number;
  wgy: number;
  wgp: number;
  tilesX: number;
  tilesY: number;
}

const sources = new Map<string, TiledPlan>();

/**
 * The StyledConv tail as the output epilogue (upsampling StyledConvs: blur, then this): leaky ReLU(0.2)·√2 of
 * (v + strength·noise[batch or 0][y][x]) + bias[channel], the order of noiseBiasLeakyRelu.
 */
const TAIL_WGSL = /* wgsl */ `
@group(0) @binding(3) var<storage, read> Noise: array<f32>;
@group(0) @binding(4) var<storage, read> Strength: array<f32>;
@group(0) @binding(5) var<storage, read> Bias: array<f32>;
var<private> tb: i32;
var<private> tc: i32;
fn tail(v: f32, y: i32, x: i32) -> f32 {
  let t = (v + Strength[0] * Noise[tb + y * OW + x]) + Bias[tc];
  return select(t * 0.2, t, t > 0.0) * 1.4142135623730951;
}`;

/** Outputs per invocation (x, y), rounded to multiples of the polyphase period. */
export const DEFAULT_BLOCK: readonly [number, number] = [4, 4];

/** The generated kernel and launch layout for one forward-form problem (cached by geometry). */
export function tiledPlan(
  f: UpfirdnForm,
  acc = false,
  block: readonly [number, number] = DEFAULT_BLOCK,
  tail = false,
): TiledPlan {
  if (acc && tail) throw new Error('upfirdn2d tiled: a tail epilogue cannot accumulate');
  const key = `${JSON.stringify(f)}|${acc}|${block}|${tail}`;
  const hit = sources.get(key);
  if (hit) return hit;
  const px = planAxis(f.x, block[0]);
  const py = planAxis(f.y, block[1]);
  const tilesX = ceilDiv(f.x.no, px.t);
  const tilesY = ceilDiv(f.y.no, py.t);
  const wgx = Math.min(16, pow2ceil(tilesX));
  const wgy = Math.min(64 / wgx, pow2ceil(tilesY));
  const wgp = 64 / (wgx * wgy);
  const vec = px.t % 4 === 0 && f.x.no % 4 === 0;
  const tap = (ky: number, kx: number) => (f.flip ? (f.kh - 1 - ky) * f.kw + (f.kw - 1 - kx) : ky * f.kw + kx);

  const lines: string[] = [];
  // taps used
  const used = new Set<number>();
  for (const ly of py.live) for (const a of ly) for (const lx of px.live) for (const b of lx) used.add(tap(a.k, b.k));
  for (const u of [...used].sort((a, b) => a - b)) lines.push(`  let w${u} = K[${u}];`);
  for (let jy = 0; jy < py.t; jy++) for (let jx = 0; jx < px.t; jx++) lines.push(`  var a${jy}_${jx} = 0.0;`);
  const nSeg = px.offMax - px.offMin + 1;
  const colNeeded = (c: number) => px.live.some((l) => l.some((e) => e.off === px.offMin + c));
  // Branch-free loads: clamped indices and a select (straight-line code compiles fast, also on LLVM/lavapipe).
  for (let c = 0; c < nSeg; c++) {
    if (!colNeeded(c)) continue;
    const off = px.offMin + c;
    lines.push(`  let c${c} = clamp(bx + ${off}, 0, IW - 1); let m${c} = bx + ${off} >= 0 && bx + ${off} < IW;`);
  }
  for (let r = py.offMin; r <= py.offMax; r++) {
    // which (output row, tap row) pairs read input row r
    const users: Array<{ jy: number; ky: number }> = [];
    py.live.forEach((l, jy) => l.forEach((e) => e.off === r && users.push({ jy, ky: e.k })));
    if (!users.length) continue;
    lines.push(`  {`);
    lines.push(`    let r = by + ${r}; let rok = r >= 0 && r < IH; let rb = xb + clamp(r, 0, IH - 1) * IW;`);
    for (let c = 0; c < nSeg; c++) {
      if (colNeeded(c)) lines.push(`    let s${c} = select(0.0, X[rb + c${c}], rok && m${c});`);
    }
    for (const { jy, ky } of users)
      for (let jx = 0; jx < px.t; jx++)
        for (const e of px.live[jx]!)
          lines.push(`    a${jy}_${jx} = fma(w${tap(ky, e.k)}, s${e.off - px.offMin}, a${jy}_${jx});`);
    lines.push(`  }`);
  }
  // stores
  for (let jy = 0; jy < py.t; jy++) {
    lines.push(`  if (oy0 + ${jy} < OH) {`);
    lines.push(`    let yr = yb + (oy0 + ${jy}) * OW;`);
    if (vec) {
      for (let q = 0; q < px.t / 4; q++) {
        const v = [0, 1, 2, 3].map((i) => `a${jy}_${4 * q + i}`).join(', ');
        lines.push(`    if (ox0 + ${4 * q} < OW) {`);
        lines.push(`      let i = (yr + ox0 + ${4 * q}) / 4;`);
        const t4 = [0, 1, 2, 3].map((i) => `tail(a${jy}_${4 * q + i}, oy0 + ${jy}, ox0 + ${4 * q + i})`).join(', ');
        lines.push(`      ${acc ? 'var' : 'let'} v = vec4f(${tail ? t4 : v});`);
        if (acc) lines.push(`      v += Y[i];`);
        lines.push(`      Y[i] = v;`);
        lines.push(`    }`);
      }
    } else {
      for (let jx = 0; jx < px.t; jx++) {
        lines.push(`    if (ox0 + ${jx} < OW) {`);
        lines.push(`      let i = yr + ox0 + ${jx};`);
        const one = tail ? `tail(a${jy}_${jx}, oy0 + ${jy}, ox0 + ${jx})` : `a${jy}_${jx}`;
        lines.push(`      ${acc ? 'var' : 'let'} v = ${one};`);
        if (acc) lines.push(`      v += Y[i];`);
        lines.push(`      Y[i] = v;`);
        lines.push(`    }`);
      }
    }
    lines.push(`  }`);
  }

  const source = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<${vec ? 'vec4f' : 'f32'}>;
struct U { planes: i32, c: i32, inBatch: i32, inOff: i32, outBatch: i32, outOff: i32, perSample: i32 }
@group(1) @binding(0) var<uniform> P: U;
${tail ? TAIL_WGSL : ''}
const IH: i32 = ${f.y.n}; const IW: i32 = ${f.x.n}; const OH: i32 = ${f.y.no}; const OW: i32 = ${f.x.no};
const TILES_X: i32 = ${tilesX}; const TILES_Y: i32 = ${tilesY};
@compute @workgroup_size(${wgx}, ${wgy}, ${wgp})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tile = i32(wg.x);
  let bxi = (tile % ${ceilDiv(tilesX, wgx)}) * ${wgx} + i32(lid.x);
  let byi = (tile / ${ceilDiv(tilesX, wgx)}) * ${wgy} + i32(lid.y);
  let p = (i32(wg.z) * 65535 + i32(wg.y)) * ${wgp} + i32(lid.z);
  if (bxi >= TILES_X || byi >= TILES_Y || p >= P.planes) { return; }
  let ox0 = bxi * ${px.t}; let oy0 = byi * ${py.t};
  let bx = bxi * ${px.baseMul}; let by = byi * ${py.baseMul};
  let xb = ((p / P.c) * P.inBatch + P.inOff + p % P.c) * IH * IW;
  let yb = ((p / P.c) * P.outBatch + P.outOff + p % P.c) * OH * OW;
${tail ? '  tb = select(0, p / P.c, P.perSample != 0) * OH * OW; tc = p % P.c;' : ''}
${lines.join('\n')}
}`;
  const plan: TiledPlan = { key, source, wgx, wgy, wgp, tilesX, tilesY };
  sources.set(key, plan);
  return plan;
}

export interface ViewParams {
  c: number;
  inBatch: number;
  inOff: number;
  outBatch: number;
  outOff: number;
  acc: boolean;
}

/** Record the tiled kernel for `planes` planes of a forward-form problem: X (input) → Y (output). */
export function upfirdnTiledDispatch(
  gpu: Gpu,
  name: string,
  f: UpfirdnForm,
  planes: number,
  v: ViewParams,
  x: GPUBuffer,
  k: GPUBuffer,
  y: GPUBuffer,
  block: readonly [number, number] = DEFAULT_BLOCK,
  tail: { noise: GPUBuffer; strength: GPUBuffer; bias: GPUBuffer; perSample: boolean } | null = null,
): void {
  const plan = tiledPlan(f, v.acc, block, tail !== null);
  const groupsPerPlane = ceilDiv(plan.tilesX, plan.wgx) * ceilDiv(plan.tilesY, plan.wgy);
  const pg = ceilDiv(planes, plan.wgp);
  const gy = Math.min(pg, 65535);
  const gz = ceilDiv(pg, 65535);
  const params = Int32Array.from([planes, v.c, v.inBatch, v.inOff, v.outBatch, v.outOff, tail?.perSample ? 1 : 0, 0]);
  const bufs = tail ? [x, k, y, tail.noise, tail.strength, tail.bias] : [x, k, y];
  gpu.dispatch(gpu.kernel(tail ? `${name}_tail` : name, plan.source), bufs, [groupsPerPlane, gy, gz], params);
}
