/**
 * Batched matmul and permute/transpose. Small and batched products (the mapping MLP's EqualLinear) run on the 16×16
 * tile kernel here (or the GEMV kernel for a few rows); large unbatched ones on the tuned GEMM (matmul-tuned.ts).
 */
import { cachedKernel, dispatch1d, f, params, stridesOf } from '../kernels/util.js';
import { record } from '../tape.js';
import { gpu, sameShape, Tensor } from '../tensor.js';
import { scale } from './elementwise.js';
import { sum } from './shape.js';
import { matmulTunedRaw, usesTunedGemm } from './matmul-tuned.js';

const TILE = 16;

/**
 * Bindings and the epilogue shared by both kernels: C = alpha · (A·B) (+ bscale · bias[col] when `bias`), in that
 * order of rounding, so alpha = 1 and no bias give the plain product and the epilogue equals a separate scale + add.
 */
function header(bias: boolean, accumulate = false): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;' : ''}
struct PP { m: u32, n: u32, k: u32, sa: u32, sb: u32, alpha: f32, bscale: f32 }
@group(1) @binding(0) var<uniform> P: PP;
fn epilogue(s: f32, col: u32) -> f32 {
  let y = s * P.alpha;
  ${bias ? 'return y + bias[col] * P.bscale;' : 'return y;'}
}
fn put(i: u32, v: f32) { C[i] = ${accumulate ? 'C[i] + v' : 'v'}; }`;
}

function matmulWgsl(tA: boolean, tB: boolean, bias: boolean, acc: boolean): string {
  const aAt = tA ? `A[ab + k * P.m + r]` : `A[ab + r * P.k + k]`;
  const bAt = tB ? `B[bb + c * P.k + k]` : `B[bb + k * P.n + c]`;
  return /* wgsl */ `${header(bias, acc)}
