/**
 * GPU building blocks of the rasterizer: an exclusive prefix sum of u32 and a stable LSD radix sort of
 * (u32 key, u32 value) pairs with 8-bit digits (classic reduce-then-scan: per-block digit histograms, an exclusive
 * scan of the digit-major histogram table, a stable scatter that sorts each block locally first).
 *
 * Both keep their scratch buffers in a `Scratch` (grow-only, from the pool), so a steady frame allocates nothing.
 */
import { workgroupReduceWgsl } from '../gpu/reduce-wgsl.js';
import type { Gpu } from '../gpu/gpu.js';
import { grid1d } from '../gpu/grid.js';

/** Named scratch buffers that only grow; each is acquired from the pool once and kept. */
export class Scratch {
  private readonly bufs = new Map<string, GPUBuffer>();
  constructor(private readonly gpu: Gpu) {}

  /** A buffer of at least `bytes` (contents undefined). Growing it releases the old one to the pool. */
  get(name: string, bytes: number): GPUBuffer {
    const have = this.bufs.get(name);
    const want = Math.max(16, bytes);
    if (have && have.size >= want) return have;
    if (have) this.gpu.pool.release(have);
    // Grow by 25% beyond the request so a slowly growing count does not reallocate every frame.
    const buf = this.gpu.pool.acquire(have ? Math.ceil(want * 1.25) : want, `splat:${name}`);
    this.bufs.set(name, buf);
    return buf;
  }

  release(): void {
    for (const b of this.bufs.values()) this.gpu.pool.release(b);
    this.bufs.clear();
  }
}

const WG_INDEX = /* wgsl */ `fn wgIndex(wg: vec3u, nwg: vec3u) -> u32 { return wg.y * nwg.x + wg.x; }`;

/** Scan of 1024-element blocks (256 threads × 4 consecutive items); writes each block's total to sums[off+block]. */
const SCAN_BLOCKS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> inp: array<u32>;
@group(0) @binding(1) var<storage, read_write> outp: array<u32>;
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;
// threads (256) is a parameter so that no compiler unrolls the scan's loop around its barriers (lavapipe's LLVM
// compiles the loop 3× faster than its unrolled copies).
struct P { n: u32, numBlocks: u32, sumOffset: u32, threads: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> sh: array<u32, 256>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  let base = block * 1024u + li * 4u;
  var v: array<u32, 4>;
  var s = 0u;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    var x = 0u;
    if (block < p.numBlocks && i < p.n) { x = inp[i]; }
    v[k] = s;
    s += x;
  }
  sh[li] = s;
  workgroupBarrier();
  for (var off = 1u; off < p.threads; off <<= 1u) {
    var t = 0u;
    if (li >= off) { t = sh[li - off]; }
    workgroupBarrier();
    sh[li] += t;
    workgroupBarrier();
  }
  if (block >= p.numBlocks) { return; }
  let excl = sh[li] - s;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < p.n) { outp[i] = excl + v[k]; }
  }
  if (li == 255u) { sums[p.sumOffset + block] = sh[255]; }
}`;

const ADD_OFFSETS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> offs: array<u32>;
@group(0) @binding(1) var<storage, read_write> outp: array<u32>;
struct P { n: u32 }
@group(1) @binding(0) var<uniform> p: P;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = wgIndex(wg, nwg) * 256u + li;
  if (i < p.n) { outp[i] += offs[i / 1024u]; }
}`;

/**
 * Record an exclusive prefix sum of `n` u32 from `inp` into `out` (distinct buffers); the grand total is written
 * as a u32 to `total` at element `totalIndex`.
 */
