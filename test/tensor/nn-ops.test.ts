import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor/index.js';
import * as G from '../../src/nn/stylegan/layers.js';
import { l1Loss } from '../../src/nn/losses.js';
import { size } from '../../src/tensor/reference/elementwise.js';
import {
  equalLinearRef,
  fusedLeakyReluBackwardRef,
  fusedLeakyReluRef,
  l1Ref,
  matmulRef,
  permuteRef,
  pixelNormRef,
} from '../../src/tensor/reference/nn.js';
import { finiteDiffCheck, numericGrad, randomAway, randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { runOp, toF64 } from '../helpers/gpu-op.js';

const TOL = 1e-4;

describe('matmul', () => {
  it('all transpose combinations, batched and broadcast, with gradients', async () => {
    const rand = seededRandom(21);
    const cases: [number, number, number, number, number][] = [
      // [batchA, batchB, M, N, K]
      [0, 0, 3, 5, 7],
      [0, 0, 17, 19, 33],
      [2, 2, 5, 3, 18],
      [1, 3, 4, 6, 5],
      [3, 0, 4, 6, 5],
      [0, 0, 1, 37, 70], // few rows: the GEMV kernel (K over several lanes' strides, N not a multiple of 8)
      [2, 0, 2, 9, 65],
    ];
    for (const [ba, bb, M, N, K] of cases) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const sa = tA ? [K, M] : [M, K];
          const sb = tB ? [N, K] : [K, N];
          const shA = ba ? [ba, ...sa] : sa;
          const shB = bb ? [bb, ...sb] : sb;
          const a = randomF32(size(shA), rand);
          const b = randomF32(size(shB), rand);
          const B = Math.max(ba, bb, 1);
          const ref = (xs: Float64Array[]) => {
            const out = new Float64Array(B * M * N);
            for (let z = 0; z < B; z++) {
              const A = xs[0]!.subarray(ba > 1 ? z * M * K : 0, (ba > 1 ? z * M * K : 0) + M * K);
              const Bm = xs[1]!.subarray(bb > 1 ? z * K * N : 0, (bb > 1 ? z * K * N : 0) + K * N);
              out.set(matmulRef(A, Bm, M, N, K, tA, tB), z * M * N);
            }
            return out;
          };
          const y = ref([toF64(a), toF64(b)]);
          const gy = randomF32(y.length, rand);
          const out = await runOp(
            (x, z) => T.matmul(x!, z!, { transA: tA, transB: tB }),
            [
              { data: a, shape: shA, grad: true },
              { data: b, shape: shB, grad: true },
            ],
            () => gy,
          );
          expect(out.shape).toEqual(ba || bb ? [B, M, N] : [M, N]);
          expect(relError(out.y, y)).toBeLessThan(TOL);
          const ga = numericGrad(ref, [a, b], gy, 0);
          const gb = numericGrad(ref, [a, b], gy, 1);
          expect(relError(out.grads[0]!, ga)).toBeLessThan(TOL);
          expect(relError(out.grads[1]!, gb)).toBeLessThan(TOL);
        }
      }
    }
  });
});

describe('matmul epilogue', () => {
  it('alpha · product + biasScale · bias, batched, with all gradients', async () => {
    const rand = seededRandom(22);
    for (const [Bn, M, N, K, alpha, bs] of [
      [2, 3, 7, 9, 0.25, 1.5],
      [3, 6, 5, 4, -1.3, 1],
    ] as const) {
      const a = randomF32(Bn * M * K, rand);
      const w = randomF32(K * N, rand);
      const bias = randomF32(N, rand);
      const ref = (xs: Float64Array[]) => {
        const out = new Float64Array(Bn * M * N);
        for (let z = 0; z < Bn; z++) {
          const y = matmulRef(xs[0]!.subarray(z * M * K, (z + 1) * M * K), xs[1]!, M, N, K, false, false);
          for (let i = 0; i < M * N; i++) out[z * M * N + i] = alpha * y[i]! + bs * xs[2]![i % N]!;
        }
        return out;
      };
      const y = ref([toF64(a), toF64(w), toF64(bias)]);
      const gy = randomF32(y.length, rand);
      const out = await runOp(
        (x, z, b) => T.matmul(x!, z!, { alpha, bias: b!, biasScale: bs }),
        [
          { data: a, shape: [Bn, M, K], grad: true },
          { data: w, shape: [K, N], grad: true },
          { data: bias, shape: [N], grad: true },
        ],
        () => gy,
      );
      expect(relError(out.y, y)).toBeLessThan(TOL);
      for (let k = 0; k < 3; k++) {
        expect(relError(out.grads[k]!, numericGrad(ref, [a, w, bias], gy, k))).toBeLessThan(TOL);
      }
    }
  });
});

