/**
 * Sum over a set of axes: each output element sums R = Π(reduced dims) inputs. Two passes when R is long: pass 1
 * splits every output's sum into `chunks` workgroups (tree reduction in workgroup memory) writing partials
 * [out, chunks]; pass 2 reduces the partials the same way. The final write multiplies by `scale` (1/R for a mean).
 * Shapes and strides (≤ 8 kept and ≤ 8 reduced dims) come in parameters: one kernel per workgroup size.
 *
 * Fast paths (issue 4), after merging adjacent dimensions of the same kind (x is contiguous):
 * - rows ('reduce_rows'): the innermost dimension is reduced (a bias gradient Σ over N·H·W per channel, a full sum):
 *   each workgroup sums a chunk of up to 16 Ki contiguous elements of one output as vec4 loads (4 per invocation
 *   per step), then a tree in workgroup memory; partials [out, chunks] go through the same kernel again.
 * - columns ('reduce_cols'): the innermost dimension is kept (Σ over channels of [N, C, H, W] to [N, 1, H, W], the
 *   noise-strength gradient): each invocation owns 4 neighbouring outputs (a vec4) and walks the reduced index, so
 *   every load is coalesced; long sums are split into chunks written as partials, then reduced as rows.
 * - short sums ('reduce_short'): many outputs of at most 32 inputs each that no path above takes (the norm of each
 *   Gaussian's quaternion, Σ over xyz): one invocation per output walks its few inputs, without workgroup memory or
 *   barriers (the general kernel gives every output a 64-invocation workgroup: 58 ms for [9872, 4] → [9872] on
 *   lavapipe, against 0.6 ms this way).
 * The general kernel stays for everything else.
 */
import { Tensor } from '../tensor.js';
import { gpu } from '../tensor.js';
import { cachedKernel, f, params, stridesOf, type F32 } from './util.js';

const CHUNK = 4096;

let fastReduce = true;
/** Turn the fast paths (rows / columns) on or off (tests compare them with the general kernel). */
export function setFastReduce(on: boolean): void {
  fastReduce = on;
}
const MAXD = 8;