export function exclusiveScan(
  gpu: Gpu,
  scratch: Scratch,
  inp: GPUBuffer,
  out: GPUBuffer,
  n: number,
  total: GPUBuffer,
  totalIndex: number,
  level = 0,
): void {
  if (n === 0) {
    gpu.upload(total, new Uint32Array([0]), totalIndex * 4);
    return;
  }
  const scan = gpu.kernel('splat_scan_blocks', SCAN_BLOCKS);
  const numBlocks = Math.ceil(n / 1024);
  if (numBlocks === 1) {
    gpu.dispatch(scan, [inp, out, total], [1, 1], new Uint32Array([n, 1, totalIndex, 256]));
    return;
  }
  const sums = scratch.get(`scan_sums${level}`, numBlocks * 4);
  const sumsScanned = scratch.get(`scan_sums_scanned${level}`, numBlocks * 4);
  gpu.dispatch(scan, [inp, out, sums], grid1d(numBlocks, 1), new Uint32Array([n, numBlocks, 0, 256]));
  exclusiveScan(gpu, scratch, sums, sumsScanned, numBlocks, total, totalIndex, level + 1);
  gpu.dispatch(gpu.kernel('splat_add_offsets', ADD_OFFSETS), [sumsScanned, out], grid1d(n, 256), new Uint32Array([n]));
}

/**
 * Radix sort: 8-bit digits over blocks of 1024 keys (256 threads × 4 consecutive items). Few passes matter more
 * than cheap ones: at the rasterizer's sizes every dispatch is latency-bound, so 4 passes for 32-bit depths and 2
 * for tile ids (4 dispatches each) beat 4-bit digits' 8 + 4 passes (5 dispatches each).
 */
const BLOCK = 1024;

/** Per-block digit histograms, digit-major: hist[d·numBlocks + block]. Items are read coalesced (order is free here). */
const HIST = /* wgsl */ `
@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<storage, read_write> hist: array<u32>;
struct P { n: u32, shift: u32, numBlocks: u32, mask: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> cnt: array<atomic<u32>, 256>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  atomicStore(&cnt[li], 0u);
  workgroupBarrier();
  if (block < p.numBlocks) {
    for (var k = 0u; k < 4u; k++) {
      let i = block * ${BLOCK}u + k * 256u + li;
      if (i < p.n) { atomicAdd(&cnt[(keys[i] >> p.shift) & p.mask], 1u); }
    }
  }
  workgroupBarrier();
  if (block < p.numBlocks) { hist[li * p.numBlocks + block] = atomicLoad(&cnt[li]); }
}`;

/**
 * Stable scatter. The block is first sorted in workgroup memory by its 8-bit digit (two stable 4-bit splits: each
 * thread holds 4 consecutive items, digit counts packed two 16-bit lanes per u32 are scanned across the
 * workgroup); an item at local position j with digit d then goes to base(d) + j − localStart(d), where base(d) is
 * the scanned histogram table (a 1024-entry segment scan plus the scan of the segment sums). Items past n carry
 * the key 0xffffffff: the largest digit in both splits, so they stay at the block's end.
 */
const SCATTER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> keysIn: array<u32>;
@group(0) @binding(1) var<storage, read> valsIn: array<u32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read> segOffs: array<u32>;
@group(0) @binding(4) var<storage, read_write> keysOut: array<u32>;
@group(0) @binding(5) var<storage, read_write> valsOut: array<u32>;
// threads (256) and splits (2) are parameters, not constants, so that no compiler unrolls the loops around the
// barriers: unrolled, lavapipe's LLVM took 10–18 s to compile this kernel, against ~2 s.
// identity != 0: the values are the keys' indices, not read from valsIn (the depth sort's first pass: its producer
// then needs no index buffer, which kept the preprocess within 8 storage buffers).
struct P { n: u32, shift: u32, numBlocks: u32, mask: u32, threads: u32, splits: u32, identity: u32 }
@group(1) @binding(0) var<uniform> p: P;
// [0, 256): packed counts of digits 0–7, [256, 512): digits 8–15; afterwards, word d of it holds base(d) − start(d).
var<workgroup> sc: array<vec4u, 512>;
var<workgroup> sk: array<u32, ${BLOCK}>;
var<workgroup> sv: array<u32, ${BLOCK}>;
${WG_INDEX}

