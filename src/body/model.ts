/**
 * The SMPL-X body model in memory, and loading it from the official `SMPLX_NEUTRAL.npz` / `.pkl` (or from our
 * synthetic body, written in the same layout).
 *
 * File layout (V vertices, J = 55 joints, K shape components, P = 54*9 = 486 pose features):
 *   v_template (V,3)  shapedirs (V,3,K)  posedirs (V,3,P)  J_regressor (J,V) dense or scipy sparse
 *   weights (V,J)  kintree_table (2,J) (row 0 = parents)  f (F,3)  hands_meanl/r (45)  hands_componentsl/r (45,45)
 * shapedirs holds shape then expression components: with K >= 400 (SMPL-X v1.1) shape is [0,300) and expression
 * [300,400); smaller files (v1.0 and the synthetic body: K = 20) split K in half (10 shape + 10 expression).
 */
import { FormatError, InputError } from '../io/errors.js';
import { checkFinite, checkRange } from '../io/finite.js';
import { toFloat64, toInt32, type NdArray } from '../io/npy.js';
import { decodeNpz, looksLikeZip } from '../io/npz.js';
import { isNdArray, isSparseMatrix, looksLikePickle, unpickle, type PyDict, type SparseMatrix } from '../io/pickle.js';
import { NUM_JOINTS, NUM_POSE_FEATURES } from './joints.js';

export const SMPLX_DOWNLOAD_HINT =
  'The SMPL-X model is obtained from https://smpl-x.is.tue.mpg.de (free registration; download "SMPL-X v1.1" and use ' +
  'SMPLX_NEUTRAL.npz or .pkl), or run `animgs body synth --out FILE` for a synthetic stand-in.';

/** Rows of a sparse matrix (CSR), used for the joint regressor (J x V, ~20 nonzeros per row in SMPL-X). */
export interface SparseRows {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

export interface SmplxModel {
  /** Where it came from (file path), for messages. */
  source: string;
  numVertices: number;
  numJoints: number;
  parents: Int32Array;
  /** (V*3) rest vertices. */
  vTemplate: Float64Array;
  numBetas: number;
  /** (V*3, numBetas) row-major. */
  shapedirs: Float64Array;
  numExpression: number;
  /** (V*3, numExpression) row-major. */
  exprdirs: Float64Array;
  /** (V*3, P) row-major, as in the file: row i holds coordinate i's response to the P = 486 pose features. */
  posedirs: Float64Array;
  jRegressor: SparseRows;
  /** (V, J) row-major skinning weights. */
  weights: Float64Array;
  /** (F*3) triangle vertex indices. */
  faces: Uint32Array;
  /** 45-D hand pose means (used only with flat_hand_mean = false). */
  handsMeanLeft?: Float64Array;
  handsMeanRight?: Float64Array;
  /** J_regressor applied to v_template / shapedirs / exprdirs: joints of any shape without touching vertices. */
  jTemplate: Float64Array;
  jShapedirs: Float64Array;
  jExprdirs: Float64Array;
}

export interface LoadOptions {
  /** Shape coefficients to use (the reference: 10). Clamped to what the file holds. */
  numBetas?: number;
  /** Expression coefficients to use (the reference: 10). Clamped to what the file holds. */
  numExpression?: number;
}

type ModelValue = NdArray | SparseMatrix;

function denseToRows(d: Float64Array, rows: number, cols: number): SparseRows {
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = d[r * cols + c]!;
      if (v !== 0) {
        indices.push(c);
        values.push(v);
      }
    }
    indptr[r + 1] = indices.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(indices), values: Float64Array.from(values) };
}

/** Check a pickled scipy sparse matrix's structure (indptr monotonic, indices in range, values finite). */
function checkSparse(m: SparseMatrix, source: string, key: string): void {
  const [rows, cols] = m.shape;
  const major = m.format === 'csr' ? rows : cols;
  const minor = m.format === 'csr' ? cols : rows;
  const bad = (why: string): never => {
    throw new FormatError(source, `'${key}' (a scipy sparse ${m.format} matrix) ${why}`);
  };
  if (!(Number.isSafeInteger(rows) && Number.isSafeInteger(cols) && rows >= 0 && cols >= 0)) bad('has a bad shape');
  if (m.indptr.length !== major + 1 || m.indptr[0] !== 0)
    bad(`has ${m.indptr.length} index pointers for ${major} lines`);
  for (let i = 0; i < major; i++) if (m.indptr[i + 1]! < m.indptr[i]!) bad('has decreasing index pointers');
  const nnz = m.indptr[major]!;
  if (nnz > m.indices.length || nnz > m.data.length) bad(`claims ${nnz} entries but stores ${m.indices.length}`);
  for (let k = 0; k < nnz; k++) if (!(m.indices[k]! >= 0 && m.indices[k]! < minor)) bad(`has an index out of range`);
  checkFinite(m.data.subarray(0, nnz), source, key);
}