var<workgroup> As: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wg.y * ${TILE}u + lid.y;
  let col = wg.x * ${TILE}u + lid.x;
  let ab = wg.z * P.sa;
  let bb = wg.z * P.sb;
  var s = 0.0;
  let tiles = (P.k + ${TILE - 1}u) / ${TILE}u;
  for (var t = 0u; t < tiles; t++) {
    {
      let r = row; let k = t * ${TILE}u + lid.x;
      var v = 0.0;
      if (r < P.m && k < P.k) { v = ${aAt}; }
      As[lid.y][lid.x] = v;
    }
    {
      let c = col; let k = t * ${TILE}u + lid.y;
      var v = 0.0;
      if (k < P.k && c < P.n) { v = ${bAt}; }
      Bs[lid.y][lid.x] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TILE}u; kk++) { s = fma(As[lid.y][kk], Bs[kk][lid.x], s); }
    workgroupBarrier();
  }
  if (row < P.m && col < P.n) { put(wg.z * P.m * P.n + row * P.n + col, epilogue(s, col)); }
}`;
}

/**
 * Few rows (M ≤ GEMV_ROWS: the style affines, [1, 512] · [512, C]ᵀ): 32 invocations per output split K and add
 * up in workgroup memory. The 16×16 tile kernel gives such a product N/16 workgroups of 256 invocations with one
 * useful row each, walking K in 16-wide steps with two barriers per step: ~30 µs per call on the H100, 38 calls
 * per network forward (1.2 ms); this is bandwidth-bound on the weight read instead (~1 MB, a few µs).
 */
const GEMV_ROWS = 4;

function gemvWgsl(tA: boolean, tB: boolean, bias: boolean, acc: boolean): string {
  const aAt = tA ? `A[ab + k * P.m + r]` : `A[ab + r * P.k + k]`;
  const bAt = tB ? `B[bb + c * P.k + k]` : `B[bb + k * P.n + c]`;
  return /* wgsl */ `${header(bias, acc)}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let lane = li % 32u;
  let c = wg.x * 8u + li / 32u;
  let r = wg.y;
  let ab = wg.z * P.sa;
  let bb = wg.z * P.sb;
  var s = 0.0;
  if (c < P.n) { for (var k = lane; k < P.k; k += 32u) { s = fma(${aAt}, ${bAt}, s); } }
  red[li] = s;
  workgroupBarrier();
  for (var w = 16u; w > 0u; w >>= 1u) {
    if (lane < w) { red[li] += red[li + w]; }
    workgroupBarrier();
  }
  if (lane == 0u && c < P.n) { put(wg.z * P.m * P.n + r * P.n + c, epilogue(red[li], c)); }
}`;
}

export interface MatmulOptions {
  /** Use aᵀ (a stored [.., K, M]). */
  transA?: boolean;
  /** Use bᵀ (b stored [.., N, K]). */
  transB?: boolean;
  /** Scale of the product (EqualLinear's 1/√in), applied in the kernel. Default 1. */
  alpha?: number;
  /** [N], added to every row after the scaling, itself times `biasScale` (default 1). */
  bias?: Tensor | null;
  biasScale?: number;
  /** Add the result into this tensor (of the output's shape) in place and return it; not recorded (backward use). */
  into?: Tensor | null;
}

/**
 * alpha · op(a) · op(b) [+ biasScale · bias] for rank-2 or rank-3 (batched) operands; a batch of 1 broadcasts.
 * Output [M, N] when both are rank 2, else [B, M, N]. The scale and bias cost no extra dispatch (EqualLinear is
 * one kernel forward).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const tA = opts.transA ?? false;
  const tB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const bias = opts.bias ?? null;
  const biasScale = opts.biasScale ?? 1;
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) throw new Error('matmul: operands must be rank 2 or 3');
  const [ba, ra, ca] = a.rank === 3 ? a.shape : [1, ...a.shape];
  const [bb, rb, cb] = b.rank === 3 ? b.shape : [1, ...b.shape];
  const [M, K] = tA ? [ca!, ra!] : [ra!, ca!];
  const [K2, N] = tB ? [cb!, rb!] : [rb!, cb!];
  if (K !== K2) throw new Error(`matmul: inner dimensions ${K} and ${K2} differ ([${a.shape}] · [${b.shape}])`);
  if (ba !== bb && ba !== 1 && bb !== 1) throw new Error(`matmul: batches ${ba} and ${bb} do not broadcast`);
  if (bias && bias.size !== N) throw new Error(`matmul: bias of ${bias.size} for ${N} columns`);
  const B = Math.max(ba!, bb!);
  const outShape = a.rank === 2 && b.rank === 2 ? [M, N] : [B, M, N];
  const into = opts.into ?? null;
  if (into && !sameShape(into.shape, outShape))
    throw new Error(`matmul: cannot add a [${outShape}] product into [${into.shape}]`);
  const y = into ?? Tensor.empty(outShape);
  const sA = ba === 1 ? 0 : M * K;
  const sB = bb === 1 ? 0 : K * N;
  const bufs = bias ? [a.buffer, b.buffer, y.buffer, bias.buffer] : [a.buffer, b.buffer, y.buffer];
  const pp = params(M, N, K, sA, sB, f(alpha), f(biasScale));
  const acc = into !== null;
  const tag = `${tA}:${tB}${bias ? ':bias' : ''}${acc ? ':acc' : ''}`;
  if (B === 1 && usesTunedGemm(M, N, K)) {
    matmulTunedRaw(a.buffer, b.buffer, y.buffer, bias ? bias.buffer : null, {
      m: M,
      n: N,
      k: K,
      transA: tA,
      transB: tB,
      alpha,
      biasScale,
      accumulate: acc,
    });
  } else if (M <= GEMV_ROWS) {
    const k = cachedKernel(`gemv:${tag}`, () => gemvWgsl(tA, tB, !!bias, acc));
    gpu().dispatch(k, bufs, [Math.ceil(N / 8), M, B], pp);
  } else {
    const k = cachedKernel(`matmul:${tag}`, () => matmulWgsl(tA, tB, !!bias, acc));
    gpu().dispatch(k, bufs, [Math.ceil(N / TILE), Math.ceil(M / TILE), B], pp);
  }
  if (into) return into; // a gradient sum updated in place (backward only: not recorded)
  const aShape = a.shape;
  const bShape = b.shape;
  const plain = a.rank === 2 && b.rank === 2;
  return record({
    name: 'matmul',
    inputs: bias ? [a, b, bias] : [a, b],
    output: y,
    save: [a, b],
    backward: (g, [A, Bt], needs, into) => {
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      let gbias: Tensor | null = null;
      const accA = needs[0] ? into(0) : null;
      if (accA && !tA && plain) {
        matmul(g, Bt!, { transB: !tB, alpha, into: accA }); // added into the gradient summed so far
      } else if (needs[0]) {
        ga = tA ? matmul(Bt!, g, { transA: tB, transB: true, alpha }) : matmul(g, Bt!, { transB: !tB, alpha });
        ga = reduceBatch(ga, aShape);
      }
      if (needs[1]) {
        gb = tB ? matmul(g, A!, { transA: true, transB: tA, alpha }) : matmul(A!, g, { transA: !tA, alpha });
        gb = reduceBatch(gb, bShape);
      }
      if (bias && needs[2]) {
        const rows = g.size / N;
        const g2 = Tensor.view(g, [rows, N]);
        const summed = rows === 1 ? g2 : sum(g2, 0);
        gbias = Tensor.view(biasScale === 1 ? summed : scale(summed, biasScale), bias.shape);
      }
      return bias ? [ga, gb, gbias] : [ga, gb];
    },
  });
}

/** A batched gradient [B, r, c] summed/reshaped to the operand's shape. */
function reduceBatch(g: Tensor, shape: readonly number[]): Tensor {
  if (g.rank === shape.length && g.shape[0] === shape[0]) return g;
  if (g.rank === 3 && (shape.length === 2 || shape[0] === 1)) {
    const s = g.shape[0] === 1 ? Tensor.view(g, g.shape) : sum(g, 0, true);
    return Tensor.view(s, shape);
  }
  return Tensor.view(g, shape);
}

const PERMUTE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, rank: u32, p0: u32, p1: u32, d: array<vec4<u32>, 2>, s: array<vec4<u32>, 2> }
@group(1) @binding(0) var<uniform> P: PP;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= P.n) { return; }
  var r = i;
  var o = 0u;
  for (var d = i32(P.rank) - 1; d >= 0; d--) {
    let e = u32(d);
    let n = P.d[e / 4u][e % 4u];
    o += (r % n) * P.s[e / 4u][e % 4u];
    r = r / n;
  }
  Y[i] = X[o];
}`;

/** Reorder dimensions: out.shape[d] = x.shape[perm[d]] (a copy). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of ${x.rank} dimensions`);
  }
  const st = stridesOf(x.shape);
  const outShape = perm.map((p) => x.shape[p]!);
  const src = perm.map((p) => st[p]!);
  if (x.rank > 8) throw new Error('permute: over 8 dimensions');
  const k = cachedKernel('permute', () => PERMUTE);
  const y = Tensor.empty(outShape);
  const pad = (a: number[], v: number) => [...a, ...Array<number>(8 - a.length).fill(v)];
  dispatch1d(k, [x.buffer, y.buffer], y.size, params(y.size, x.rank, 0, 0, ...pad(outShape, 1), ...pad(src, 0)));
  const inv = perm.map((_, i) => perm.indexOf(i));
  return record({ name: 'permute', inputs: [x], output: y, backward: (gy) => [permute(gy, inv)] });
}

/** Swap two dimensions (default: the last two). */
export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  const a = d0 < 0 ? d0 + x.rank : d0;
  const b = d1 < 0 ? d1 + x.rank : d1;
  const perm = [...Array(x.rank).keys()];
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}
