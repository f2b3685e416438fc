/**
 * A safe Python unpickler (protocols 0-5) that builds DATA only.
 *
 * Python's pickle can call any importable function; this one never executes anything. Every GLOBAL/STACK_GLOBAL
 * is looked up in a table of allowed names ("module.qualname" -> a TypeScript factory); any other name throws,
 * naming the class. The built-in table covers plain containers and the classes that SMPL/SMPL-X model files and
 * pose files use: numpy arrays and scalars (numpy 1 and 2 module paths, in-band protocol-5 buffers), numpy dtypes,
 * scipy.sparse csc/csr matrices and arrays, chumpy `Ch` wrappers (unwrapped to their array 'x'), OrderedDict,
 * set/frozenset, bytearray and `_codecs.encode` (how Python 3 pickles bytes at protocol 2).
 *
 * Extending it (e.g. PyTorch checkpoints): pass `globals` with more factories, and `persistentLoad` for
 * PERSID/BINPERSID. A factory receives the call's positional arguments (REDUCE, NEWOBJ, INST/OBJ all call it) and
 * returns any value. If that value needs the state of a later BUILD, give it a `[SETSTATE](state)` method; if it
 * is a temporary that must be replaced in the final result (as chumpy wrappers are), give it a
 * `[RESOLVE](resolve)` method: after STOP, every such object in the result graph is replaced by what it returns
 * (`resolve(x)` gives the final form of any value it holds, e.g. arrays inside its state).
 *
 * Python values map to JS as: dict -> null-prototype object (non-string keys are stringified: 1 -> '1',
 * (1, 2) -> '(1, 2)', None -> 'None'), list and tuple -> Array, str -> string, Python 2 str (STRING/BINSTRING) ->
 * string of latin1 code units (as Python 3's `encoding='latin1'`), bytes/bytearray -> Uint8Array, int -> number
 * (bigint beyond 2^53), float -> number, None -> null, bool -> boolean, set/frozenset -> Set, numpy array ->
 * NdArray, scipy sparse -> SparseMatrix.
 */
import { FormatError } from './errors.js';
import { firstNonFinite } from './finite.js';
import { decodeElements, fortranToC, numel, parseDescr, toFloat64, toInt32, type NdArray } from './npy.js';

/** Containers nested deeper than this are refused (a crafted pickle could otherwise exhaust the call stack). */
export const MAX_PICKLE_DEPTH = 1000;
/** Integers longer than this many bytes/digits are refused (Python itself limits int text to 4300 digits). */
const MAX_INT_BYTES = 4096;
const MAX_INT_DIGITS = 4300;
/** Dict keys made of tuples are stringified; longer keys than this are refused. */
const MAX_KEY_LENGTH = 4096;

/** Method called by BUILD with the pickled state. */
export const SETSTATE = Symbol('pickle.setstate');
/** Method called after STOP to replace a temporary object by its final value. */
export const RESOLVE = Symbol('pickle.resolve');

export type PickleGlobal = (args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** Extra allowed globals, keyed "module.qualname"; they override the built-in data table. */
  globals?: Record<string, PickleGlobal>;
  /** Resolve persistent ids (PERSID/BINPERSID), e.g. torch storages. Without it such pickles are rejected. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Names the file in errors. */
  source?: string;
  /** Accept NaN/±Inf floats and float arrays (default false: a model or pose file holding them is refused). */
  allowNonFinite?: boolean;
}

export type PyDict = Record<string, unknown>;

/** A scipy.sparse matrix in compressed form (indices are 0-based, as in scipy). */
export interface SparseMatrix {
  format: 'csc' | 'csr';
  shape: [number, number];
  data: Float64Array;
  indices: Int32Array;
  indptr: Int32Array;
}

export function isNdArray(x: unknown): x is NdArray {
  return typeof x === 'object' && x !== null && 'dtype' in x && 'shape' in x && 'data' in x && !('format' in x);
}

