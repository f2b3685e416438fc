/**
 * Tensor: a GPU buffer from the pool, a shape and a dtype. Contiguous row-major always (NCHW for images).
 *
 * Memory is explicit: every tensor created inside a scope (`scope(fn)`, `beginScope()`/`end()`) is released when
 * the scope ends, except what the scope returns/keeps (those move to the enclosing scope). Tensors created outside
 * any scope, or marked `keep()` / `{ persistent: true }`, live until `dispose()`. Buffers are reference counted so
 * `reshape` views and the tape's saved activations share storage safely: the pool gets a buffer back when the last
 * holder lets go.
 */
import { getGpu, type Gpu } from '../gpu/index.js';
import { floatToHalf, halfToFloat, halvesToFloats } from '../io/half.js';

export type DType = 'f32' | 'f16' | 'i32' | 'u32';
export type Shape = readonly number[];

let engineGpu: Gpu | null = null;

/** Bind the engine to a Gpu (the process-wide one by default). Call once before creating tensors. */
export async function initEngine(gpu?: Gpu): Promise<Gpu> {
  engineGpu = gpu ?? engineGpu ?? (await getGpu());
  return engineGpu;
}

/** The engine's Gpu (throws if `initEngine` was not awaited). */
export function gpu(): Gpu {
  if (!engineGpu) throw new Error('tensor engine: call `await initEngine()` before creating tensors');
  return engineGpu;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'f16' ? 2 : 4;
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A pooled buffer shared by a tensor and its views / tape aliases. */
class Storage {
  refs = 1;
  constructor(
    public buffer: GPUBuffer | null,
    readonly bytes: number,
  ) {}
  retain(): void {
    if (this.buffer === null) throw new Error('tensor storage already released');
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0 && this.buffer) {
      gpu().pool.release(this.buffer);
      this.buffer = null;
    }
  }
}

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Not tracked by scopes: lives until dispose() (parameters, optimiser state, caches). */
  persistent?: boolean;
  label?: string;
}