function wgsl(wgSize: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { total: u32, chunks: u32, chunkLen: u32, R: u32, scale: f32, nk: u32, nr: u32, pad: u32,
  kd: array<vec4<u32>, 2>, ks: array<vec4<u32>, 2>, rd: array<vec4<u32>, 2>, rs: array<vec4<u32>, 2> }
@group(1) @binding(0) var<uniform> P: PP;
var<workgroup> acc: array<f32, ${wgSize}>;
@compute @workgroup_size(${wgSize})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let w = wg.y * nwg.x + wg.x;
  if (w >= P.total) { return; }
  let o = w / P.chunks;
  let ch = w % P.chunks;
  var q = o;
  var base = 0u;
  for (var d = i32(P.nk) - 1; d >= 0; d--) {
    let e = u32(d);
    let n = P.kd[e / 4u][e % 4u];
    base += (q % n) * P.ks[e / 4u][e % 4u];
    q = q / n;
  }
  var s = 0.0;
  let r0 = ch * P.chunkLen;
  let r1 = min(r0 + P.chunkLen, P.R);
  for (var r = r0 + li; r < r1; r += ${wgSize}u) {
    var t = r;
    var off = 0u;
    for (var d = i32(P.nr) - 1; d >= 0; d--) {
      let e = u32(d);
      let n = P.rd[e / 4u][e % 4u];
      off += (t % n) * P.rs[e / 4u][e % 4u];
      t = t / n;
    }
    s += X[base + off];
  }
  acc[li] = s;
  workgroupBarrier();
  for (var h = ${wgSize / 2}u; h > 0u; h = h >> 1u) {
    if (li < h) { acc[li] += acc[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) { Y[w] = acc[0] * P.scale; }
}`;
}

function groups(n: number): [number, number] {
  if (n <= 65535) return [n, 1];
  const y = Math.ceil(n / 65535);
  return [Math.ceil(n / y), y];
}

function pass(
  x: Tensor,
  y: Tensor,
  kd: number[],
  ks: number[],
  rd: number[],
  rs: number[],
  numOut: number,
  R: number,
  chunks: number,
  scale: number,
): void {
  if (kd.length > MAXD || rd.length > MAXD) throw new Error(`reduce: over ${MAXD} dimensions`);
  const wgSize = R / chunks <= 64 ? 64 : 256;
  const k = cachedKernel(`reduce:${wgSize}`, () => wgsl(wgSize));
  const pad = (a: number[], v: number) => [...a, ...Array<number>(MAXD - a.length).fill(v)];
  const words: (number | F32)[] = [
    numOut * chunks,
    chunks,
    Math.ceil(R / chunks),
    R,
    f(scale),
    kd.length,
    rd.length,
    0,
  ];
  words.push(...pad(kd, 1), ...pad(ks, 0), ...pad(rd, 1), ...pad(rs, 0));
  gpu().dispatch(k, [x.buffer, y.buffer], groups(numOut * chunks), params(...words));
}

const ROWS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { total: u32, chunks: u32, chunkLen4: u32, L4: u32, rows: u32, scale: f32, nr: u32, pad: u32,
  kd: array<vec4<u32>, 2>, ks: array<vec4<u32>, 2>, rd: array<vec4<u32>, 2>, rs: array<vec4<u32>, 2> }
@group(1) @binding(0) var<uniform> P: PP;
var<workgroup> acc: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let w = wg.y * nwg.x + wg.x;
  if (w >= P.total) { return; }
  let o = w / P.chunks;
  let ch = w % P.chunks;
  // base offset (in vec4 units) of output o from the kept dims (strides are in elements, multiples of 4)
  var q = o;
  var base = 0u;
  for (var d = 7; d >= 0; d--) {
    let e = u32(d);
    let n = P.kd[e / 4u][e % 4u];
    base += (q % n) * P.ks[e / 4u][e % 4u];
    q = q / n;
  }
  base = base / 4u;
  let n4 = P.rows * P.L4;
  let e0 = ch * P.chunkLen4;
  let e1 = min(e0 + P.chunkLen4, n4);
  var s = vec4f(0.0);
  var row = 0xffffffffu;
  var rowOff = 0u;
  for (var e = e0 + li; e < e1; e += 256u) {
    let r = e / P.L4;
    if (r != row) {
      row = r;
      var t = r;
      rowOff = 0u;
      for (var d = i32(P.nr) - 1; d >= 0; d--) {
        let k = u32(d);
        let n = P.rd[k / 4u][k % 4u];
        rowOff += (t % n) * P.rs[k / 4u][k % 4u];
        t = t / n;
      }
      rowOff = rowOff / 4u;
    }
    s += X[base + rowOff + e % P.L4];
  }
  acc[li] = (s.x + s.y) + (s.z + s.w);
  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h >> 1u) {
    if (li < h) { acc[li] += acc[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) { Y[w] = acc[0] * P.scale; }
}`;

const COLS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> Y: array<vec4f>;
struct PP { total4: u32, chunks: u32, chunkLen: u32, R: u32, scale: f32, nk: u32, nr: u32, inner4: u32,
  kd: array<vec4<u32>, 2>, ks: array<vec4<u32>, 2>, rd: array<vec4<u32>, 2>, rs: array<vec4<u32>, 2> }
@group(1) @binding(0) var<uniform> P: PP;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= P.total4 * P.chunks) { return; }
  let o4 = i % P.total4;
  let ch = i / P.total4;
  // kept dims: the innermost (stride 1) has inner4·4 elements; the others come from the table
  var q = (o4 / P.inner4);
  var base = (o4 % P.inner4) * 4u;
  for (var d = i32(P.nk) - 1; d >= 0; d--) {
    let e = u32(d);
    let n = P.kd[e / 4u][e % 4u];
    base += (q % n) * P.ks[e / 4u][e % 4u];
    q = q / n;
  }
  base = base / 4u;
  let r0 = ch * P.chunkLen;
  let r1 = min(r0 + P.chunkLen, P.R);
  var s0 = vec4f(0.0);
  var s1 = vec4f(0.0);
  var r = r0;
  if (P.nr == 1u) {
    let st = P.rs[0][0] / 4u;
    for (; r + 1u < r1; r += 2u) { s0 += X[base + r * st]; s1 += X[base + (r + 1u) * st]; }
    if (r < r1) { s0 += X[base + r * st]; }
  } else {
    for (; r < r1; r++) {
      var t = r;
      var off = 0u;
      for (var d = i32(P.nr) - 1; d >= 0; d--) {
        let e = u32(d);
        let n = P.rd[e / 4u][e % 4u];
        off += (t % n) * P.rs[e / 4u][e % 4u];
        t = t / n;
      }
      s0 += X[base + off / 4u];
    }
  }
  // partials (chunks > 1) are laid out [chunks, out]: a second columns pass (R = chunks) finishes them
  Y[ch * P.total4 + o4] = (s0 + s1) * P.scale;
}`;

const SHORT = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { total: u32, chunks: u32, chunkLen: u32, R: u32, scale: f32, nk: u32, nr: u32, pad: u32,
  kd: array<vec4<u32>, 2>, ks: array<vec4<u32>, 2>, rd: array<vec4<u32>, 2>, rs: array<vec4<u32>, 2> }
@group(1) @binding(0) var<uniform> P: PP;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = gid.x + gid.y * nwg.x * 64u;
  if (o >= P.total) { return; }
  var q = o;
  var base = 0u;
  for (var d = i32(P.nk) - 1; d >= 0; d--) {
    let e = u32(d);
    let n = P.kd[e / 4u][e % 4u];
    base += (q % n) * P.ks[e / 4u][e % 4u];
    q = q / n;
  }
  var s = 0.0;
  for (var r = 0u; r < P.R; r++) {
    var t = r;
    var off = 0u;
    for (var d = i32(P.nr) - 1; d >= 0; d--) {
      let e = u32(d);
      let n = P.rd[e / 4u][e % 4u];
      off += (t % n) * P.rs[e / 4u][e % 4u];
      t = t / n;
    }
    s += X[base + off];
  }
  Y[o] = s * P.scale;
}`;

