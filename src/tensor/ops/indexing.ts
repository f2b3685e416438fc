/**
 * Concat / slice / split along an axis (copies), and gather / scatter-add by an index tensor along an axis
 * (torch.index_select / index_add_ into zeros). Views are [outer, axis, inner]: gathering rows of [H·W, C] is axis 0,
 * gathering pixels of a [C, H, W] map is axis 1 of its [C, H·W] view.
 */
import { cachedKernel, dispatch1d, main1d, params } from '../kernels/util.js';
import { record } from '../tape.js';
import { gpu, Tensor } from '../tensor.js';

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

function splitShape(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis]!, inner];
}

const BLOCK = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, len: u32, inner: u32, sA: u32, sOff: u32, dA: u32, dOff: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let e = i % P.inner;
  let t = i / P.inner;
  let a = t % P.len;
  let o = t / P.len;
  Y[(o * P.dA + P.dOff + a) * P.inner + e] = X[(o * P.sA + P.sOff + a) * P.inner + e];
}`;

/** Copy src[:, sOff : sOff+len, :] into dst[:, dOff : dOff+len, :] ([outer, axis, inner] views). */
function blockCopy(
  src: Tensor,
  dst: Tensor,
  outer: number,
  len: number,
  inner: number,
  sA: number,
  sOff: number,
  dA: number,
  dOff: number,
): void {
  const n = outer * len * inner;
  if (outer === 1) {
    gpu().copy(src.buffer, sOff * inner * 4, dst.buffer, dOff * inner * 4, len * inner * 4);
    return;
  }
  dispatch1d(
    cachedKernel('blockcopy', () => BLOCK),
    [src.buffer, dst.buffer],
    n,
    params(n, len, inner, sA, sOff, dA, dOff),
  );
}

/** Concatenate along `axis` (all other dimensions equal). */
export function concat(ts: readonly Tensor[], axis = 1): Tensor {
  if (ts.length === 0) throw new Error('concat: no tensors');
  const ax = normAxis(axis, ts[0]!.rank);
  for (const t of ts) {
    if (t.rank !== ts[0]!.rank || t.shape.some((d, i) => i !== ax && d !== ts[0]!.shape[i])) {
      throw new Error(`concat: shapes ${ts.map((x) => `[${x.shape}]`).join(', ')} differ off axis ${ax}`);
    }
  }
  const total = ts.reduce((s, t) => s + t.shape[ax]!, 0);
  const shape = ts[0]!.shape.map((d, i) => (i === ax ? total : d));
  const y = Tensor.empty(shape);
  const [outer, , inner] = splitShape(shape, ax);
  const offs: number[] = [];
  let off = 0;
  for (const t of ts) {
    offs.push(off);
    blockCopy(t, y, outer, t.shape[ax]!, inner, t.shape[ax]!, 0, total, off);
    off += t.shape[ax]!;
  }
  return record({
    name: 'concat',
    inputs: ts,
    output: y,
    backward: (gy, _s, needs) =>
      ts.map((t, k) => {
        if (!needs[k]) return null;
        const g = Tensor.empty(t.shape);
        blockCopy(gy, g, outer, t.shape[ax]!, inner, total, offs[k]!, t.shape[ax]!, 0);
        return g;
      }),
  });
}

/** x[..., start:end, ...] along `axis` (a copy). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normAxis(axis, x.rank);
  const A = x.shape[ax]!;
  if (start < 0 || end > A || start > end) throw new Error(`slice: [${start}, ${end}) out of 0..${A} on axis ${ax}`);
  const shape = x.shape.map((d, i) => (i === ax ? end - start : d));
  const y = Tensor.empty(shape);
  const [outer, , inner] = splitShape(x.shape, ax);
  blockCopy(x, y, outer, end - start, inner, A, start, end - start, 0);
  const xShape = x.shape;
  return record({
    name: 'slice',
    inputs: [x],
    output: y,
    backward: (gy) => {
      const g = Tensor.zeros(xShape);
      blockCopy(gy, g, outer, end - start, inner, end - start, 0, A, start);
      return [g];
    },
  });
}

/** Split along `axis` into pieces of the given sizes (or `n` equal pieces). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 1): Tensor[] {
  const ax = normAxis(axis, x.rank);
  const A = x.shape[ax]!;
  const list = typeof sizes === 'number' ? Array<number>(sizes).fill(A / sizes) : [...sizes];
  if (list.some((s) => !Number.isInteger(s)) || list.reduce((a, b) => a + b, 0) !== A) {
    throw new Error(`split: sizes [${list}] do not add up to ${A}`);
  }
  let off = 0;
  return list.map((s) => {
    const t = slice(x, ax, off, off + s);
    off += s;
    return t;
  });
}

// ---- gather / scatter ----

function gatherWgsl(idxType: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> I: array<${idxType}>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, m: u32, inner: u32, a: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let e = i % P.inner;
  let t = i / P.inner;
  let k = t % P.m;
  let o = t / P.m;
  let j = u32(I[k]);
  var v = 0.0;
  if (j < P.a) { v = X[(o * P.a + j) * P.inner + e]; }
  Y[i] = v;
}`;
}

