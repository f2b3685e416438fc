/** Float64 references: matmul, permute, FusedLeakyReLU, PixelNorm, EqualLinear, L1. Row-major arrays + shapes. */
import { strides } from './elementwise.js';

/** C [M, N] = op(A) · op(B) for one batch; A is [M, K] (or [K, M] if tA), B is [K, N] (or [N, K] if tB). */
export function matmulRef(
  A: Float64Array,
  B: Float64Array,
  M: number,
  N: number,
  K: number,
  tA = false,
  tB = false,
): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? A[k * M + i]! : A[i * K + k]!) * (tB ? B[j * K + k]! : B[k * N + j]!);
      C[i * N + j] = s;
    }
  }
  return C;
}

export function permuteRef(x: Float64Array, shape: readonly number[], perm: readonly number[]): Float64Array {
  const st = strides(shape);
  const out = perm.map((p) => shape[p]!);
  const y = new Float64Array(x.length);
  for (let i = 0; i < y.length; i++) {
    let r = i;
    let o = 0;
    for (let d = out.length - 1; d >= 0; d--) {
      o += (r % out[d]!) * st[perm[d]!]!;
      r = Math.floor(r / out[d]!);
    }
    y[i] = x[o]!;
  }
  return y;
}

/** leaky_relu(x + b[c], slope)·gain, x [N, C, inner]. */
export function fusedLeakyReluRef(
  x: Float64Array,
  b: Float64Array | null,
  C: number,
  inner: number,
  slope = 0.2,
  gain = Math.SQRT2,
): Float64Array {
  return x.map((v, i) => {
    const u = v + (b ? b[Math.floor(i / inner) % C]! : 0);
    return (u > 0 ? u : u * slope) * gain;
  });
}

export function fusedLeakyReluBackwardRef(
  x: Float64Array,
  b: Float64Array | null,
  gy: Float64Array,
  C: number,
  inner: number,
  slope = 0.2,
  gain = Math.SQRT2,
): [Float64Array, Float64Array] {
  const gx = new Float64Array(x.length);
  const gb = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % C;
    const u = x[i]! + (b ? b[c]! : 0);
    gx[i] = gy[i]! * (u > 0 ? 1 : slope) * gain;
    gb[c] += gx[i]!;
  }
  return [gx, gb];
}

/** x / sqrt(mean_c x² + eps), x [N, C, inner]. */
export function pixelNormRef(x: Float64Array, N: number, C: number, inner: number, eps = 1e-8): Float64Array {
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < inner; p++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[(n * C + c) * inner + p]! ** 2;
      const r = 1 / Math.sqrt(s / C + eps);
      for (let c = 0; c < C; c++) y[(n * C + c) * inner + p] = x[(n * C + c) * inner + p]! * r;
    }
  }
  return y;
}

/** EqualLinear: x [N, in], W [out, in], b [out]. */
export function equalLinearRef(
  x: Float64Array,
  W: Float64Array,
  b: Float64Array | null,
  N: number,
  inDim: number,
  outDim: number,
  lrMul: number,
  fusedLrelu: boolean,
): Float64Array {
  const y = matmulRef(x, W, N, outDim, inDim, false, true).map((v) => (v * lrMul) / Math.sqrt(inDim));
  const bb = b ? b.map((v) => v * lrMul) : null;
  if (fusedLrelu) return fusedLeakyReluRef(y, bb, outDim, 1);
  return bb ? y.map((v, i) => v + bb[i % outDim]!) : y;
}

export function l1Ref(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}