describe('gradients summed in place', () => {
  it('an input shared by several products (the style): its gradient is added into by each matmul', async () => {
    const rand = seededRandom(23);
    const [M, K, N] = [1, 13, 6];
    const x = randomF32(M * K, rand);
    const ws = [0, 1, 2].map(() => randomF32(N * K, rand));
    const ref = (xs: Float64Array[]) => {
      const out = new Float64Array(M * N);
      for (let k = 1; k <= 3; k++) {
        const y = matmulRef(xs[0]!, xs[k]!, M, N, K, false, true);
        for (let i = 0; i < M * N; i++) out[i] += (k === 2 ? 0.5 : 1) * y[i]!;
      }
      return out;
    };
    const gy = randomF32(M * N, rand);
    const out = await runOp(
      (a, w1, w2, w3) =>
        T.add(
          T.add(T.matmul(a!, w1!, { transB: true }), T.matmul(a!, w2!, { transB: true, alpha: 0.5 })),
          T.matmul(a!, w3!, { transB: true }),
        ),
      [{ data: x, shape: [M, K], grad: true }, ...ws.map((w) => ({ data: w, shape: [N, K], grad: true }))],
      () => gy,
    );
    expect(relError(out.y, ref([toF64(x), ...ws.map(toF64)]))).toBeLessThan(TOL);
    for (let k = 0; k < 4; k++) {
      expect(relError(out.grads[k]!, numericGrad(ref, [x, ...ws], gy, k))).toBeLessThan(TOL);
    }
  });
});

describe('permute / transpose', () => {
  it('matches the reference, gradient is the inverse permutation', async () => {
    const rand = seededRandom(22);
    const sh = [3, 5, 7, 2];
    for (const perm of [
      [0, 2, 3, 1],
      [3, 2, 1, 0],
      [1, 0, 2, 3],
    ]) {
      const x = randomF32(size(sh), rand);
      const gy = randomF32(x.length, rand);
      const out = await runOp(
        (t) => T.permute(t!, perm),
        [{ data: x, shape: sh, grad: true }],
        () => gy,
      );
      expect(out.shape).toEqual(perm.map((p) => sh[p]));
      expect(relError(out.y, permuteRef(toF64(x), sh, perm))).toBeLessThan(1e-7);
      const g = numericGrad((xs) => permuteRef(xs[0]!, sh, perm), [x], gy, 0);
      expect(relError(out.grads[0]!, g)).toBeLessThan(TOL);
    }
    const x = randomF32(15, rand);
    const out = await runOp((t) => T.transpose(t!), [{ data: x, shape: [3, 5] }]);
    expect(relError(out.y, permuteRef(toF64(x), [3, 5], [1, 0]))).toBe(0);
  });
});