export function isSparseMatrix(x: unknown): x is SparseMatrix {
  return typeof x === 'object' && x !== null && 'format' in x && 'indptr' in x && 'indices' in x;
}

/** Dense row-major float64 copy of a sparse matrix. */
export function sparseToDense(m: SparseMatrix): Float64Array {
  const [rows, cols] = m.shape;
  const out = new Float64Array(rows * cols);
  const major = m.format === 'csr' ? rows : cols;
  for (let a = 0; a < major; a++) {
    for (let k = m.indptr[a]!; k < m.indptr[a + 1]!; k++) {
      const b = m.indices[k]!;
      if (m.format === 'csr') out[a * cols + b] += m.data[k]!;
      else out[b * cols + a] += m.data[k]!;
    }
  }
  return out;
}

// -----------------------------------------------------------------------------------------------------------------
// The built-in data-only globals

/** A reference to an allowed global, as it sits on the stack before it is called. */
class GlobalRef {
  constructor(
    readonly name: string,
    readonly fn: PickleGlobal,
  ) {}
}

/** A numpy dtype as pickled: dtype('f8', False, True) then BUILD (3, '<', ...). */
class PyDType {
  byteorder = '=';
  constructor(readonly spec: string) {}
  [SETSTATE](state: unknown): void {
    if (Array.isArray(state) && typeof state[1] === 'string') this.byteorder = state[1];
  }
  /** The descr string as an .npy header would write it. */
  descr(): string {
    const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(this.spec);
    if (!m) throw new Error(`numpy dtype '${this.spec}' is not supported (only plain numeric, bool and string types)`);
    const kind = m[2]!;
    let size = m[3] ? Number(m[3]) : kind === 'b' ? 1 : 0;
    if (kind === 'U') size = size / 4; // pickled unicode dtypes give bytes (4 per char); descr strings give chars
    if (kind === 'O') throw new Error(`numpy object arrays (dtype 'O') are not supported`);
    const order = this.byteorder === '>' ? '>' : '<';
    return `${order}${kind}${size}`;
  }
}

function asBytes(x: unknown, what: string): Uint8Array {
  if (x instanceof Uint8Array) return x;
  if (typeof x === 'string') {
    const out = new Uint8Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x.charCodeAt(i) & 0xff; // latin1: Python 2 str, _codecs.encode
    return out;
  }
  throw new Error(`${what}: expected bytes, got ${describe(x)}`);
}

function arrayFromBytes(raw: Uint8Array, dtype: unknown, shape: number[], fortran: boolean): NdArray {
  if (!(dtype instanceof PyDType)) throw new Error(`numpy array: expected a dtype, got ${describe(dtype)}`);
  const d = parseDescr(dtype.descr(), 'pickled numpy array');
  const count = numel(shape);
  if (!(raw.length >= count * d.itemsize)) {
    throw new Error(`pickled numpy array: shape (${shape}) needs ${count * d.itemsize} bytes, got ${raw.length}`);
  }
  let data = decodeElements(raw, d, count);
  if (fortran) data = fortranToC(data, shape);
  return { dtype: d.dtype, shape, data };
}

function toShape(x: unknown): number[] {
  if (!Array.isArray(x) || x.length > 32) throw new Error(`numpy array: bad shape ${describe(x)}`);
  const shape = x.map((v) => (typeof v === 'number' || typeof v === 'bigint' ? Number(v) : NaN));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`numpy array: bad shape ${describe(x)}`);
  return shape;
}

/** numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') gives an empty array that BUILD fills. */
class PickledArray {
  value: NdArray | undefined;
  [SETSTATE](state: unknown): void {
    if (!Array.isArray(state)) throw new Error(`numpy array: bad pickled state ${describe(state)}`);
    const s = state.length === 5 ? state.slice(1) : state; // (version, shape, dtype, is_fortran, rawdata)
    const [shape, dtype, fortran, raw] = s;
    if (Array.isArray(raw)) throw new Error(`numpy object arrays (dtype 'O') are not supported`);
    this.value = arrayFromBytes(asBytes(raw, 'numpy array data'), dtype, toShape(shape), Boolean(fortran));
  }
  [RESOLVE](): unknown {
    if (!this.value) throw new Error('numpy array was never given its state (BUILD missing)');
    return this.value;
  }
}

