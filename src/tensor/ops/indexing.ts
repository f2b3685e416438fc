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

function scatterWgsl(idxType: string, unique: boolean): string {
  const store = unique
    ? 'Y[d] = bitcast<u32>(bitcast<f32>(Y[d]) + v);'
    : `var old = atomicLoad(&Y[d]);
    loop {
      let r = atomicCompareExchangeWeak(&Y[d], old, bitcast<u32>(bitcast<f32>(old) + v));
      if (r.exchanged) { break; }
      old = r.old_value;
    }`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> I: array<${idxType}>;
@group(0) @binding(2) var<storage, read_write> Y: array<${unique ? 'u32' : 'atomic<u32>'}>;
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
  let v = X[i];
  ${store}
}`;
}

export interface IndexOptions {
  /** The indices are distinct: scatter-add needs no atomics (deterministic, faster). */
  unique?: boolean;
}

function checkIndex(idx: Tensor): string {
  if (idx.dtype !== 'i32' && idx.dtype !== 'u32') throw new Error(`index tensor of dtype ${idx.dtype} (need i32/u32)`);
  if (idx.rank !== 1) throw new Error(`index tensor must be 1-D, got [${idx.shape}]`);
  return idx.dtype;
}

/**
 * y = x.index_select(axis, idx): y.shape[axis] = idx.size. Out-of-range indices read 0. Backward scatter-adds
 * (atomics unless `unique`).
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
  const y = Tensor.zeros(shape);
  const n = outer * M * inner;
  const unique = opts.unique ?? false;
  dispatch1d(
    cachedKernel(`scatter:${it}:${unique}`, () => scatterWgsl(it, unique)),
    [v.buffer, idx.buffer, y.buffer],
    n,
    params(n, M, inner, A),
  );
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