describe('StyleGAN2 blocks', () => {
  it('fusedLeakyRelu (x and bias gradients), with and without bias', async () => {
    const rand = seededRandom(23);
    for (const sh of [
      [3, 5, 7, 11],
      [2, 9],
      [1, 4, 6, 6],
      [2, 3, 70, 61], // 4,270 pixels a plane: the bias gradient sums two chunks per plane (bias-grad.ts)
    ]) {
      const C = sh[1]!;
      const inner = size(sh.slice(2));
      const x = randomAway(size(sh), rand, 0.05, 2);
      const b = randomF32(C, rand, -0.01, 0.01); // keep x + b away from 0
      const gy = randomF32(x.length, rand);
      const y = fusedLeakyReluRef(toF64(x), toF64(b), C, inner);
      const [gx, gb] = fusedLeakyReluBackwardRef(toF64(x), toF64(b), toF64(gy), C, inner);
      const f = (xs: Float64Array[]) => fusedLeakyReluRef(xs[0]!, xs[1]!, C, inner);
      expect(finiteDiffCheck(f, [x, b], gy, [gx, gb], rand)).toBeLessThan(1e-6);
      const out = await runOp(
        (t, z) => T.fusedLeakyRelu(t!, z!),
        [
          { data: x, shape: sh, grad: true },
          { data: b, shape: [C], grad: true },
        ],
        () => gy,
      );
      expect(relError(out.y, y)).toBeLessThan(TOL);
      expect(relError(out.grads[0]!, gx)).toBeLessThan(TOL);
      expect(relError(out.grads[1]!, gb)).toBeLessThan(TOL);
      const nb = await runOp(
        (t) => T.fusedLeakyRelu(t!, null),
        [{ data: x, shape: sh, grad: true }],
        () => gy,
      );
      expect(relError(nb.y, fusedLeakyReluRef(toF64(x), null, C, inner))).toBeLessThan(TOL);
      expect(relError(nb.grads[0]!, fusedLeakyReluBackwardRef(toF64(x), null, toF64(gy), C, inner)[0])).toBeLessThan(
        TOL,
      );
    }
  });

  it('noiseInjection (x and weight gradients)', async () => {
    const rand = seededRandom(24);
    const sh = [2, 3, 5, 7];
    const x = randomF32(size(sh), rand);
    const w = randomF32(1, rand);
    const noise = randomF32(35, rand);
    const gy = randomF32(x.length, rand);
    const ref = (xs: Float64Array[]) => xs[0]!.map((v, i) => v + xs[1]![0]! * xs[2]![i % 35]!);
    const out = await runOp(
      (a, b, c) => G.noiseInjection(a!, b!, c!),
      [
        { data: x, shape: sh, grad: true },
        { data: w, shape: [1], grad: true },
        { data: noise, shape: [1, 1, 5, 7] },
      ],
      () => gy,
    );
    expect(relError(out.y, ref([toF64(x), toF64(w), toF64(noise)]))).toBeLessThan(TOL);
    expect(relError(out.grads[0]!, gy)).toBeLessThan(TOL);
    expect(relError(out.grads[1]!, numericGrad(ref, [x, w, noise], gy, 1))).toBeLessThan(TOL);
    expect(out.grads[2]).toBeNull();
  });

  it('noiseBiasLeakyRelu = fusedLeakyRelu(noiseInjection) in one kernel (all gradients; shared and per-sample noise)', async () => {
    const rand = seededRandom(27);
    for (const perSample of [false, true]) {
      const sh = [2, 3, 5, 7];
      const nn = perSample ? 2 : 1;
      const x = randomF32(size(sh), rand);
      const noise = randomF32(nn * 35, rand);
      const w = randomF32(1, rand);
      const b = randomF32(3, rand);
      const gy = randomF32(x.length, rand);
      const ref = (xs: Float64Array[]) =>
        xs[0]!.map((v, i) => {
          const n = Math.floor(i / 105);
          const t = v + xs[2]![0]! * xs[1]![(perSample ? n * 35 : 0) + (i % 35)]! + xs[3]![Math.floor(i / 35) % 3]!;
          return (t > 0 ? t : 0.2 * t) * Math.SQRT2;
        });
      const out = await runOp(
        (a, n, s, c) => T.noiseBiasLeakyRelu(a!, n!, s!, c!),
        [
          { data: x, shape: sh, grad: true },
          { data: noise, shape: [nn, 1, 5, 7], grad: true },
          { data: w, shape: [1], grad: true },
          { data: b, shape: [3], grad: true },
        ],
        () => gy,
      );
      const xs = [x, noise, w, b];
      expect(relError(out.y, ref(xs.map(toF64)))).toBeLessThan(TOL);
      for (let k = 0; k < 4; k++) expect(relError(out.grads[k]!, numericGrad(ref, xs, gy, k))).toBeLessThan(TOL);
    }
  });

  it('pixelNorm over axis 1 ([N, C] and [N, C, H, W])', async () => {
    const rand = seededRandom(25);
    for (const sh of [
      [2, 13],
      [1, 512],
      [2, 5, 3, 4],
    ]) {
      const [N, C] = sh as [number, number];
      const inner = size(sh.slice(2));
      const x = randomF32(size(sh), rand);
      const gy = randomF32(x.length, rand);
      const f = (xs: Float64Array[]) => pixelNormRef(xs[0]!, N, C, inner);
      const out = await runOp(
        (t) => G.pixelNorm(t!),
        [{ data: x, shape: sh, grad: true }],
        () => gy,
      );
      expect(relError(out.y, f([toF64(x)]))).toBeLessThan(TOL);
      expect(relError(out.grads[0]!, numericGrad(f, [x], gy, 0))).toBeLessThan(TOL);
    }
  });

  it('equalLinear with lr_mul, with and without fused lrelu', async () => {
    const rand = seededRandom(26);
    for (const [N, inD, outD, lrMul, act] of [
      [1, 37, 19, 0.01, true],
      [3, 16, 8, 1, false],
      [2, 9, 5, 0.5, true],
      [1, 70, 37, 0.5, false], // the scale and bias in the GEMV kernel's epilogue, bias scale ≠ 1
      [6, 20, 11, 1, false], // … in the tiled kernel's (M > 4)
    ] as const) {
      const x = randomF32(N * inD, rand);
      const W = randomF32(outD * inD, rand, -2, 2);
      const b = randomF32(outD, rand);
      const gy = randomF32(N * outD, rand);
      const f = (xs: Float64Array[]) => equalLinearRef(xs[0]!, xs[1]!, xs[2]!, N, inD, outD, lrMul, act);
      const out = await runOp(
        (a, w, c) => G.equalLinear(a!, w!, c!, { lrMul, activation: act ? 'fused_lrelu' : null }),
        [
          { data: x, shape: [N, inD], grad: true },
          { data: W, shape: [outD, inD], grad: true },
          { data: b, shape: [outD], grad: true },
        ],
        () => gy,
      );
      expect(out.shape).toEqual([N, outD]);
      expect(relError(out.y, f([toF64(x), toF64(W), toF64(b)]))).toBeLessThan(TOL);
      for (let k = 0; k < 3; k++) {
        expect(relError(out.grads[k]!, numericGrad(f, [x, W, b], gy, k))).toBeLessThan(TOL);
      }
    }
  });
});

describe('losses', () => {
  it('l1Loss = mean |a − b|, gradients ±1/n', async () => {
    const rand = seededRandom(27);
    const sh = [1, 3, 17, 19];
    const a = randomF32(size(sh), rand);
    const b = randomF32(size(sh), rand);
    const out = await runOp(
      (x, z) => l1Loss(x!, z!),
      [
        { data: a, shape: sh, grad: true },
        { data: b, shape: sh, grad: true },
      ],
      () => new Float32Array([1]),
    );
    expect(out.shape).toEqual([]);
    expect(relError(out.y, [l1Ref(toF64(a), toF64(b))])).toBeLessThan(TOL);
    const n = a.length;
    expect(
      relError(
        out.grads[0]!,
        Array.from(a, (v, i) => Math.sign(v - b[i]!) / n),
      ),
    ).toBeLessThan(TOL);
    expect(
      relError(
        out.grads[1]!,
        Array.from(a, (v, i) => -Math.sign(v - b[i]!) / n),
      ),
    ).toBeLessThan(TOL);
  });
});