/** scipy.sparse csc/csr: created empty (object.__new__), then BUILD sets __dict__. */
class PickledSparse {
  state: PyDict | undefined;
  constructor(readonly format: 'csc' | 'csr') {}
  [SETSTATE](state: unknown): void {
    if (typeof state !== 'object' || state === null) throw new Error(`scipy sparse: bad state ${describe(state)}`);
    this.state = state as PyDict;
  }
  [RESOLVE](resolve: (x: unknown) => unknown): SparseMatrix {
    const s = resolve(this.state) as PyDict | undefined;
    const shape = s?.['_shape'] ?? s?.['shape'];
    const need = ['data', 'indices', 'indptr'].filter((k) => !isNdArray(s?.[k]));
    if (!s || !Array.isArray(shape) || need.length) {
      throw new Error(`scipy sparse ${this.format} matrix: missing ${need.join(', ') || 'shape'} in its pickled state`);
    }
    return {
      format: this.format,
      shape: [Number(shape[0]), Number(shape[1])],
      data: toFloat64(s['data'] as NdArray),
      indices: toInt32(s['indices'] as NdArray),
      indptr: toInt32(s['indptr'] as NdArray),
    };
  }
}

/** chumpy.ch.Ch (old SMPL pkl files): the array is its state's 'x'. */
class PickledChumpy {
  state: PyDict | undefined;
  [SETSTATE](state: unknown): void {
    this.state = state as PyDict;
  }
  [RESOLVE](): unknown {
    const x = this.state?.['x'];
    if (x === undefined) throw new Error(`chumpy Ch object without an 'x' array in its state`);
    return x;
  }
}

function newDict(): PyDict {
  return Object.create(null) as PyDict;
}

function scalar(args: unknown[]): unknown {
  const [dtype, raw] = args;
  const a = arrayFromBytes(asBytes(raw, 'numpy scalar'), dtype, [], false);
  const v = a.data[0];
  return typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v) : a.dtype === 'b1' ? Boolean(v) : v;
}

function frombuffer(args: unknown[]): NdArray {
  const [buf, dtype, shape, order] = args;
  return arrayFromBytes(asBytes(buf, 'numpy buffer'), dtype, toShape(shape), order === 'F');
}

function makeSet(args: unknown[]): Set<unknown> {
  return new Set((args[0] as unknown[] | undefined) ?? []);
}

function orderedDict(args: unknown[]): PyDict {
  const d = newDict();
  for (const pair of (args[0] as unknown[][] | undefined) ?? []) d[dictKey(pair[0])] = pair[1];
  return d;
}

function encodeText(args: unknown[]): Uint8Array {
  const [text, encoding] = args;
  if (typeof text !== 'string') throw new Error(`_codecs.encode: expected a string`);
  if (encoding === undefined || /^(latin-?1|iso-8859-1)$/i.test(String(encoding))) return asBytes(text, 'bytes');
  return new TextEncoder().encode(text);
}

const reconstructArray: PickleGlobal = () => new PickledArray();
const sparse =
  (format: 'csc' | 'csr'): PickleGlobal =>
  () =>
    new PickledSparse(format);