fn lane(e: array<u32, 8>, d: u32) -> u32 { return (e[d >> 1u] >> ((d & 1u) * 16u)) & 0xffffu; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  let live = block < p.numBlocks;
  var nb = 0u;
  if (live) { nb = min(${BLOCK}u, p.n - block * ${BLOCK}u); }
  // This thread's digit: its global base, read before the workgroup memory is reused.
  var base = 0u;
  if (live && li <= p.mask) {
    let t = li * p.numBlocks + block;
    base = offs[t] + segOffs[t >> 10u];
  }
  var key: array<u32, 4>;
  var val: array<u32, 4>;
  for (var k = 0u; k < 4u; k++) {
    let j = li * 4u + k;
    key[k] = 0xffffffffu;
    val[k] = 0u;
    if (j < nb) {
      key[k] = keysIn[block * ${BLOCK}u + j];
      if (p.identity != 0u) { val[k] = block * ${BLOCK}u + j; } else { val[k] = valsIn[block * ${BLOCK}u + j]; }
    }
  }
  for (var half = 0u; half < p.splits; half++) {
    let sh = p.shift + half * 4u;
    let m = (p.mask >> (half * 4u)) & 15u;
    var dig: array<u32, 4>;
    var c = array<u32, 8>(0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
    for (var k = 0u; k < 4u; k++) {
      let d = (key[k] >> sh) & m;
      dig[k] = d;
      c[d >> 1u] += 1u << ((d & 1u) * 16u);
    }
    let ma = vec4u(c[0], c[1], c[2], c[3]);
    let mb = vec4u(c[4], c[5], c[6], c[7]);
    sc[li] = ma;
    sc[256u + li] = mb;
    workgroupBarrier();
    for (var off = 1u; off < p.threads; off <<= 1u) {
      var ta = vec4u(0u);
      var tb = vec4u(0u);
      if (li >= off) { ta = sc[li - off]; tb = sc[256u + li - off]; }
      workgroupBarrier();
      sc[li] += ta;
      sc[256u + li] += tb;
      workgroupBarrier();
    }
    let ta = sc[255];
    let tb = sc[511];
    let ea = sc[li] - ma;
    let eb = sc[256u + li] - mb;
    let tot = array<u32, 8>(ta.x, ta.y, ta.z, ta.w, tb.x, tb.y, tb.z, tb.w);
    // e[d]: where this thread's first item of digit d goes (digit start + items of d in earlier threads).
    var e = array<u32, 8>(ea.x, ea.y, ea.z, ea.w, eb.x, eb.y, eb.z, eb.w);
    var run = 0u;
    for (var d = 0u; d < 16u; d++) {
      e[d >> 1u] += run << ((d & 1u) * 16u);
      run += lane(tot, d);
    }
    workgroupBarrier(); // every thread has read sc before the next split (or the bases) overwrite it
    for (var k = 0u; k < 4u; k++) {
      let d = dig[k];
      let pos = lane(e, d);
      e[d >> 1u] += 1u << ((d & 1u) * 16u);
      sk[pos] = key[k];
      sv[pos] = val[k];
    }
    workgroupBarrier();
    for (var k = 0u; k < 4u; k++) {
      key[k] = sk[li * 4u + k];
      val[k] = sv[li * 4u + k];
    }
  }
  // The block is now in digit order in sk/sv. Word d of sc: base(d) − localStart(d) (u32 arithmetic wraps).
  for (var k = 0u; k < 4u; k++) {
    let j = li * 4u + k;
    if (j < nb) {
      let d = (key[k] >> p.shift) & p.mask;
      var prev = 0xffffffffu;
      if (j > 0u) { prev = (sk[j - 1u] >> p.shift) & p.mask; }
      if (d != prev) { sc[d >> 2u][d & 3u] = j; }
    }
  }
  workgroupBarrier();
  if (li <= p.mask) { sc[li >> 2u][li & 3u] = base - sc[li >> 2u][li & 3u]; }
  workgroupBarrier();
  for (var k = 0u; k < 4u; k++) {
    let j = k * 256u + li;
    if (j < nb) {
      let kk = sk[j];
      let d = (kk >> p.shift) & p.mask;
      let pos = sc[d >> 2u][d & 3u] + j;
      keysOut[pos] = kk;
      valsOut[pos] = sv[j];
    }
  }
}`;

/** Sum of n u32 added atomically into out[0] (which must be zeroed first); 4096 items per workgroup. */
const SUM = /* wgsl */ `
@group(0) @binding(0) var<storage, read> inp: array<u32>;
@group(0) @binding(1) var<storage, read_write> acc: array<atomic<u32>>;
struct P { n: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> sh: array<u32, 256>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  var s = 0u;
  for (var k = 0u; k < 16u; k++) {
    let i = block * 4096u + k * 256u + li;
    if (i < p.n) { s += inp[i]; }
  }
  sh[li] = s;
  ${workgroupReduceWgsl([['sh', '+']], 256)}
  if (li == 0u && sh[0] != 0u) { atomicAdd(&acc[0], sh[0]); }
}`;

/** Record out[0] = Σ inp[0..n) (u32, wrapping), out being a u32 buffer of at least 4 bytes. */
export function sumU32(gpu: Gpu, inp: GPUBuffer, n: number, out: GPUBuffer): void {
  gpu.clear(out, 0, 4);
  if (n === 0) return;
  gpu.dispatch(gpu.kernel('splat_sum', SUM), [inp, out], grid1d(Math.ceil(n / 4096), 1), new Uint32Array([n]));
}

export interface SortBuffers {
  keysA: GPUBuffer;
  valsA: GPUBuffer;
  keysB: GPUBuffer;
  valsB: GPUBuffer;
}

/**
 * Record a stable sort of `n` pairs by the low `bits` bits of the keys (the other bits must be zero or are
 * ignored... they are not compared). Input in keysA/valsA; returns where the sorted pairs lie (A or B). With
 * `identity` the values are the keys' indices 0..n−1 (valsA is not read, only written when n ≤ 1): the sorted
 * values are then the sorting permutation.
 */
export function radixSort(
  gpu: Gpu,
  scratch: Scratch,
  b: SortBuffers,
  n: number,
  bits: number,
  name = 'sort',
  identity = false,
): { keys: GPUBuffer; vals: GPUBuffer } {
  let src = { keys: b.keysA, vals: b.valsA };
  let dst = { keys: b.keysB, vals: b.valsB };
  if (n <= 1) {
    if (identity) gpu.clear(b.valsA, 0, 4); // the permutation of one key: [0]
    return src;
  }
  const passes = Math.ceil(bits / 8);
  const numBlocks = Math.ceil(n / BLOCK);
  const tableN = 256 * numBlocks;
  const segs = Math.ceil(tableN / 1024);
  const hist = scratch.get(`${name}_hist`, tableN * 4);
  const histScanned = scratch.get(`${name}_hist_scanned`, tableN * 4);
  const segSums = scratch.get(`${name}_seg_sums`, segs * 4);
  const segScanned = scratch.get(`${name}_seg_scanned`, segs * 4);
  const total = scratch.get(`${name}_total`, 16);
  const kh = gpu.kernel('splat_radix_hist', HIST);
  const ks = gpu.kernel('splat_radix_scatter', SCATTER);
  const kscan = gpu.kernel('splat_scan_blocks', SCAN_BLOCKS);
  const grid = grid1d(numBlocks, 1);
  for (let pass = 0; pass < passes; pass++) {
    const shift = pass * 8;
    const first = identity && pass === 0 ? 1 : 0;
    const params = new Uint32Array([n, shift, numBlocks, (1 << Math.min(8, bits - shift)) - 1, 256, 2, first, 0]);
    gpu.dispatch(kh, [src.keys, hist], grid, params);
    // The table's exclusive scan in two parts, added together by the scatter: per 1024-entry segment, then the
    // segment sums (one more dispatch while segs ≤ 1024, i.e. up to 4M keys; more levels beyond).
    gpu.dispatch(kscan, [hist, histScanned, segSums], grid1d(segs, 1), new Uint32Array([tableN, segs, 0, 256]));
    exclusiveScan(gpu, scratch, segSums, segScanned, segs, total, 0, 1);
    gpu.dispatch(ks, [src.keys, src.vals, histScanned, segScanned, dst.keys, dst.vals], grid, params);
    [src, dst] = [dst, src];
  }
  return src;
}
