/**
 * GPU building blocks of the rasterizer: an exclusive prefix sum of u32 and a stable LSD radix sort of
 * (u32 key, u32 value) pairs (classic reduce-then-scan: per-block digit histograms, a global exclusive scan of the
 * digit-major histogram table, a stable scatter with per-block ranks).
 *
 * Two radix sorts share the driver:
 * - 8-bit digits (needs subgroups with size ≥ 8): blocks of 4096 keys, 256 threads × 16. The scatter ranks keys
 *   with subgroup ballots (8 ballots match the lanes holding the same digit), keeps per-subgroup digit counts in
 *   workgroup memory (two 16-bit counters per u32) and scans them across the subgroups once per block.
 * - 4-bit digits (fallback without subgroups): blocks of 1024 keys, 256 threads × 4, per-thread digit counts
 *   scanned across the workgroup.
 *
 * The number of keys may live on the GPU: a count record (recordCount) holds the count, clamped to a capacity, the
 * block count, the histogram-table sizes of every scan level and the indirect grids, so a sort of a count that the
 * CPU never reads can be recorded at a capacity and dispatched at the actual size (dispatchIndirect).
 *
 * Scratch buffers are kept in a `Scratch` (grow-only, from the pool), so a steady frame allocates nothing.
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

/** Digit width and block size of the radix sort on this device. */
export interface SortConfig {
  digitBits: 4 | 8;
  /** Keys per block of the histogram and scatter kernels. */
  blockKeys: number;
  /** Most subgroups in a 256-thread workgroup (8-bit path). */
  maxSubgroups: number;
}

/** The 8-bit path where subgroups of size ≥ 8 exist (H100: 32, lavapipe: 8), else the 4-bit path. */
export function sortConfig(gpu: Gpu, allowSubgroups = true): SortConfig {
  const minSg = gpu.info.subgroupMinSize;
  if (allowSubgroups && gpu.features.subgroups && minSg >= 8 && minSg <= 128) {
    const maxSubgroups = 256 / minSg;
    if (maxSubgroups * 512 + 2048 <= gpu.limits.maxComputeWorkgroupStorageSize) {
      return { digitBits: 8, blockKeys: 4096, maxSubgroups };
    }
  }
  return { digitBits: 4, blockKeys: 1024, maxSubgroups: 0 };
}

const WG_INDEX = /* wgsl */ `fn wgIndex(wg: vec3u, nwg: vec3u) -> u32 { return wg.y * nwg.x + wg.x; }`;

/**
 * Count record layout (u32 offsets from the record's base; 16 u32 per record):
 * 0..2 grid of the per-block kernels (blockKeys keys per workgroup), 3..5 grid of one thread per item (256 per
 * workgroup), 6 count n = min(raw, capacity), 7 blocks B = ⌈n / blockKeys⌉, 8..12 the scan sizes of the histogram
 * table (radix·B, then ⌈·/1024⌉ per level), 13 the raw count (before clamping).
 */
export const REC = { gridBlocks: 0, gridItems: 3, n: 6, blocks: 7, scan: 8, raw: 13, size: 16 } as const;