/** Short sums: at most this many inputs per output, and at least this many outputs (else the general kernel). */
const SHORT_MAX_R = 32;
const SHORT_MIN_OUT = 256;

function shortPass(
  x: Tensor,
  y: Tensor,
  kd: number[],
  ks: number[],
  rd: number[],
  rs: number[],
  numOut: number,
  R: number,
  scale: number,
): void {
  const pad = (a: number[], v: number) => [...a, ...Array<number>(MAXD - a.length).fill(v)];
  const words: (number | F32)[] = [numOut, 1, R, R, f(scale), kd.length, rd.length, 0];
  words.push(...pad(kd, 1), ...pad(ks, 0), ...pad(rd, 1), ...pad(rs, 0));
  const k = cachedKernel('reduce_short', () => SHORT);
  const g = Math.ceil(numOut / 64);
  const gx = Math.min(g, 65535);
  gpu().dispatch(k, [x.buffer, y.buffer], [gx, Math.ceil(g / gx), 1], params(...words));
}

/** Dimensions merged where contiguous and of the same kind (kept / reduced), outer to inner. */
function mergeDims(dims: number[], strides: number[], reduced: boolean[]) {
  const out: Array<{ d: number; s: number; r: boolean }> = [];
  dims.forEach((d, i) => {
    const last = out[out.length - 1];
    if (last && last.r === reduced[i] && last.s === d * strides[i]!) {
      last.d *= d;
      last.s = strides[i]!;
    } else out.push({ d, s: strides[i]!, r: reduced[i]! });
  });
  return out;
}