/** Distinct indices: each output element receives at most one value, added with a plain store. */
function scatterUniqueWgsl(idxType: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> I: array<${idxType}>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, m: u32, inner: u32, a: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let e = i % P.inner;
  let t = i / P.inner;
  let k = t % P.m;
  let o = t / P.m;
  let j = u32(I[k]);
  if (j >= P.a) { return; }
  let d = (o * P.a + j) * P.inner + e;
  Y[d] = Y[d] + X[i];
}`;
}

/*
 * Scatter-add with duplicate indices, deterministically: no float atomics (whose order, and so the rounding of a
 * sum, changes from run to run; a replayed training step must equal the eager one bit for bit). The scatter is
 * turned around into a gather through the inverse index, CSR-style: Off[j]..Off[j + 1] delimit, in Perm, the
 * positions k with idx[k] = j in ascending order, and every output element sums its values in that order. The
 * inverse comes from the CPU when the indices are known there (inverseIndex: one dispatch per scatter), else it is
 * built on the GPU each time (counts with integer atomics, a one-workgroup scan, a fill whose order within a
 * segment is arbitrary, then each segment sorted by position): integer work only, so the same bits every run.
 */
const SUM_SEGMENTS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Off: array<u32>;
@group(0) @binding(2) var<storage, read> Perm: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, m: u32, inner: u32, a: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let e = i % P.inner;
  let t = i / P.inner;
  let j = t % P.a;
  let o = t / P.a;
  var s = 0.0;
  for (var q = Off[j]; q < Off[j + 1u]; q++) { s += X[(o * P.m + Perm[q]) * P.inner + e]; }
  Y[i] = s;
}`;