const COUNT_ARGS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> rec: array<u32>;
struct P { n: u32, useSrc: u32, srcIndex: u32, cap: u32, base: u32, blockKeys: u32, radix: u32 }
@group(1) @binding(0) var<uniform> p: P;
fn grid(g: u32, o: u32) {
  if (g <= 65535u) {
    rec[o] = g;
    rec[o + 1u] = 1u;
  } else {
    let y = (g + 65534u) / 65535u;
    rec[o] = (g + y - 1u) / y;
    rec[o + 1u] = y;
  }
  rec[o + 2u] = 1u;
}
@compute @workgroup_size(1)
fn main() {
  var raw = p.n;
  if (p.useSrc == 1u) { raw = src[p.srcIndex]; }
  let n = min(raw, p.cap);
  let blocks = (n + p.blockKeys - 1u) / p.blockKeys;
  grid(blocks, p.base + ${REC.gridBlocks}u);
  grid((n + 255u) / 256u, p.base + ${REC.gridItems}u);
  rec[p.base + ${REC.n}u] = n;
  rec[p.base + ${REC.blocks}u] = blocks;
  var t = p.radix * blocks;
  for (var l = 0u; l < 5u; l++) {
    rec[p.base + ${REC.scan}u + l] = t;
    t = (t + 1023u) / 1024u;
  }
  rec[p.base + ${REC.raw}u] = raw;
}`;

/**
 * Record the writing of a count record at u32 index `base` of `meta`: the count is `source.n` when given, else the
 * u32 at `source.index` of `source.buffer` (written on the GPU earlier); it is clamped to `cap`. (With `n`, the
 * buffer is only bound: any buffer other than `meta`.)
 */
export function recordCount(
  gpu: Gpu,
  meta: GPUBuffer,
  base: number,
  source: { buffer: GPUBuffer; index?: number; n?: number },
  cap: number,
  cfg: SortConfig,
): void {
  const stat = source.n !== undefined;
  gpu.dispatch(
    gpu.kernel('splat_count_args', COUNT_ARGS),
    [source.buffer, meta],
    1,
    new Uint32Array([source.n ?? 0, stat ? 0 : 1, source.index ?? 0, cap, base, cfg.blockKeys, 1 << cfg.digitBits]),
  );
}

/**
 * Scan of 1024-element blocks (256 threads × 4 consecutive items); writes each block's total to sums[off+block].
 * Dynamic variant: n = min(p.n, meta[p.slot]) and the block count follows from it.
 */
function scanBlocksWgsl(dyn: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> inp: array<u32>;
@group(0) @binding(1) var<storage, read_write> outp: array<u32>;
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;
${dyn ? '@group(0) @binding(3) var<storage, read> rec: array<u32>;' : ''}
struct P { n: u32, numBlocks: u32, sumOffset: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> sh: array<u32, 256>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  ${
    dyn
      ? 'let n = min(p.n, rec[p.numBlocks]);\n  let numBlocks = (n + 1023u) / 1024u;'
      : 'let n = p.n;\n  let numBlocks = p.numBlocks;'
  }
  if (block >= numBlocks) { return; }
  let base = block * 1024u + li * 4u;
  var v: array<u32, 4>;
  var s = 0u;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    var x = 0u;
    if (i < n) { x = inp[i]; }
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
  let excl = sh[li] - s;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    if (i < n) { outp[i] = excl + v[k]; }
  }
  if (li == 255u) { sums[p.sumOffset + block] = sh[255]; }
}`;
}