/** The default, data-only table. */
export const DATA_GLOBALS: Readonly<Record<string, PickleGlobal>> = {
  'builtins.object': () => newDict(),
  '__builtin__.object': () => newDict(),
  'builtins.set': makeSet,
  '__builtin__.set': makeSet,
  'builtins.frozenset': makeSet,
  '__builtin__.frozenset': makeSet,
  'builtins.bytearray': (args) => (args.length ? encodeText(args) : new Uint8Array(0)),
  '__builtin__.bytearray': (args) => (args.length ? encodeText(args) : new Uint8Array(0)),
  'builtins.bytes': (args) => (args.length ? encodeText(args) : new Uint8Array(0)),
  '_codecs.encode': encodeText,
  'collections.OrderedDict': orderedDict,
  'numpy.core.multiarray._reconstruct': reconstructArray,
  'numpy._core.multiarray._reconstruct': reconstructArray,
  'numpy.ndarray': reconstructArray,
  'numpy.dtype': (args) => new PyDType(String(args[0])),
  'numpy.core.multiarray.scalar': scalar,
  'numpy._core.multiarray.scalar': scalar,
  'numpy.core.numeric._frombuffer': frombuffer,
  'numpy._core.numeric._frombuffer': frombuffer,
  'scipy.sparse.csc.csc_matrix': sparse('csc'),
  'scipy.sparse._csc.csc_matrix': sparse('csc'),
  'scipy.sparse._csc.csc_array': sparse('csc'),
  'scipy.sparse.csr.csr_matrix': sparse('csr'),
  'scipy.sparse._csr.csr_matrix': sparse('csr'),
  'scipy.sparse._csr.csr_array': sparse('csr'),
  'chumpy.ch.Ch': () => new PickledChumpy(),
};

// copy_reg._reconstructor(cls, object, None) is how protocols 0/1 create objects: it calls cls with no arguments.
const reconstructor: PickleGlobal = (args) => callGlobal(args[0], [], 'copyreg._reconstructor');
const BUILTIN_HELPERS: Record<string, PickleGlobal> = {
  'copy_reg._reconstructor': reconstructor,
  'copyreg._reconstructor': reconstructor,
};

function callGlobal(callable: unknown, args: unknown[], where: string): unknown {
  if (!(callable instanceof GlobalRef)) throw new Error(`${where}: cannot call ${describe(callable)}`);
  return callable.fn(args);
}

// -----------------------------------------------------------------------------------------------------------------
// The machine

function describe(x: unknown): string {
  if (x === null) return 'None';
  if (x instanceof GlobalRef) return `class ${x.name}`;
  if (Array.isArray(x)) return `a list/tuple of ${x.length}`;
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  return typeof x === 'object' ? `a ${(x as object).constructor?.name ?? 'dict'}` : `${typeof x} ${String(x)}`;
}

function dictKey(k: unknown): string {
  let budget = MAX_KEY_LENGTH;
  const key = (x: unknown, depth: number): string => {
    if (depth > 32 || budget < 0) throw new Error(`a dict key is nested too deeply or longer than ${MAX_KEY_LENGTH}`);
    let s: string;
    if (typeof x === 'string') s = x;
    else if (x === null) s = 'None';
    else if (typeof x === 'boolean') s = x ? 'True' : 'False';
    else if (Array.isArray(x)) s = `(${x.map((y) => key(y, depth + 1)).join(', ')}${x.length === 1 ? ',' : ''})`;
    else if (x instanceof Uint8Array) s = latin1Text(x.subarray(0, MAX_KEY_LENGTH + 1));
    else s = String(x);
    budget -= s.length;
    if (budget < 0) throw new Error(`a dict key is longer than ${MAX_KEY_LENGTH} characters`);
    return s;
  };
  return key(k, 0);
}

/** Bytes as a latin1 string, in slices (spreading a large array into String.fromCharCode overflows the stack). */
function latin1Text(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

const MARK = Symbol('mark');

/** Parse the body of a Python string literal as protocol 0 writes it (repr with quotes). */
function parseReprString(text: string): string {
  const q = text[0];
  if ((q !== "'" && q !== '"') || text[text.length - 1] !== q) throw new Error(`bad STRING literal ${text}`);
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i]!;
    const simple: Record<string, string> = {
      n: '\n',
      r: '\r',
      t: '\t',
      '\\': '\\',
      "'": "'",
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '0': '\0',
    };
    if (n === 'x') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(n) && /[0-7]/.test(body[i + 1] ?? '')) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCharCode(parseInt(m, 8));
      i += m.length - 1;
    } else if (n in simple) out += simple[n];
    else out += '\\' + n;
  }
  return out;
}

