/**
 * GPU building blocks of the rasterizer: an exclusive prefix sum of u32 and a stable LSD radix sort of
 * (u32 key, u32 value) pairs with 4-bit digits (classic reduce-then-scan: per-block digit histograms, a global
 * exclusive scan of the digit-major histogram table, a stable scatter with per-block ranks).
 *
 * Both keep their scratch buffers in a `Scratch` (grow-only, from the pool), so a steady frame allocates nothing.
 */
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
struct P { n: u32, numBlocks: u32, sumOffset: u32 }
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
  for (var off = 1u; off < 256u; off <<= 1u) {
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
    gpu.dispatch(scan, [inp, out, total], [1, 1], new Uint32Array([n, 1, totalIndex]));
    return;
  }
  const sums = scratch.get(`scan_sums${level}`, numBlocks * 4);
  const sumsScanned = scratch.get(`scan_sums_scanned${level}`, numBlocks * 4);
  gpu.dispatch(scan, [inp, out, sums], grid1d(numBlocks, 1), new Uint32Array([n, numBlocks, 0]));
  exclusiveScan(gpu, scratch, sums, sumsScanned, numBlocks, total, totalIndex, level + 1);
  gpu.dispatch(gpu.kernel('splat_add_offsets', ADD_OFFSETS), [sumsScanned, out], grid1d(n, 256), new Uint32Array([n]));
}

const HIST = /* wgsl */ `
@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<storage, read_write> hist: array<u32>;
struct P { n: u32, shift: u32, numBlocks: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> cnt: array<atomic<u32>, 16>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  if (li < 16u) { atomicStore(&cnt[li], 0u); }
  workgroupBarrier();
  if (block < p.numBlocks) {
    for (var k = 0u; k < 4u; k++) {
      let i = block * 1024u + k * 256u + li;
      if (i < p.n) { atomicAdd(&cnt[(keys[i] >> p.shift) & 15u], 1u); }
    }
  }
  workgroupBarrier();
  if (block < p.numBlocks && li < 16u) { hist[li * p.numBlocks + block] = atomicLoad(&cnt[li]); }
}`;

/** Stable scatter: per-thread digit counts packed two 16-bit lanes per u32, scanned across the workgroup. */
const SCATTER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> keysIn: array<u32>;
@group(0) @binding(1) var<storage, read> valsIn: array<u32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read_write> keysOut: array<u32>;
@group(0) @binding(4) var<storage, read_write> valsOut: array<u32>;
struct P { n: u32, shift: u32, numBlocks: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> sa: array<vec4u, 256>;
var<workgroup> sb: array<vec4u, 256>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  let base = block * 1024u + li * 4u;
  var key: array<u32, 4>;
  var val: array<u32, 4>;
  var dig: array<u32, 4>;
  var c: array<u32, 8>;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    dig[k] = 16u;
    if (block < p.numBlocks && i < p.n) {
      key[k] = keysIn[i];
      val[k] = valsIn[i];
      let d = (key[k] >> p.shift) & 15u;
      dig[k] = d;
      c[d >> 1u] += 1u << ((d & 1u) * 16u);
    }
  }
  let ma = vec4u(c[0], c[1], c[2], c[3]);
  let mb = vec4u(c[4], c[5], c[6], c[7]);
  sa[li] = ma;
  sb[li] = mb;
  workgroupBarrier();
  for (var off = 1u; off < 256u; off <<= 1u) {
    var ta = vec4u(0u);
    var tb = vec4u(0u);
    if (li >= off) { ta = sa[li - off]; tb = sb[li - off]; }
    workgroupBarrier();
    sa[li] += ta;
    sb[li] += tb;
    workgroupBarrier();
  }
  let ea = sa[li] - ma;
  let eb = sb[li] - mb;
  var e = array<u32, 8>(ea.x, ea.y, ea.z, ea.w, eb.x, eb.y, eb.z, eb.w);
  var seen: array<u32, 16>;
  for (var k = 0u; k < 4u; k++) {
    let d = dig[k];
    if (d < 16u) {
      let rank = ((e[d >> 1u] >> ((d & 1u) * 16u)) & 0xffffu) + seen[d];
      seen[d] += 1u;
      let pos = offs[d * p.numBlocks + block] + rank;
      keysOut[pos] = key[k];
      valsOut[pos] = val[k];
    }
  }
}`;

export interface SortBuffers {
  keysA: GPUBuffer;
  valsA: GPUBuffer;
  keysB: GPUBuffer;
  valsB: GPUBuffer;
}

/**
 * Record a stable sort of `n` pairs by the low `bits` bits of the keys (the other bits must be zero or are
 * ignored... they are not compared). Input in keysA/valsA; returns where the sorted pairs lie (A or B).
 */
export function radixSort(
  gpu: Gpu,
  scratch: Scratch,
  b: SortBuffers,
  n: number,
  bits: number,
  name = 'sort',
): { keys: GPUBuffer; vals: GPUBuffer } {
  let src = { keys: b.keysA, vals: b.valsA };
  let dst = { keys: b.keysB, vals: b.valsB };
  if (n <= 1) return src;
  const passes = Math.ceil(bits / 4);
  const numBlocks = Math.ceil(n / 1024);
  const hist = scratch.get(`${name}_hist`, 16 * numBlocks * 4);
  const histScanned = scratch.get(`${name}_hist_scanned`, 16 * numBlocks * 4);
  const total = scratch.get(`${name}_total`, 16);
  const kh = gpu.kernel('splat_radix_hist', HIST);
  const ks = gpu.kernel('splat_radix_scatter', SCATTER);
  const grid = grid1d(numBlocks, 1);
  for (let pass = 0; pass < passes; pass++) {
    const params = new Uint32Array([n, pass * 4, numBlocks]);
    gpu.dispatch(kh, [src.keys, hist], grid, params);
    exclusiveScan(gpu, scratch, hist, histScanned, 16 * numBlocks, total, 0);
    gpu.dispatch(ks, [src.keys, src.vals, histScanned, dst.keys, dst.vals], grid, params);
    [src, dst] = [dst, src];
  }
  return src;
}