function addOffsetsWgsl(dyn: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> offs: array<u32>;
@group(0) @binding(1) var<storage, read_write> outp: array<u32>;
${dyn ? '@group(0) @binding(2) var<storage, read> rec: array<u32>;' : ''}
struct P { n: u32, slot: u32 }
@group(1) @binding(0) var<uniform> p: P;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = wgIndex(wg, nwg) * 256u + li;
  let n = ${dyn ? 'min(p.n, rec[p.slot])' : 'p.n'};
  if (i < n) { outp[i] += offs[i / 1024u]; }
}`;
}

const SCAN_STATIC = scanBlocksWgsl(false);
const SCAN_DYN = scanBlocksWgsl(true);
const ADD_STATIC = addOffsetsWgsl(false);
const ADD_DYN = addOffsetsWgsl(true);

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
  const scan = gpu.kernel('splat_scan_blocks', SCAN_STATIC);
  const numBlocks = Math.ceil(n / 1024);
  if (numBlocks === 1) {
    gpu.dispatch(scan, [inp, out, total], [1, 1], new Uint32Array([n, 1, totalIndex]));
    return;
  }
  const sums = scratch.get(`scan_sums${level}`, numBlocks * 4);
  const sumsScanned = scratch.get(`scan_sums_scanned${level}`, numBlocks * 4);
  gpu.dispatch(scan, [inp, out, sums], grid1d(numBlocks, 1), new Uint32Array([n, numBlocks, 0]));
  exclusiveScan(gpu, scratch, sums, sumsScanned, numBlocks, total, totalIndex, level + 1);
  gpu.dispatch(gpu.kernel('splat_add_offsets', ADD_STATIC), [sumsScanned, out], grid1d(n, 256), new Uint32Array([n]));
}

/**
 * Exclusive scan of a count held on the GPU: level L scans min(maxN_L, meta[slot + L]) items (the record's scan
 * sizes); the grids are sized for `maxN`, and workgroups past the actual size return at once.
 */
function exclusiveScanDyn(
  gpu: Gpu,
  scratch: Scratch,
  inp: GPUBuffer,
  out: GPUBuffer,
  maxN: number,
  meta: GPUBuffer,
  slot: number,
  name: string,
  level = 0,
): void {
  const scan = gpu.kernel('splat_scan_blocks', SCAN_DYN);
  const numBlocks = Math.ceil(Math.max(1, maxN) / 1024);
  if (numBlocks === 1) {
    const sink = scratch.get(`${name}_scan_total`, 16);
    gpu.dispatch(scan, [inp, out, sink, meta], [1, 1], new Uint32Array([maxN, slot, 0]));
    return;
  }
  const sums = scratch.get(`${name}_sums${level}`, numBlocks * 4);
  const sumsScanned = scratch.get(`${name}_sums_scanned${level}`, numBlocks * 4);
  gpu.dispatch(scan, [inp, out, sums, meta], grid1d(numBlocks, 1), new Uint32Array([maxN, slot, 0]));
  exclusiveScanDyn(gpu, scratch, sums, sumsScanned, numBlocks, meta, slot + 1, name, level + 1);
  gpu.dispatch(
    gpu.kernel('splat_add_offsets', ADD_DYN),
    [sumsScanned, out, meta],
    grid1d(maxN, 256),
    new Uint32Array([maxN, slot]),
  );
}

/** Per-block digit histograms, digit-major: hist[d·B + block]. */
function histWgsl(cfg: SortConfig): string {
  const R = 1 << cfg.digitBits;
  const items = cfg.blockKeys / 256;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<storage, read> rec: array<u32>;
@group(0) @binding(2) var<storage, read_write> hist: array<u32>;
struct P { nmax: u32, shift: u32, slot: u32, bits: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> cnt: array<atomic<u32>, ${R}>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  let n = min(p.nmax, rec[p.slot]);
  let B = (n + ${cfg.blockKeys - 1}u) / ${cfg.blockKeys}u;
  if (block >= B) { return; }
  if (li < ${R}u) { atomicStore(&cnt[li], 0u); }
  workgroupBarrier();
  for (var k = 0u; k < ${items}u; k++) {
    let i = block * ${cfg.blockKeys}u + k * 256u + li;
    if (i < n) { atomicAdd(&cnt[(keys[i] >> p.shift) & ${R - 1}u], 1u); }
  }
  workgroupBarrier();
  if (li < ${R}u) { hist[li * B + block] = atomicLoad(&cnt[li]); }
}`;
}