const ROW_CHUNK4 = 4096; // vec4 per workgroup and chunk (16 Ki elements)

/** Rows path: innermost merged dim reduced, contiguous, a multiple of 4 long. */
function rowsPass(
  x: GPUBuffer,
  y: GPUBuffer,
  kd: number[],
  ks: number[],
  rd: number[],
  rs: number[],
  L: number,
  numOut: number,
  R: number,
  chunks: number,
  scale: number,
): void {
  const pad = (a: number[], v: number) => [...a, ...Array<number>(MAXD - a.length).fill(v)];
  const L4 = L / 4;
  const n4 = R / 4;
  const words: (number | F32)[] = [numOut * chunks, chunks, Math.ceil(n4 / chunks), L4, R / L, f(scale), rd.length, 0];
  words.push(...pad(kd, 1), ...pad(ks, 0), ...pad(rd, 1), ...pad(rs, 0));
  const k = cachedKernel('reduce_rows', () => ROWS);
  gpu().dispatch(k, [x, y], groups(numOut * chunks), params(...words));
}

/** Try the fast paths; false when the layout needs the general kernel. */
function reduceFast(x: Tensor, out: Tensor, axes: Set<number>, scale: number): boolean {
  const st = stridesOf(x.shape);
  const keep = x.shape.map((d, i) => i).filter((i) => x.shape[i]! !== 1);
  const m = mergeDims(
    keep.map((i) => x.shape[i]!),
    keep.map((i) => st[i]!),
    keep.map((i) => axes.has(i)),
  );
  if (m.length === 0 || m.length > MAXD) return false;
  const inner = m[m.length - 1]!;
  if (inner.s !== 1 || inner.d % 4 !== 0) return false;
  const kept = m.filter((e) => !e.r);
  const red = m.filter((e) => e.r);
  const numOut = kept.reduce((a, e) => a * e.d, 1);
  const R = red.reduce((a, e) => a * e.d, 1);
  if (inner.r) {
    // rows: the innermost reduced run has inner.d elements; the outer reduced dims index rows
    if (inner.d < 64) return false;
    const outerR = red.slice(0, -1);
    const chunks = Math.min(Math.ceil(R / 4 / ROW_CHUNK4), 1024);
    const kd = kept.map((e) => e.d);
    const ks = kept.map((e) => e.s);
    const padKd = [...Array<number>(MAXD - kd.length).fill(1), ...kd];
    const padKs = [...Array<number>(MAXD - ks.length).fill(0), ...ks];
    const rd = outerR.map((e) => e.d);
    const rs = outerR.map((e) => e.s);
    if (chunks === 1) {
      rowsPass(x.buffer, out.buffer, padKd, padKs, rd, rs, inner.d, numOut, R, 1, scale);
      return true;
    }
    const partial = Tensor.empty([numOut * chunks]);
    rowsPass(x.buffer, partial.buffer, padKd, padKs, rd, rs, inner.d, numOut, R, chunks, 1);
    finishPartials(partial, out, numOut, chunks, scale);
    partial.dispose();
    return true;
  }
  // columns: every reduced dim lies outside the innermost kept run
  const kOuter = kept.slice(0, -1);
  const total4 = numOut / 4;
  const target = 65536; // invocations to aim for
  const chunks = Math.max(1, Math.min(Math.ceil(target / total4), Math.ceil(R / 32), 1024));
  const chunkLen = Math.ceil(R / chunks);
  const realChunks = Math.ceil(R / chunkLen);
  const pad = (a: number[], v: number) => [...a, ...Array<number>(MAXD - a.length).fill(v)];
  const words: (number | F32)[] = [
    total4,
    realChunks,
    chunkLen,
    R,
    f(realChunks === 1 ? scale : 1),
    kOuter.length,
    red.length,
    inner.d / 4,
  ];
  words.push(
    ...pad(
      kOuter.map((e) => e.d),
      1,
    ),
    ...pad(
      kOuter.map((e) => e.s),
      0,
    ),
    ...pad(
      red.map((e) => e.d),
      1,
    ),
    ...pad(
      red.map((e) => e.s),
      0,
    ),
  );
  const dst = realChunks === 1 ? out : Tensor.empty([numOut * realChunks]);
  colsPass(x.buffer, dst.buffer, total4 * realChunks, words);
  if (realChunks > 1) {
    const w2: (number | F32)[] = [total4, 1, realChunks, realChunks, f(scale), 0, 1, total4];
    w2.push(...pad([], 1), ...pad([], 0), ...pad([realChunks], 1), ...pad([numOut], 0));
    colsPass(dst.buffer, out.buffer, total4, w2);
    dst.dispose();
  }
  return true;
}