function countWgsl(idxType: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> I: array<${idxType}>;
@group(0) @binding(1) var<storage, read_write> Cnt: array<atomic<u32>>;
struct PP { m: u32, a: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.m')}
  let j = u32(I[i]);
  if (j < P.a) { atomicAdd(&Cnt[j], 1u); }
}`;
}

/** Off = the exclusive scan of Cnt (A + 1 entries), Cnt zeroed for the fill; one workgroup (a rare path). */
const SCAN_COUNTS = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Cnt: array<u32>;
@group(0) @binding(1) var<storage, read_write> Off: array<u32>;
struct PP { a: u32 }
@group(1) @binding(0) var<uniform> P: PP;
var<workgroup> part: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  let chunk = (P.a + 255u) / 256u;
  let lo = min(li * chunk, P.a);
  let hi = min(lo + chunk, P.a);
  var s = 0u;
  for (var j = lo; j < hi; j++) { s += Cnt[j]; }
  part[li] = s;
  workgroupBarrier();
  if (li == 0u) {
    var run = 0u;
    for (var t = 0u; t < 256u; t++) {
      let v = part[t];
      part[t] = run;
      run += v;
    }
    Off[P.a] = run;
  }
  workgroupBarrier();
  var run = part[li];
  for (var j = lo; j < hi; j++) {
    Off[j] = run;
    run += Cnt[j];
    Cnt[j] = 0u;
  }
}`;

function fillWgsl(idxType: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> I: array<${idxType}>;
@group(0) @binding(1) var<storage, read> Off: array<u32>;
@group(0) @binding(2) var<storage, read_write> Cur: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> Perm: array<u32>;
struct PP { m: u32, a: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.m')}
  let j = u32(I[i]);
  if (j < P.a) { Perm[Off[j] + atomicAdd(&Cur[j], 1u)] = i; }
}`;
}

/** Each segment of Perm in ascending order (insertion sort: segments are short where this path is used). */
const SORT_SEGMENTS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Off: array<u32>;
@group(0) @binding(1) var<storage, read_write> Perm: array<u32>;
struct PP { a: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.a')}
  let lo = Off[i];
  let hi = Off[i + 1u];
  for (var q = lo + 1u; q < hi; q++) {
    let v = Perm[q];
    var r = q;
    while (r > lo && Perm[r - 1u] > v) {
      Perm[r] = Perm[r - 1u];
      r--;
    }
    Perm[r] = v;
  }
}`;

/**
 * The inverse of an index known on the CPU, for scatter-adds with duplicates (`IndexOptions.inverse`): for each
 * target j of [0, size), the positions k with idx[k] = j in ascending order (CSR: `offsets` [size + 1], `order`
 * [idx.length]); out-of-range indices are left out, as the scatter drops them. Persistent: dispose() it.
 */
export interface InverseIndex {
  readonly size: number;
  readonly count: number;
  readonly offsets: Tensor;
  readonly order: Tensor;
  dispose(): void;
}

export function inverseIndex(idx: ArrayLike<number>, size: number): InverseIndex {
  const offsets = new Uint32Array(size + 1);
  for (let k = 0; k < idx.length; k++) {
    const j = idx[k]!;
    if (j >= 0 && j < size) offsets[j + 1]!++;
  }
  for (let j = 0; j < size; j++) offsets[j + 1]! += offsets[j]!;
  const cur = offsets.slice(0, size);
  const order = new Uint32Array(Math.max(1, offsets[size]!));
  for (let k = 0; k < idx.length; k++) {
    const j = idx[k]!;
    if (j >= 0 && j < size) order[cur[j]!++] = k;
  }
  const o = Tensor.indices(offsets).keep();
  const p = Tensor.indices(order).keep();
  return {
    size,
    count: idx.length,
    offsets: o,
    order: p,
    dispose: () => {
      o.dispose();
      p.dispose();
    },
  };
}

export interface IndexOptions {
  /** The indices are distinct: scatter-add is one plain store per value (the fastest). */
  unique?: boolean;
  /**
   * The index's inverse, built on the CPU (inverseIndex): scatter-add with duplicates in one dispatch. Without it
   * (and without `unique`) the inverse is built on the GPU at each scatter (five short dispatches).
   */
  inverse?: InverseIndex;
}

function checkIndex(idx: Tensor): string {
  if (idx.dtype !== 'i32' && idx.dtype !== 'u32') throw new Error(`index tensor of dtype ${idx.dtype} (need i32/u32)`);
  if (idx.rank !== 1) throw new Error(`index tensor must be 1-D, got [${idx.shape}]`);
  return idx.dtype;
}

/**
 * y = x.index_select(axis, idx): y.shape[axis] = idx.size. Out-of-range indices read 0. Backward scatter-adds
 * (deterministically: see IndexOptions).
 */
export function gather(x: Tensor, axis: number, idx: Tensor, opts: IndexOptions = {}): Tensor {
  const ax = normAxis(axis, x.rank);
  const it = checkIndex(idx);
  const [outer, A, inner] = splitShape(x.shape, ax);
  const M = idx.size;
  const shape = x.shape.map((d, i) => (i === ax ? M : d));
  const y = Tensor.empty(shape);
  const n = outer * M * inner;
  dispatch1d(
    cachedKernel(`gather:${it}`, () => gatherWgsl(it)),
    [x.buffer, idx.buffer, y.buffer],
    n,
    params(n, M, inner, A),
  );
  const xShape = x.shape;
  return record({
    name: 'gather',
    inputs: [x],
    output: y,
    save: [idx],
    backward: (gy, [I]) => [scatterAddRaw(gy, ax, I!, xShape, opts)],
  });
}

function scatterAddRaw(v: Tensor, ax: number, idx: Tensor, shape: readonly number[], opts: IndexOptions): Tensor {
  const it = checkIndex(idx);
  const [outer, A, inner] = splitShape(shape, ax);
  const M = idx.size;
  if (v.shape[ax] !== M) throw new Error(`scatterAdd: ${v.shape[ax]} values along axis ${ax} for ${M} indices`);
  if (opts.unique) {
    const y = Tensor.zeros(shape);
    const n = outer * M * inner;
    dispatch1d(
      cachedKernel(`scatter:${it}:true`, () => scatterUniqueWgsl(it)),
      [v.buffer, idx.buffer, y.buffer],
      n,
      params(n, M, inner, A),
    );
    return y;
  }
  const inv = opts.inverse;
  if (inv && (inv.size !== A || inv.count !== M)) {
    throw new Error(`scatterAdd: the inverse index is for ${inv.count} indices into ${inv.size}, not ${M} into ${A}`);
  }
  let off: Tensor;
  let perm: Tensor;
  const temps: Tensor[] = [];
  if (inv) {
    off = inv.offsets;
    perm = inv.order;
  } else {
    const cnt = Tensor.zeros([A], { dtype: 'u32' });
    off = Tensor.empty([A + 1], { dtype: 'u32' });
    perm = Tensor.empty([Math.max(1, M)], { dtype: 'u32' });
    temps.push(cnt, off, perm);
    dispatch1d(
      cachedKernel(`scatterCount:${it}`, () => countWgsl(it)),
      [idx.buffer, cnt.buffer],
      M,
      params(M, A),
    );
    gpu().dispatch(
      cachedKernel('scatterScan', () => SCAN_COUNTS),
      [cnt.buffer, off.buffer],
      1,
      params(A),
    );
    dispatch1d(
      cachedKernel(`scatterFill:${it}`, () => fillWgsl(it)),
      [idx.buffer, off.buffer, cnt.buffer, perm.buffer],
      M,
      params(M, A),
    );
    dispatch1d(
      cachedKernel('scatterSort', () => SORT_SEGMENTS),
      [off.buffer, perm.buffer],
      A,
      params(A),
    );
  }
  const y = Tensor.empty(shape);
  const n = outer * A * inner;
  dispatch1d(
    cachedKernel('scatterSegments', () => SUM_SEGMENTS),
    [v.buffer, off.buffer, perm.buffer, y.buffer],
    n,
    params(n, M, inner, A),
  );
  for (const t of temps) t.dispose();
  return y;
}

/**
 * A zero tensor of `shape` with `values` added at `idx` along `axis` (index_add_; duplicates sum). Backward gathers.
 * E.g. values [C, N] at mask pixels of a [C, H·W] map.
 */
export function scatterAdd(
  values: Tensor,
  axis: number,
  idx: Tensor,
  shape: readonly number[],
  opts: IndexOptions = {},
): Tensor {
  const ax = normAxis(axis, shape.length);
  if (values.rank !== shape.length || values.shape.some((d, i) => i !== ax && d !== shape[i])) {
    throw new Error(`scatterAdd: values [${values.shape}] do not match [${shape}] off axis ${ax}`);
  }
  const y = scatterAddRaw(values, ax, idx, shape, opts);
  return record({
    name: 'scatterAdd',
    inputs: [values],
    output: y,
    save: [idx],
    backward: (gy, [I]) => [gather(gy, ax, I!)],
  });
}