/** raw-unicode-escape (protocol 0 UNICODE): latin1 text with \uXXXX and \UXXXXXXXX escapes. */
function parseRawUnicode(bytes: Uint8Array): string {
  const s = latin1Text(bytes);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) => {
    const cp = parseInt((a ?? b)!, 16);
    if (cp > 0x10ffff) throw new Error(`bad unicode escape \\U${b}`);
    return String.fromCodePoint(cp);
  });
}

function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  if (b.length > MAX_INT_BYTES) throw new Error(`an integer of ${b.length} bytes is too large`);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

function parseIntText(text: string): number | bigint {
  const t = text.trim().replace(/L$/, '');
  if (!/^[+-]?\d+$/.test(t) || t.length > MAX_INT_DIGITS) throw new Error(`bad integer '${t.slice(0, 40)}'`);
  const v = BigInt(t);
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

function parseFloatText(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan') return NaN;
  return Number(t);
}

interface Resolvable {
  [RESOLVE](resolve: (x: unknown) => unknown): unknown;
}

/** Replace every RESOLVE-able temporary in the result graph (shared objects resolved once, cycles tolerated). */
function resolveAll(root: unknown): unknown {
  const done = new Map<object, unknown>();
  let depth = 0;
  const visit = (x: unknown): unknown => {
    if (typeof x !== 'object' || x === null) return x;
    if (done.has(x)) return done.get(x);
    if (++depth > MAX_PICKLE_DEPTH) {
      throw new Error(`containers are nested more than ${MAX_PICKLE_DEPTH} levels deep (not a data file of ours)`);
    }
    try {
      if (RESOLVE in x) {
        done.set(x, x); // guards cycles through the temporary itself
        const r = visit((x as Resolvable)[RESOLVE](visit));
        done.set(x, r);
        return r;
      }
      done.set(x, x);
      if (Array.isArray(x)) for (let i = 0; i < x.length; i++) x[i] = visit(x[i]);
      else if (x instanceof Set) {
        const items = [...x].map(visit);
        x.clear();
        for (const v of items) x.add(v);
      } else if (Object.getPrototypeOf(x) === null) {
        const d = x as PyDict;
        for (const k of Object.keys(d)) d[k] = visit(d[k]);
      }
      return x;
    } finally {
      depth--;
    }
  };
  return visit(root);
}

/** True when the bytes look like a pickle (a PROTO opcode, or a protocol 0/1 opening such as '(' or '}'). */
export function looksLikePickle(bytes: Uint8Array): boolean {
  // protocol 2+: PROTO n; protocols 0/1 open with MARK, EMPTY_DICT, EMPTY_LIST, GLOBAL
  return bytes.length > 1 && (bytes[0] === 0x80 ? bytes[1]! <= 5 : [0x28, 0x7d, 0x5d, 0x63].includes(bytes[0]!));
}

export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  return unpickleAt(bytes, 0, options).value;
}

/**
 * Unpickle the one pickle that starts at byte `start`; `end` is the byte after its STOP. Files that are several
 * pickles back to back (legacy `torch.save`) are read by calling it again at `end`.
 */
export function unpickleAt(
  bytes: Uint8Array,
  start: number,
  options: UnpickleOptions = {},
): { value: unknown; end: number } {
  const source = options.source ?? 'pickle data';
  try {
    const r = runPickle(bytes, start, options, source);
    if (!options.allowNonFinite) checkGraphFinite(r.value, source);
    return r;
  } catch (e) {
    // every problem, including those of the object factories and of malformed values, is a FormatError of the file
    if (e instanceof FormatError) throw e;
    if (e instanceof RangeError) {
      throw new FormatError(source, `the pickle is too deeply nested or too large to read (${e.message})`);
    }
    throw new FormatError(source, (e as Error)?.message ?? String(e));
  }
}

