/**
 * Float64 references of the elementwise and reduction ops (pure functions on Float64Array + shape). Tests compare
 * the GPU against these and check these against finite differences.
 */
export type Shape = readonly number[];
export interface Arr {
  data: Float64Array;
  shape: Shape;
}

export function size(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function broadcastShape(a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let j = 0; j < r; j++) {
    const da = a[j - (r - a.length)] ?? 1;
    const db = b[j - (r - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('shapes do not broadcast');
    out.push(Math.max(da, db));
  }
  return out;
}

/** Index into an input of `shape` for each output index of `out` (broadcast). */
export function broadcastIndex(shape: Shape, out: Shape): Int32Array {
  const n = size(out);
  const idx = new Int32Array(n);
  const st = strides(shape);
  const lead = out.length - shape.length;
  for (let i = 0; i < n; i++) {
    let r = i;
    let o = 0;
    for (let d = out.length - 1; d >= 0; d--) {
      const c = r % out[d]!;
      r = Math.floor(r / out[d]!);
      const k = d - lead;
      if (k >= 0 && shape[k] !== 1) o += c * st[k]!;
    }
    idx[i] = o;
  }
  return idx;
}

export interface BinaryFn {
  f: (a: number, b: number) => number;
  da: (a: number, b: number) => number;
  db: (a: number, b: number) => number;
}

export const BINARY: Record<'add' | 'sub' | 'mul' | 'div', BinaryFn> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1 },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1 },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b) },
};

export function binaryRef(fn: BinaryFn, a: Arr, b: Arr): Arr {
  const shape = broadcastShape(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const y = new Float64Array(size(shape));
  for (let i = 0; i < y.length; i++) y[i] = fn.f(a.data[ia[i]!]!, b.data[ib[i]!]!);
  return { data: y, shape };
}

export function binaryBackwardRef(fn: BinaryFn, a: Arr, b: Arr, gy: Float64Array): [Float64Array, Float64Array] {
  const shape = broadcastShape(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const ga = new Float64Array(a.data.length);
  const gb = new Float64Array(b.data.length);
  for (let i = 0; i < gy.length; i++) {
    const x = a.data[ia[i]!]!;
    const z = b.data[ib[i]!]!;
    ga[ia[i]!] += gy[i]! * fn.da(x, z);
    gb[ib[i]!] += gy[i]! * fn.db(x, z);
  }
  return [ga, gb];
}

export interface UnaryFn {
  f: (x: number, c: number) => number;
  d: (x: number, c: number) => number;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
export const UNARY: Record<string, UnaryFn> = {
  neg: { f: (x) => -x, d: () => -1 },
  scale: { f: (x, c) => x * c, d: (_x, c) => c },
  exp: { f: Math.exp, d: Math.exp },
  log: { f: Math.log, d: (x) => 1 / x },
  sqrt: { f: Math.sqrt, d: (x) => 0.5 / Math.sqrt(x) },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), d: (x) => -0.5 * x ** -1.5 },
  square: { f: (x) => x * x, d: (x) => 2 * x },
  sigmoid: { f: sig, d: (x) => sig(x) * (1 - sig(x)) },
  tanh: { f: Math.tanh, d: (x) => 1 - Math.tanh(x) ** 2 },
  relu: { f: (x) => Math.max(x, 0), d: (x) => (x > 0 ? 1 : 0) },
  leakyRelu: { f: (x, c) => (x > 0 ? x : c * x), d: (x, c) => (x > 0 ? 1 : c) },
  abs: { f: Math.abs, d: (x) => Math.sign(x) },
};

export function unaryRef(fn: UnaryFn, x: Float64Array, c = 0): Float64Array {
  return x.map((v) => fn.f(v, c));
}

export function unaryBackwardRef(fn: UnaryFn, x: Float64Array, gy: Float64Array, c = 0): Float64Array {
  return x.map((v, i) => gy[i]! * fn.d(v, c));
}

/** Σ over `axes` (keepdims shape returned: reduced dims of size 1). */
export function sumRef(x: Arr, axes: readonly number[], scale = 1): Arr {
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const idx = broadcastIndex(shape, x.shape);
  const y = new Float64Array(size(shape));
  for (let i = 0; i < x.data.length; i++) y[idx[i]!] += x.data[i]! * scale;
  return { data: y, shape };
}

/** Adjoint of sumRef: gy (keepdims shape) broadcast back to x's shape. */
export function sumBackwardRef(xShape: Shape, axes: readonly number[], gy: Float64Array, scale = 1): Float64Array {
  const shape = xShape.map((d, i) => (axes.includes(i) ? 1 : d));
  const idx = broadcastIndex(shape, xShape);
  return Float64Array.from(idx, (j) => gy[j]! * scale);
}