let nextId = 1;
const scopes: Set<Tensor>[] = [];

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly size: number;
  readonly dtype: DType;
  requiresGrad: boolean;
  /** Accumulated gradient (leaves only); set by backward(), cleared by zeroGrad(). */
  grad: Tensor | null = null;
  /** True for tensors produced by a recorded op (not leaves of the tape). */
  hasGradFn = false;
  persistent: boolean;
  private storage: Storage | null;

  /** Low level: wrap a storage. Use the static creators. */
  private constructor(shape: Shape, dtype: DType, storage: Storage, opts: TensorOptions) {
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.dtype = dtype;
    this.storage = storage;
    this.requiresGrad = opts.requiresGrad ?? false;
    this.persistent = opts.persistent ?? false;
    if (!this.persistent && scopes.length > 0) scopes[scopes.length - 1]!.add(this);
  }

  // ---- creation ----

  /** Uninitialised contents. */
  static empty(shape: Shape, opts: TensorOptions = {}): Tensor {
    const dtype = opts.dtype ?? 'f32';
    const bytes = Math.max(4, Math.ceil((shapeSize(shape) * bytesPerElement(dtype)) / 4) * 4);
    const buf = gpu().pool.acquire(bytes, opts.label ?? 'tensor');
    return new Tensor(shape, dtype, new Storage(buf, bytes), opts);
  }

  static zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
    const t = Tensor.empty(shape, opts);
    gpu().clear(t.buffer, 0, t.storage!.bytes);
    return t;
  }

  static full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
    if (value === 0) return Tensor.zeros(shape, opts);
    return Tensor.from(new Float32Array(shapeSize(shape)).fill(value), shape, opts);
  }

  static ones(shape: Shape, opts: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 1, opts);
  }

  /** Upload data (f32 unless opts.dtype is 'i32'/'u32'; integer data may be Int32Array/Uint32Array). */
  static from(
    data: Float32Array | Float64Array | Int32Array | Uint32Array | readonly number[],
    shape?: Shape,
    opts: TensorOptions = {},
  ): Tensor {
    const dtype = opts.dtype ?? (data instanceof Int32Array ? 'i32' : data instanceof Uint32Array ? 'u32' : 'f32');
    const sh = shape ?? [data.length];
    if (shapeSize(sh) !== data.length) {
      throw new Error(`Tensor.from: ${data.length} values do not fill shape [${sh.join(', ')}]`);
    }
    if (dtype === 'f16') {
      const t = Tensor.empty(sh, opts);
      const half = new Uint16Array(Math.ceil(data.length / 2) * 2);
      for (let i = 0; i < data.length; i++) half[i] = floatToHalf(Number(data[i]));
      if (half.length > 0) gpu().upload(t.buffer, half);
      return t;
    }
    const arr =
      dtype === 'f32'
        ? data instanceof Float32Array
          ? data
          : Float32Array.from(data as ArrayLike<number>)
        : dtype === 'i32'
          ? data instanceof Int32Array
            ? data
            : Int32Array.from(data as ArrayLike<number>)
          : data instanceof Uint32Array
            ? data
            : Uint32Array.from(data as ArrayLike<number>);
    const t = Tensor.empty(sh, { ...opts, dtype });
    if (arr.length > 0) gpu().upload(t.buffer, arr);
    return t;
  }

  /** Index tensor (i32) for gather/scatter. */
  static indices(data: Int32Array | Uint32Array | readonly number[], shape?: Shape): Tensor {
    return Tensor.from(data instanceof Uint32Array ? data : Int32Array.from(data), shape, {
      dtype: data instanceof Uint32Array ? 'u32' : 'i32',
    });
  }

  /** Standard normal values from a seeded CPU generator (`rng` returns uniforms in [0, 1)). */
  static randn(shape: Shape, rng: () => number, opts: TensorOptions = {}): Tensor {
    const n = shapeSize(shape);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = Math.max(rng(), 1e-12);
      const v = rng();
      const r = Math.sqrt(-2 * Math.log(u));
      a[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) a[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return Tensor.from(a, shape, opts);
  }

  /** Uniform in [lo, hi) from a seeded CPU generator. */
  static rand(shape: Shape, rng: () => number, lo = 0, hi = 1, opts: TensorOptions = {}): Tensor {
    const a = new Float32Array(shapeSize(shape));
    for (let i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * rng();
    return Tensor.from(a, shape, opts);
  }

  // ---- access ----

  get buffer(): GPUBuffer {
    const b = this.storage?.buffer;
    if (!b) throw new Error(`tensor #${this.id} [${this.shape.join(', ')}] used after dispose()`);
    return b;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** Bytes of data (size × element size). */
  get byteLength(): number {
    return this.size * bytesPerElement(this.dtype);
  }

  /** Read back as Float32Array (f32) or Int32Array/Uint32Array (index tensors). */
  async toArray(): Promise<Float32Array> {
    if (this.size === 0) return new Float32Array(0);
    if (this.dtype === 'f16') {
      const h = new Uint16Array(await gpu().read(this.buffer, 0, Math.ceil(this.size / 2) * 4));
      return halvesToFloats(h.subarray(0, this.size));
    }
    if (this.dtype !== 'f32') throw new Error(`toArray: dtype ${this.dtype}; use toIntArray()`);
    return gpu().readF32(this.buffer, this.size);
  }

  async toIntArray(): Promise<Int32Array> {
    if (this.dtype !== 'i32' && this.dtype !== 'u32') throw new Error(`toIntArray: dtype ${this.dtype}`);
    return new Int32Array(await gpu().read(this.buffer, 0, this.size * 4));
  }

  /** Read back a single-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has ${this.size} elements`);
    return (await this.toArray())[0]!;
  }

  // ---- memory ----

  /** Release this handle's hold on the buffer (idempotent). Views and tape aliases keep it alive. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Exempt from scopes (a parameter, state): lives until dispose(). */
  keep(): this {
    this.persistent = true;
    for (const s of scopes) s.delete(this);
    return this;
  }

  /** Internal: a new handle sharing this storage (refcounted), of another shape with the same size. */
  static view(src: Tensor, shape: Shape, opts: TensorOptions = {}): Tensor {
    if (shapeSize(shape) !== src.size) {
      throw new Error(`view: shape [${shape.join(', ')}] does not match ${src.size} elements`);
    }
    const st = src.storage;
    if (!st || !st.buffer) throw new Error(`tensor #${src.id} used after dispose()`);
    st.retain();
    return new Tensor(shape, src.dtype, st, opts);
  }

  /** Internal: how many handles share this tensor's buffer. */
  get storageRefs(): number {
    return this.storage?.refs ?? 0;
  }

  toString(): string {
    return `Tensor#${this.id}[${this.shape.join('×')}]${this.dtype === 'f32' ? '' : ` ${this.dtype}`}`;
  }
}

/** Untracked alias (shared storage, not owned by any scope): what the tape saves. */
export function alias(t: Tensor): Tensor {
  return Tensor.view(t, t.shape, { persistent: true });
}

// ---- scopes ----

export type Keepable = Tensor | null | undefined | readonly Keepable[] | { readonly [k: string]: Keepable };

export class Scope {
  private ended = false;
  constructor(private readonly set: Set<Tensor>) {}

  /** Release every tensor created in this scope except `keep` (and their grads); kept ones move to the parent. */
  end(...keep: Keepable[]): void {
    if (this.ended) throw new Error('scope ended twice');
    const i = scopes.lastIndexOf(this.set);
    if (i < 0) throw new Error('scope is not open');
    if (i !== scopes.length - 1) throw new Error('scopes must end in reverse order of beginScope()');
    this.ended = true;
    scopes.pop();
    const kept = new Set<Tensor>();
    collect(keep, kept);
    const parent = scopes[scopes.length - 1];
    for (const t of this.set) {
      if (kept.has(t)) parent?.add(t);
      else if (!t.persistent) t.dispose();
    }
    this.set.clear();
  }
}

function collect(v: Keepable, out: Set<Tensor>): void {
  if (v == null) return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v as readonly Keepable[]) collect(x, out);
    return;
  }
  if (typeof v === 'object') for (const x of Object.values(v)) collect(x as Keepable, out);
}

export function beginScope(): Scope {
  const s = new Set<Tensor>();
  scopes.push(s);
  return new Scope(s);
}

/** Run `fn` (synchronous) and release every tensor it created except those in its return value. */
export function scope<T>(fn: () => T): T {
  const s = beginScope();
  let out: T;
  try {
    out = fn();
  } catch (e) {
    s.end();
    throw e;
  }
  if (out instanceof Promise) throw new Error('scope(fn): fn must be synchronous (use beginScope()/end() with await)');
  s.end(out as Keepable);
  return out;
}

/** Internal: run `fn` with scope tracking suspended (tensors it creates are untracked). */
export function untracked<T>(fn: () => T): T {
  const saved = scopes.splice(0);
  try {
    return fn();
  } finally {
    scopes.push(...saved);
  }
}

/** Number of open scopes (for tests). */
export function scopeDepth(): number {
  return scopes.length;
}

/** f16 conversion on the CPU (round to nearest even, as the GPU does). */
export { floatToHalf as f32ToF16, halfToFloat as f16ToF32 };