function sparseToRows(m: SparseMatrix): SparseRows {
  const [rows, cols] = m.shape;
  if (m.format === 'csr') return { rows, cols, indptr: m.indptr, indices: m.indices, values: m.data };
  // csc -> csr by counting entries per row
  const indptr = new Int32Array(rows + 1);
  for (let k = 0; k < m.indices.length; k++) indptr[m.indices[k]! + 1]++;
  for (let r = 0; r < rows; r++) indptr[r + 1] += indptr[r]!;
  const fill = indptr.slice(0, rows);
  const indices = new Int32Array(m.indices.length);
  const values = new Float64Array(m.indices.length);
  for (let c = 0; c < cols; c++) {
    for (let k = m.indptr[c]!; k < m.indptr[c + 1]!; k++) {
      const r = m.indices[k]!;
      const at = fill[r]!++;
      indices[at] = c;
      values[at] = m.data[k]!;
    }
  }
  return { rows, cols, indptr, indices, values };
}

/** Regress J x 3 joints from a (V*3, K) column set: out[(j*3+c)*K + k]. K = 1 for plain vertices. */
function regress(reg: SparseRows, field: Float64Array, K: number): Float64Array {
  const out = new Float64Array(reg.rows * 3 * K);
  for (let j = 0; j < reg.rows; j++) {
    for (let e = reg.indptr[j]!; e < reg.indptr[j + 1]!; e++) {
      const v = reg.indices[e]!;
      const w = reg.values[e]!;
      for (let c = 0; c < 3; c++) {
        const src = (v * 3 + c) * K;
        const dst = (j * 3 + c) * K;
        for (let k = 0; k < K; k++) out[dst + k] += w * field[src + k]!;
      }
    }
  }
  return out;
}