/** 4-bit stable scatter: per-thread digit counts packed two 16-bit lanes per u32, scanned across the workgroup. */
const SCATTER4 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> keysIn: array<u32>;
@group(0) @binding(1) var<storage, read> valsIn: array<u32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read> rec: array<u32>;
@group(0) @binding(4) var<storage, read_write> keysOut: array<u32>;
@group(0) @binding(5) var<storage, read_write> valsOut: array<u32>;
struct P { nmax: u32, shift: u32, slot: u32, bits: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> sa: array<vec4u, 256>;
var<workgroup> sb: array<vec4u, 256>;
${WG_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let block = wgIndex(wg, nwg);
  let n = min(p.nmax, rec[p.slot]);
  let numBlocks = (n + 1023u) / 1024u;
  if (block >= numBlocks) { return; }
  let base = block * 1024u + li * 4u;
  var key: array<u32, 4>;
  var val: array<u32, 4>;
  var dig: array<u32, 4>;
  var c: array<u32, 8>;
  for (var k = 0u; k < 4u; k++) {
    let i = base + k;
    dig[k] = 16u;
    if (i < n) {
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
      let pos = offs[d * numBlocks + block] + rank;
      keysOut[pos] = key[k];
      valsOut[pos] = val[k];
    }
  }
}`;

/**
 * 8-bit stable scatter. Subgroup w (numbered by an atomic) owns the keys [w·16·S, (w+1)·16·S) of the block (S the
 * subgroup size) and walks them in 16 steps of S consecutive keys. In a step, ballots on the digit's bits find the
 * lanes with the same digit; the lowest of them adds their number to the subgroup's counter of that digit (16-bit
 * halves of `wh`) and shuffles the old value to the others. After the walk the counters are scanned across the
 * subgroups, and each key lands at: block offset of its digit + keys of that digit in earlier subgroups + its rank
 * in its subgroup. Assumes full subgroups (a 256-thread workgroup is split into full ones on NVIDIA and lavapipe).
 */
function scatter8Wgsl(maxSubgroups: number): string {
  return /* wgsl */ `enable subgroups;
diagnostic(off, subgroup_uniformity);
@group(0) @binding(0) var<storage, read> keysIn: array<u32>;
@group(0) @binding(1) var<storage, read> valsIn: array<u32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read> rec: array<u32>;
@group(0) @binding(4) var<storage, read_write> keysOut: array<u32>;
@group(0) @binding(5) var<storage, read_write> valsOut: array<u32>;
struct P { nmax: u32, shift: u32, slot: u32, bits: u32 }
@group(1) @binding(0) var<uniform> p: P;
var<workgroup> wh: array<atomic<u32>, ${maxSubgroups * 128}>;
var<workgroup> goff: array<u32, 256>;
var<workgroup> wcount: atomic<u32>;
${WG_INDEX}
fn ltMask(l: u32) -> vec4u {
  var m = vec4u(0u);
  for (var c = 0u; c < 4u; c++) {
    let lo = c * 32u;
    if (l >= lo + 32u) { m[c] = 0xffffffffu; } else if (l > lo) { m[c] = (1u << (l - lo)) - 1u; }
  }
  return m;
}
fn popc4(v: vec4u) -> u32 { let c = countOneBits(v); return c.x + c.y + c.z + c.w; }
fn firstLane(v: vec4u) -> u32 {
  if (v.x != 0u) { return firstTrailingBit(v.x); }
  if (v.y != 0u) { return 32u + firstTrailingBit(v.y); }
  if (v.z != 0u) { return 64u + firstTrailingBit(v.z); }
  if (v.w != 0u) { return 96u + firstTrailingBit(v.w); }
  return 0u;
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32) {
  let block = wgIndex(wg, nwg);
  let n = min(p.nmax, rec[p.slot]);
  let B = (n + 4095u) / 4096u;
  if (block >= B) { return; }
  for (var i = li; i < ${maxSubgroups * 128}u; i += 256u) { atomicStore(&wh[i], 0u); }
  if (li == 0u) { atomicStore(&wcount, 0u); }
  goff[li] = offs[li * B + block];
  workgroupBarrier();
  var wv = 0u;
  if (sgi == 0u) { wv = atomicAdd(&wcount, 1u); }
  let w = subgroupMax(wv);
  let base = block * 4096u + w * 16u * sgs + sgi;
  let lt = ltMask(sgi);
  var key: array<u32, 16>;
  var val: array<u32, 16>;
  var info: array<u32, 16>;
  for (var s = 0u; s < 16u; s++) {
    let i = base + s * sgs;
    let valid = i < n;
    var d = 0u;
    if (valid) {
      key[s] = keysIn[i];
      val[s] = valsIn[i];
      d = (key[s] >> p.shift) & 255u;
    }
    var m = subgroupBallot(valid);
    for (var b = 0u; b < p.bits; b++) {
      let bit = ((d >> b) & 1u) == 1u;
      let bb = subgroupBallot(bit);
      m &= select(~bb, bb, bit);
    }
    let rank = popc4(m & lt);
    var old = 0u;
    if (valid && rank == 0u) {
      let sh = (d & 1u) * 16u;
      old = (atomicAdd(&wh[w * 128u + (d >> 1u)], popc4(m) << sh) >> sh) & 0xffffu;
    }
    let prev = subgroupShuffle(old, firstLane(m));
    info[s] = select(0xffffffffu, (d << 16u) | (prev + rank), valid);
  }
  workgroupBarrier();
  if (li < 128u) {
    var run = 0u;
    let nsg = 256u / sgs;
    for (var q = 0u; q < nsg; q++) {
      let c = atomicLoad(&wh[q * 128u + li]);
      atomicStore(&wh[q * 128u + li], run);
      run += c;
    }
  }
  workgroupBarrier();
  for (var s = 0u; s < 16u; s++) {
    let inf = info[s];
    if (inf != 0xffffffffu) {
      let d = inf >> 16u;
      let sh = (d & 1u) * 16u;
      let pos = goff[d] + ((atomicLoad(&wh[w * 128u + (d >> 1u)]) >> sh) & 0xffffu) + (inf & 0xffffu);
      keysOut[pos] = key[s];
      valsOut[pos] = val[s];
    }
  }
}`;
}

export interface SortBuffers {
  keysA: GPUBuffer;
  valsA: GPUBuffer;
  keysB: GPUBuffer;
  valsB: GPUBuffer;
}

/** A key count held on the GPU, in a count record (recordCount, written with the same SortConfig). */
export interface SortCount {
  /** Upper bound of the count: sizes the scratch buffers and the direct grids. */
  max: number;
  meta: GPUBuffer;
  /** u32 index of the record in `meta`. */
  base: number;
  /** Dispatch the per-block kernels from the record's grid (dispatchIndirect) rather than at `max`. */
  indirect: boolean;
}

/**
 * Record a stable sort of `n` pairs by the low `bits` bits of the keys (higher bits must be zero). `n` is a number
 * or a count on the GPU (SortCount). Input in keysA/valsA; returns where the sorted pairs lie (A or B), which
 * depends only on the number of passes ⌈bits / digit bits⌉.
 */
export function radixSort(
  gpu: Gpu,
  scratch: Scratch,
  b: SortBuffers,
  n: number | SortCount,
  bits: number,
  name = 'sort',
  cfg: SortConfig = sortConfig(gpu),
): { keys: GPUBuffer; vals: GPUBuffer } {
  let src = { keys: b.keysA, vals: b.valsA };
  let dst = { keys: b.keysB, vals: b.valsB };
  let count: SortCount;
  if (typeof n === 'number') {
    if (n <= 1) return src;
    const meta = scratch.get(`${name}_meta`, REC.size * 4);
    recordCount(gpu, meta, 0, { buffer: scratch.get(`${name}_meta_src`, 16), n }, n, cfg);
    count = { max: n, meta, base: 0, indirect: false };
  } else {
    count = n;
  }
  const D = cfg.digitBits;
  const R = 1 << D;
  const passes = Math.ceil(bits / D);
  const maxBlocks = Math.max(1, Math.ceil(count.max / cfg.blockKeys));
  const hist = scratch.get(`${name}_hist`, R * maxBlocks * 4);
  const histScanned = scratch.get(`${name}_hist_scanned`, R * maxBlocks * 4);
  const kh = gpu.kernel(`splat_radix_hist${D}`, histWgsl(cfg));
  const ks =
    D === 8
      ? gpu.kernel('splat_radix_scatter8', scatter8Wgsl(cfg.maxSubgroups))
      : gpu.kernel('splat_radix_scatter4', SCATTER4);
  const grid = grid1d(maxBlocks, 1);
  const meta = count.meta;
  const run = (k: typeof kh, bufs: GPUBuffer[], params: Uint32Array) => {
    if (count.indirect) gpu.dispatchIndirect(k, bufs, meta, (count.base + REC.gridBlocks) * 4, params);
    else gpu.dispatch(k, bufs, grid, params);
  };
  for (let pass = 0; pass < passes; pass++) {
    const params = new Uint32Array([count.max, pass * D, count.base + REC.n, Math.min(D, bits - pass * D)]);
    run(kh, [src.keys, meta, hist], params);
    exclusiveScanDyn(gpu, scratch, hist, histScanned, R * maxBlocks, meta, count.base + REC.scan, name);
    run(ks, [src.keys, src.vals, histScanned, meta, dst.keys, dst.vals], params);
    [src, dst] = [dst, src];
  }
  return src;
}