function colsPass(x: GPUBuffer, y: GPUBuffer, items: number, words: (number | F32)[]): void {
  const k = cachedKernel('reduce_cols', () => COLS);
  const g = Math.ceil(items / 256);
  const gx = Math.min(g, 65535);
  gpu().dispatch(k, [x, y], [gx, Math.ceil(g / gx), 1], params(...words));
}

/** out[o] = scale · Σ_c partial[o·chunks + c]. */
function finishPartials(partial: Tensor, out: Tensor, numOut: number, chunks: number, scale: number): void {
  if (chunks % 4 === 0 && chunks >= 64) {
    const kd = [...Array<number>(MAXD - 1).fill(1), numOut];
    const ks = [...Array<number>(MAXD - 1).fill(0), chunks];
    rowsPass(partial.buffer, out.buffer, kd, ks, [], [], chunks, numOut, chunks, 1, scale);
  } else pass(partial, out, [numOut], [chunks], [chunks], [1], numOut, chunks, 1, scale);
}

/** Record Y[kept] = scale · Σ_{reduced axes} X into a new tensor of `outShape` (size = Π kept dims). */
export function reduceSum(x: Tensor, axes: readonly number[], outShape: readonly number[], scale = 1): Tensor {
  const st = stridesOf(x.shape);
  const ax = new Set(axes);
  const kd: number[] = [];
  const ks: number[] = [];
  const rd: number[] = [];
  const rs: number[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    if (ax.has(i)) {
      rd.push(d);
      rs.push(st[i]!);
    } else {
      kd.push(d);
      ks.push(st[i]!);
    }
  });
  const numOut = kd.reduce((a, b) => a * b, 1);
  const R = rd.reduce((a, b) => a * b, 1);
  const out = Tensor.empty(outShape);
  if (out.size !== numOut) throw new Error('reduceSum: output shape mismatch');
  if (numOut === 0) return out;
  if (R === 0) {
    gpu().clear(out.buffer, 0, out.size * 4);
    return out;
  }
  if (fastReduce && reduceFast(x, out, ax, scale)) return out;
  if (fastReduce && R <= SHORT_MAX_R && numOut >= SHORT_MIN_OUT && kd.length <= MAXD && rd.length <= MAXD) {
    shortPass(x, out, kd, ks, rd, rs, numOut, R, scale);
    return out;
  }
  const chunks = Math.min(Math.ceil(R / CHUNK), 1024);
  if (chunks === 1) {
    pass(x, out, kd, ks, rd, rs, numOut, R, 1, scale);
    return out;
  }
  const partial = Tensor.empty([numOut * chunks]);
  pass(x, partial, kd, ks, rd, rs, numOut, R, chunks, 1);
  pass(partial, out, [numOut], [chunks], [chunks], [1], numOut, chunks, 1, scale);
  partial.dispose();
  return out;
}