/** Build the model from named arrays (an npz or an unpickled dict). Errors name `source` and the bad key. */
export function smplxModelFromArrays(
  get: (key: string) => ModelValue | undefined,
  source: string,
  options: LoadOptions = {},
): SmplxModel {
  const bad = (why: string): never => {
    throw new FormatError(source, `not a usable SMPL-X model file: ${why}. ${SMPLX_DOWNLOAD_HINT}`);
  };
  const numeric = (key: string, a: NdArray): void => {
    if (a.dtype === 'U' || a.dtype === 'S') bad(`'${key}' holds strings, not numbers`);
  };
  const dense = (key: string, shape: (number | null)[]): { a: NdArray; data: Float64Array } => {
    const a = get(key);
    if (a === undefined) return bad(`missing '${key}'`);
    if (!isNdArray(a)) return bad(`'${key}' is not an array`);
    if (a.shape.length !== shape.length || shape.some((s, i) => s !== null && s !== a.shape[i])) {
      bad(`'${key}' has shape (${a.shape}), expected (${shape.map((s) => s ?? '*')})`);
    }
    numeric(key, a);
    // no copy for float64 data: the SMPL-X posedirs alone are 120 MB
    const data = a.data instanceof Float64Array ? a.data : toFloat64(a);
    checkFinite(data, source, key, a.shape); // npz members are checked on read; pickled arrays are checked here
    // body models are in metres with unit-scale blend directions: anything beyond ±100 is corruption
    if (key !== 'f') checkRange(data, source, key, 100, '', a.shape);
    return { a, data };
  };
  const vt = dense('v_template', [null, 3]);
  const V = vt.a.shape[0]!;
  if (V === 0) bad(`'v_template' has no vertices`);
  const kin = get('kintree_table');
  if (!kin || !isNdArray(kin) || kin.shape.length !== 2 || kin.shape[0] !== 2) bad(`'kintree_table' must be (2, J)`);
  numeric('kintree_table', kin as NdArray);
  const J = (kin as NdArray).shape[1]!;
  if (J !== NUM_JOINTS)
    bad(`kintree_table has ${J} joints; SMPL-X has ${NUM_JOINTS} (is this an SMPL or SMPL-H file?)`);
  const parents = toInt32(kin as NdArray).slice(0, J);
  parents[0] = -1; // stored as -1 or as unsigned all-ones
  for (let j = 1; j < J; j++)
    if (parents[j]! < 0 || parents[j]! >= j) bad(`kintree_table parent of joint ${j} is ${parents[j]}`);

  const sd = dense('shapedirs', [V, 3, null]);
  const K = sd.a.shape[2]!;
  const exprStart = K >= 400 ? 300 : Math.floor(K / 2);
  const numBetas = Math.min(options.numBetas ?? 10, exprStart);
  const numExpression = Math.min(options.numExpression ?? 10, K - exprStart);
  const shapedirs = new Float64Array(V * 3 * numBetas);
  const exprdirs = new Float64Array(V * 3 * numExpression);
  for (let i = 0; i < V * 3; i++) {
    for (let k = 0; k < numBetas; k++) shapedirs[i * numBetas + k] = sd.data[i * K + k]!;
    for (let k = 0; k < numExpression; k++) exprdirs[i * numExpression + k] = sd.data[i * K + exprStart + k]!;
  }

  const posedirs = dense('posedirs', [V, 3, NUM_POSE_FEATURES]).data;

  const jr = get('J_regressor');
  if (jr === undefined) bad(`missing 'J_regressor'`);
  let jRegressor: SparseRows;
  if (isSparseMatrix(jr)) {
    checkSparse(jr, source, 'J_regressor');
    checkRange(jr.data, source, 'J_regressor', 100);
    jRegressor = sparseToRows(jr);
  } else jRegressor = denseToRows(dense('J_regressor', [J, V]).data, J, V);
  if (jRegressor.rows !== J || jRegressor.cols !== V)
    bad(`'J_regressor' is ${jRegressor.rows}x${jRegressor.cols}, expected ${J}x${V}`);

  const weights = dense('weights', [V, J]).data;
  for (let v = 0; v < V; v++) {
    let sum = 0;
    for (let j = 0; j < J; j++) {
      const w = weights[v * J + j]!;
      if (w < -1e-3 || w > 1 + 1e-3) bad(`skinning weight [${v}, ${j}] is ${w}, outside [0, 1]`);
      sum += w;
    }
    if (Math.abs(sum - 1) > 0.02) bad(`the skinning weights of vertex ${v} sum to ${sum}; SMPL-X rows sum to 1`);
  }
  const f = get('f');
  if (!f || !isNdArray(f) || f.shape.length !== 2 || f.shape[1] !== 3) bad(`'f' (faces) must be (F, 3)`);
  numeric('f', f as NdArray);
  if ((f as NdArray).shape[0] === 0) bad(`'f' has no faces`);
  const faces = Uint32Array.from(toInt32(f as NdArray));
  for (let i = 0; i < faces.length; i++)
    if (faces[i]! >= V) bad(`face index ${faces[i]} is out of range (${V} vertices)`);

  const mean = (key: string): Float64Array | undefined => {
    const a = get(key);
    if (!a || !isNdArray(a) || a.data.length !== 45 || a.dtype === 'U' || a.dtype === 'S') return undefined;
    const v = toFloat64(a);
    checkFinite(v, source, key);
    return v;
  };
  const model: SmplxModel = {
    source,
    numVertices: V,
    numJoints: J,
    parents,
    vTemplate: vt.data,
    numBetas,
    shapedirs,
    numExpression,
    exprdirs,
    posedirs,
    jRegressor,
    weights,
    faces,
    jTemplate: regress(jRegressor, vt.data, 1),
    jShapedirs: regress(jRegressor, shapedirs, numBetas),
    jExprdirs: regress(jRegressor, exprdirs, numExpression),
  };
  const ml = mean('hands_meanl');
  const mr = mean('hands_meanr');
  if (ml) model.handsMeanLeft = ml;
  if (mr) model.handsMeanRight = mr;
  return model;
}

/** Parse model bytes (npz or pkl, told apart by their first bytes, not the file name). */
export function decodeSmplxModel(bytes: Uint8Array, source: string, options: LoadOptions = {}): SmplxModel {
  if (looksLikeZip(bytes)) {
    const z = decodeNpz(bytes, source);
    return smplxModelFromArrays((k) => z.opt(k), source, options);
  }
  if (looksLikePickle(bytes)) {
    const d = unpickle(bytes, { source });
    if (typeof d !== 'object' || d === null || Array.isArray(d)) {
      throw new FormatError(source, `not a usable SMPL-X model file: the pickle holds no dict. ${SMPLX_DOWNLOAD_HINT}`);
    }
    return smplxModelFromArrays((k) => (d as PyDict)[k] as ModelValue | undefined, source, options);
  }
  throw new FormatError(source, `not an SMPL-X model file (neither .npz nor .pkl content). ${SMPLX_DOWNLOAD_HINT}`);
}