/** Refuse NaN/±Inf anywhere in an unpickled graph (floats, numpy arrays, sparse values). */
function checkGraphFinite(root: unknown, source: string): void {
  const seen = new Set<object>();
  const stack: { v: unknown; path: string }[] = [{ v: root, path: '' }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    const where = path || 'the value';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new FormatError(source, `${where} is ${v}: the file holds a non-finite number`);
      continue;
    }
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (isNdArray(v) || v instanceof Float32Array || v instanceof Float64Array) {
      const data = (isNdArray(v) ? v.data : v) as ArrayLike<number>;
      const i = firstNonFinite(data);
      if (i >= 0) throw new FormatError(source, `${where}: element ${i} is ${String(data[i])} (not finite)`);
      continue;
    }
    if (isSparseMatrix(v)) stack.push({ v: v.data, path: `${where} (sparse values)` });
    else if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]` }));
    else if (v instanceof Set) for (const x of v) stack.push({ v: x, path: `${where} (set item)` });
    else if (v instanceof Uint8Array) continue;
    else for (const [k, x] of Object.entries(v)) stack.push({ v: x, path: path ? `${path}['${k}']` : `'${k}'` });
  }
}

function runPickle(
  bytes: Uint8Array,
  start: number,
  options: UnpickleOptions,
  source: string,
): { value: unknown; end: number } {
  const table: Record<string, PickleGlobal> = { ...DATA_GLOBALS, ...BUILTIN_HELPERS, ...(options.globals ?? {}) };
  const fail = (why: string, at?: number): never => {
    throw new FormatError(source, `${why}${at === undefined ? '' : ` (at byte ${at})`}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  const stack: unknown[] = [];
  const metastack: unknown[][] = [];
  let cur = stack as unknown[];
  const memo = new Map<number, unknown>();

  const need = (n: number): void => {
    if (pos + n > bytes.length) fail('truncated pickle', pos);
  };
  const u8 = (): number => (need(1), bytes[pos++]!);
  const u16 = (): number => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = (): number => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the data`, pos - 8);
    return Number(v);
  };
  const take = (n: number): Uint8Array => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const lineBytes = (): Uint8Array => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle (unterminated text line)', pos);
    const b = bytes.subarray(pos, end);
    pos = end + 1;
    return b;
  };
  const line = (): string => {
    const s = latin1Text(lineBytes());
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  };
  const utf8 = (b: Uint8Array): string => new TextDecoder('utf-8').decode(b);
  const latin1 = latin1Text;
  const push = (v: unknown): void => void cur.push(v);
  const pop = (): unknown => {
    if (cur.length === 0) fail('stack underflow (malformed pickle)', pos - 1);
    return cur.pop();
  };
  const top = (): unknown => {
    if (cur.length === 0) fail('stack underflow (malformed pickle)', pos - 1);
    return cur[cur.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = cur;
    const prev = metastack.pop();
    if (!prev) fail('MARK expected (malformed pickle)', pos - 1);
    cur = prev!;
    return items;
  };
  const findGlobal = (module: string, name: string): GlobalRef => {
    const key = `${module}.${name}`;
    const fn = table[key];
    if (!fn) {
      fail(
        `refusing to load the Python class or function '${key}': only plain data (dicts, lists, numbers, strings, ` +
          `numpy arrays, scipy sparse matrices) can be read from a pickle; convert the file to .npz`,
      );
    }
    return new GlobalRef(key, fn!);
  };
  const setItem = (d: unknown, k: unknown, v: unknown): void => {
    if (d instanceof Map) d.set(k, v);
    else if (typeof d === 'object' && d !== null && !Array.isArray(d)) (d as PyDict)[dictKey(k)] = v;
    else fail(`SETITEM on ${describe(d)}`, pos - 1);
  };
  const appendTo = (l: unknown, items: unknown[]): void => {
    if (Array.isArray(l)) for (const v of items) l.push(v);
    else if (l instanceof Set) for (const v of items) l.add(v);
    else fail(`APPEND on ${describe(l)}`, pos - 1);
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) fail('the pickle refers to external (persistent) objects; no loader was given');
    return options.persistentLoad!(pid);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail(`unsupported pickle protocol ${bytes[pos - 1]}`, at);
        break;
      case 0x95: // FRAME: framing is only a hint for buffered readers
        u64();
        break;
      case 0x2e: // STOP
        return { value: resolveAll(pop()), end: pos };
      case 0x28: // MARK
        if (metastack.length >= MAX_PICKLE_DEPTH) fail(`more than ${MAX_PICKLE_DEPTH} nested MARKs`, at);
        metastack.push(cur);
        cur = [];
        break;
      case 0x30: // POP
        if (cur.length) cur.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      // ---- numbers
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x49: {
        // INT (protocol 0; "01"/"00" are True/False)
        const t = line();
        push(t === '01' ? true : t === '00' ? false : parseIntText(t));
        break;
      }
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4c: // LONG
        push(parseIntText(line()));
        break;
      case 0x8a: // LONG1
        push(decodeLong(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length', at);
        push(decodeLong(take(n)));
        break;
      }
      case 0x46: // FLOAT
        push(parseFloatText(line()));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      // ---- strings and bytes
      case 0x53: // STRING (Python 2 str, repr-quoted)
        push(parseReprString(line()));
        break;
      case 0x54: {
        // BINSTRING
        const n = i32();
        if (n < 0) fail('negative BINSTRING length', at);
        push(latin1(take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        push(latin1(take(u8())));
        break;
      case 0x56: // UNICODE
        push(parseRawUnicode(lineBytes()));
        break;
      case 0x58: // BINUNICODE
        push(utf8(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8(take(u64())));
        break;
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        push(take(u64()).slice());
        break;
      case 0x97: // NEXT_BUFFER
        fail('out-of-band pickle buffers (protocol 5 NEXT_BUFFER) are not supported', at);
        break;
      case 0x98: // READONLY_BUFFER
        break;
      // ---- containers
      case 0x29: // EMPTY_TUPLE
        push([]);
        break;
      case 0x74: // TUPLE
        push(popMark());
        break;
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendTo(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(newDict());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = newDict();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x8f: // EMPTY_SET
        push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        push(new Set(popMark()));
        break;
      // ---- memo
      case 0x70: // PUT
        memo.set(Number(line()), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x67 ? Number(line()) : op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} missing (malformed pickle)`, at);
        push(memo.get(k));
        break;
      }
      // ---- objects: resolved only through the allowed table
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        push(findGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        push(findGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        push(callGlobal(fn, Array.isArray(args) ? args : [], source));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        push(callGlobal(cls, Array.isArray(args) ? args : [], source));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX: keyword arguments are not passed on (no allowed class takes any)
        pop();
        const args = pop();
        const cls = pop();
        push(callGlobal(cls, Array.isArray(args) ? args : [], source));
        break;
      }
      case 0x69: {
        // INST "module\nname\n" with MARKed args
        const module = line();
        const g = findGlobal(module, line());
        push(g.fn(popMark()));
        break;
      }
      case 0x6f: {
        // OBJ: MARK cls args...
        const items = popMark();
        push(callGlobal(items[0], items.slice(1), source));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (typeof obj === 'object' && obj !== null && SETSTATE in obj) {
          (obj as { [SETSTATE](s: unknown): void })[SETSTATE](state);
        } else if (typeof obj === 'object' && obj !== null && Object.getPrototypeOf(obj) === null) {
          // default object.__setstate__: update __dict__ (state may be (dict, slots))
          const dicts = Array.isArray(state) ? state : [state];
          for (const d of dicts) if (d && typeof d === 'object') Object.assign(obj, d);
        } else {
          fail(`cannot BUILD ${describe(obj)}`, at);
        }
        break;
      }
      case 0x50: // PERSID
        push(persistent(line()));
        break;
      case 0x51: // BINPERSID
        push(persistent(pop()));
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        fail('pickle extension codes (EXT1/2/4) are not supported', at);
        break;
      default:
        fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`, at);
    }
  }
}
