import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor/index.js';
import { matmulTunedRaw, usesTunedGemm } from '../../src/tensor/ops/matmul-tuned.js';
import { matmulRef } from '../../src/tensor/reference/nn.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { runOp, toF64 } from '../helpers/gpu-op.js';

const TOL = 1e-5;

/** op(X) as a row-major [r, c] float64 matrix, X stored [r, c] or (transposed) [c, r]. */
function op(x: Float64Array, r: number, c: number, t: boolean): Float64Array {
  if (!t) return x;
  const o = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) o[i * c + j] = x[j * r + i]!;
  return o;
}
/** The transpose of a row-major [r, c] matrix. */
const tr = (x: Float64Array, r: number, c: number) => op(x, c, r, true);

describe('matmul on the tuned GEMM (large products)', () => {
  it('takes products of at least 64 rows and columns and 16 deep', () => {
    expect(usesTunedGemm(64, 64, 16)).toBe(true);
    expect(usesTunedGemm(63, 512, 512)).toBe(false);
    expect(usesTunedGemm(82_000, 3, 256)).toBe(false);
    expect(usesTunedGemm(512, 512, 1)).toBe(false);
    // deep: a narrow weight gradient over the points, its 64×64 tiles at least a quarter used
    expect(usesTunedGemm(512, 39, 81_920)).toBe(true);
    expect(usesTunedGemm(512, 39, 4095)).toBe(false);
    expect(usesTunedGemm(3, 256, 65_536)).toBe(false);
    expect(usesTunedGemm(1, 20, 3_000_000)).toBe(false);
  });

  it('a deep product with a narrow side (split in K), and its gradients, against float64', async () => {
    const rand = seededRandom(33);
    // the first SDF layer's weight gradient in small: gᵀ · x, [M, K]ᵀ · [K, N] with N = 17 and K deep
    const [M, N, K] = [125, 17, 4100];
    expect(usesTunedGemm(M, N, K)).toBe(true);
    const a = randomF32(K * M, rand);
    const b = randomF32(K * N, rand);
    const A = tr(toF64(a), K, M);
    const B = toF64(b);
    const gy = randomF32(M * N, rand);
    const out = await runOp(
      (x, w) => T.matmul(x!, w!, { transA: true }),
      [
        { data: a, shape: [K, M], grad: true },
        { data: b, shape: [K, N], grad: true },
      ],
      () => gy,
    );
    expect(relError(out.y, matmulRef(A, B, M, N, K, false, false))).toBeLessThan(TOL);
    const G = toF64(gy);
    // dA (stored [K, M]) = B · Gᵀ, dB = A · G
    expect(relError(out.grads[0]!, matmulRef(B, tr(G, M, N), K, M, N, false, false))).toBeLessThan(TOL);
    expect(relError(out.grads[1]!, matmulRef(tr(A, M, K), G, K, N, M, false, false))).toBeLessThan(TOL);
  });

  it('forward and gradients, the transposes, with alpha and a bias, against float64', async () => {
    const rand = seededRandom(31);
    // gradients: ga = [131, 70] (tuned), gb = [67, 70] with K = 131 over one tile (tuned, split in K)
    const [M, N, K] = [131, 67, 70];
    const [alpha, bs] = [0.7, -1.3];
    // the MLP's layout (x · Wᵀ) and its opposite; their gradients' products take the other two layouts
    for (const [tA, tB] of [
      [false, true],
      [true, false],
    ] as const) {
      const a = randomF32(M * K, rand);
      const b = randomF32(K * N, rand);
      const bias = randomF32(N, rand);
      const A = op(toF64(a), M, K, tA);
      const B = op(toF64(b), K, N, tB);
      const y = matmulRef(A, B, M, N, K, false, false).map((v, i) => alpha * v + bs * bias[i % N]!);
      const gy = randomF32(M * N, rand);
      const G = toF64(gy);
      const out = await runOp(
        (x, w, c) => T.matmul(x!, w!, { transA: tA, transB: tB, alpha, bias: c!, biasScale: bs }),
        [
          { data: a, shape: tA ? [K, M] : [M, K], grad: true },
          { data: b, shape: tB ? [N, K] : [K, N], grad: true },
          { data: bias, shape: [N], grad: true },
        ],
        () => gy,
      );
      expect(relError(out.y, y)).toBeLessThan(TOL);
      // dA = alpha·G·Bᵀ ([M, K]), dB = alpha·Aᵀ·G ([K, N]), each stored as its operand is
      const dA = matmulRef(G, tr(B, K, N), M, K, N, false, false).map((v) => alpha * v);
      const dB = matmulRef(tr(A, M, K), G, K, N, M, false, false).map((v) => alpha * v);
      const dBias = new Float64Array(N);
      for (let i = 0; i < M * N; i++) dBias[i % N] += bs * G[i]!;
      expect(relError(out.grads[0]!, tA ? tr(dA, M, K) : dA)).toBeLessThan(TOL);
      expect(relError(out.grads[1]!, tB ? tr(dB, K, N) : dB)).toBeLessThan(TOL);
      expect(relError(out.grads[2]!, dBias)).toBeLessThan(TOL);
    }
  });

  it('adds into C, split in K (4 splits by default here) or not, with the bias counted once', async () => {
    await T.initEngine();
    const rand = seededRandom(32);
    const [M, N, K] = [70, 129, 203];
    const a = randomF32(M * K, rand);
    const b = randomF32(N * K, rand);
    const bias = randomF32(N, rand);
    const c0 = randomF32(M * N, rand);
    const prod = matmulRef(toF64(a), toF64(b), M, N, K, false, true);
    const want = prod.map((v, i) => c0[i]! + 0.5 * v + 2 * bias[i % N]!);
    for (const splits of [undefined, 1]) {
      const [ta, tb, tc, tbias] = [a, b, c0, bias].map((x) => T.Tensor.from(x, [x.length]));
      matmulTunedRaw(ta!.buffer, tb!.buffer, tc!.buffer, tbias!.buffer, {
        m: M,
        n: N,
        k: K,
        transA: false,
        transB: true,
        alpha: 0.5,
        biasScale: 2,
        accumulate: true,
        ...(splits ? { splits } : {}),
      });
      expect(relError(await tc!.toArray(), want)).toBeLessThan(TOL);
      [ta, tb, tc, tbias].forEach((t) => t!.dispose());
    }
    // the tensor op's `into`: the product added to a gradient summed so far
    const x = T.Tensor.from(a, [M, K]);
    const w = T.Tensor.from(b, [N, K]);
    const into = T.Tensor.from(c0, [M, N]);
    T.matmul(x, w, { transB: true, into });
    expect(
      relError(
        await into.toArray(),
        prod.map((v, i) => v + c0[i]!),
      ),
    ).toBeLessThan(TOL);
    [x, w, into].forEach((t) => t.dispose());
  });
});
