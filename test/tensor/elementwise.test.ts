import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor/index.js';
import {
  BINARY,
  binaryBackwardRef,
  binaryRef,
  size,
  sumBackwardRef,
  sumRef,
  UNARY,
  unaryBackwardRef,
  unaryRef,
} from '../../src/tensor/reference/elementwise.js';
import { finiteDiffCheck, randomAway, randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { runOp, toF64 } from '../helpers/gpu-op.js';

const TOL = 1e-4;
const FD_TOL = 1e-6;

const CASES: [number[], number[]][] = [
  [
    [3, 5, 7, 11],
    [3, 5, 7, 11],
  ],
  [
    [3, 5, 7, 11],
    [1, 5, 1, 1],
  ], // per-channel
  [[3, 5, 7, 11], [11]], // trailing
  [[2, 5, 7, 3], []], // scalar tensor
  [
    [5, 1, 3],
    [4, 1],
  ], // both broadcast
  [
    [1, 1, 7, 9],
    [2, 3, 1, 1],
  ],
];

describe('binary ops with broadcasting', () => {
  for (const name of ['add', 'sub', 'mul', 'div'] as const) {
    it(name, async () => {
      const rand = seededRandom(name.length * 7);
      for (const [sa, sb] of CASES) {
        const a = randomF32(size(sa), rand);
        const b = name === 'div' ? randomAway(size(sb), rand, 0.5, 1.5) : randomF32(size(sb), rand);
        const fn = BINARY[name];
        const A = { data: toF64(a), shape: sa };
        const B = { data: toF64(b), shape: sb };
        const ref = binaryRef(fn, A, B);
        const gy = randomF32(ref.data.length, rand);
        const [ga, gb] = binaryBackwardRef(fn, A, B, toF64(gy));
        const fd = finiteDiffCheck(
          (xs) => binaryRef(fn, { data: xs[0]!, shape: sa }, { data: xs[1]!, shape: sb }).data,
          [a, b],
          gy,
          [ga, gb],
          rand,
        );
        expect(fd).toBeLessThan(FD_TOL);
        const out = await runOp(
          (x, z) => T[name](x!, z!),
          [
            { data: a, shape: sa, grad: true },
            { data: b, shape: sb, grad: true },
          ],
          () => gy,
        );
        expect(out.shape).toEqual(ref.shape);
        expect(relError(out.y, ref.data)).toBeLessThan(TOL);
        expect(relError(out.grads[0]!, ga)).toBeLessThan(TOL);
        expect(relError(out.grads[1]!, gb)).toBeLessThan(TOL);
      }
    });
  }

  it('scalar operands and biasAdd', async () => {
    const rand = seededRandom(5);
    const sh = [2, 3, 5, 7];
    const x = randomAway(size(sh), rand, 0.3, 1);
    const gy = randomF32(x.length, rand);
    const cases: [(t: T.Tensor) => T.Tensor, (v: number) => number, (v: number) => number][] = [
      [(t) => T.add(t, 1.5), (v) => v + 1.5, () => 1],
      [(t) => T.sub(2, t), (v) => 2 - v, () => -1],
      [(t) => T.sub(t, 2), (v) => v - 2, () => 1],
      [(t) => T.mul(0.5, t), (v) => 0.5 * v, () => 0.5],
      [(t) => T.div(t, 4), (v) => v / 4, () => 0.25],
      [(t) => T.div(3, t), (v) => 3 / v, (v) => -3 / (v * v)],
      [(t) => T.neg(t), (v) => -v, () => -1],
      [(t) => T.scale(t, -3), (v) => -3 * v, () => -3],
    ];
    for (const [op, f, d] of cases) {
      const out = await runOp(
        (t) => op(t!),
        [{ data: x, shape: sh, grad: true }],
        () => gy,
      );
      expect(relError(out.y, Array.from(x, f))).toBeLessThan(TOL);
      expect(
        relError(
          out.grads[0]!,
          Array.from(x, (v, i) => d(v) * gy[i]!),
        ),
      ).toBeLessThan(TOL);
    }
    const b = randomF32(3, rand);
    const out = await runOp(
      (t, z) => T.biasAdd(t!, z!),
      [
        { data: x, shape: sh, grad: true },
        { data: b, shape: [3], grad: true },
      ],
      () => gy,
    );
    const ref = binaryRef(BINARY.add, { data: toF64(x), shape: sh }, { data: toF64(b), shape: [1, 3, 1, 1] });
    expect(relError(out.y, ref.data)).toBeLessThan(TOL);
    const [, gb] = binaryBackwardRef(
      BINARY.add,
      { data: toF64(x), shape: sh },
      { data: toF64(b), shape: [1, 3, 1, 1] },
      toF64(gy),
    );
    expect(relError(out.grads[1]!, gb)).toBeLessThan(TOL);
  });
});

describe('unary ops', () => {
  const ops: [string, (t: T.Tensor) => T.Tensor, number, 'pos' | 'away'][] = [
    ['exp', T.exp, 0, 'away'],
    ['log', T.log, 0, 'pos'],
    ['sqrt', T.sqrt, 0, 'pos'],
    ['rsqrt', T.rsqrt, 0, 'pos'],
    ['square', T.square, 0, 'away'],
    ['sigmoid', T.sigmoid, 0, 'away'],
    ['tanh', T.tanh, 0, 'away'],
    ['relu', T.relu, 0, 'away'],
    ['leakyRelu', (t) => T.leakyRelu(t, 0.2), 0.2, 'away'],
    ['abs', T.abs, 0, 'away'],
  ];
  for (const [name, op, c, dom] of ops) {
    it(name, async () => {
      const rand = seededRandom(name.length);
      for (const sh of [
        [3, 5, 7, 11],
        [2, 3, 4, 4],
      ]) {
        const n = size(sh);
        const x = dom === 'pos' ? randomF32(n, rand, 0.2, 2) : randomAway(n, rand, 0.05, 2);
        const gy = randomF32(n, rand);
        const fn = UNARY[name]!;
        const ref = unaryRef(fn, toF64(x), c);
        const gref = unaryBackwardRef(fn, toF64(x), toF64(gy), c);
        expect(finiteDiffCheck((xs) => unaryRef(fn, xs[0]!, c), [x], gy, [gref], rand)).toBeLessThan(FD_TOL);
        const out = await runOp(
          (t) => op(t!),
          [{ data: x, shape: sh, grad: true }],
          () => gy,
        );
        expect(relError(out.y, ref)).toBeLessThan(TOL);
        expect(relError(out.grads[0]!, gref)).toBeLessThan(TOL);
      }
    });
  }
});

describe('reductions', () => {
  it('sum and mean over all or given axes (keepDims or not)', async () => {
    const rand = seededRandom(11);
    const cases: [number[], number[] | undefined][] = [
      [[3, 5, 7, 11], undefined],
      [[3, 5, 7, 11], [1]],
      [
        [3, 5, 7, 11],
        [0, 2, 3],
      ],
      [[3, 5, 7, 11], [3]],
      [
        [2, 3, 65, 67],
        [0, 2, 3],
      ], // long sums: two passes
      [[1, 9000], [1]],
      [[5, 1, 3], [1]],
    ];
    for (const [sh, axes] of cases) {
      const ax = axes ?? sh.map((_, i) => i);
      const x = randomF32(size(sh), rand);
      for (const avg of [false, true]) {
        for (const keep of [false, true]) {
          const R = ax.reduce((a, i) => a * sh[i]!, 1);
          const s = avg ? 1 / R : 1;
          const ref = sumRef({ data: toF64(x), shape: sh }, ax, s);
          const gy = randomF32(ref.data.length, rand);
          const gref = sumBackwardRef(sh, ax, toF64(gy), s);
          const out = await runOp(
            (t) => (avg ? T.mean(t!, axes, keep) : T.sum(t!, axes, keep)),
            [{ data: x, shape: sh, grad: true }],
            () => gy,
          );
          expect(out.shape).toEqual(keep ? ref.shape : sh.filter((_, i) => !ax.includes(i)));
          expect(relError(out.y, ref.data)).toBeLessThan(TOL);
          expect(relError(out.grads[0]!, gref)).toBeLessThan(TOL);
        }
      }
    }
  });

  it('expand and its adjoint', async () => {
    const rand = seededRandom(12);
    const x = randomF32(5, rand);
    const gy = randomF32(2 * 5 * 3, rand);
    const out = await runOp(
      (t) => T.expand(t!, [2, 5, 3]),
      [{ data: x, shape: [5, 1], grad: true }],
      () => gy,
    );
    const ref = binaryRef(
      BINARY.add,
      { data: toF64(x), shape: [5, 1] },
      { data: new Float64Array(30), shape: [2, 5, 3] },
    );
    expect(relError(out.y, ref.data)).toBeLessThan(TOL);
    const [gx] = binaryBackwardRef(
      BINARY.add,
      { data: toF64(x), shape: [5, 1] },
      { data: new Float64Array(30), shape: [2, 5, 3] },
      toF64(gy),
    );
    expect(relError(out.grads[0]!, gx)).toBeLessThan(TOL);
  });
});

describe('clamp, clone, detach', () => {
  it('clamp forward/backward; clone passes gradients; detach stops them', async () => {
    const rand = seededRandom(13);
    for (const sh of [
      [3, 5, 7],
      [2, 2, 4],
    ]) {
      const x = randomAway(size(sh), rand, 0.01, 2);
      const gy = randomF32(x.length, rand);
      const out = await runOp(
        (t) => T.clamp(t!, -0.5, 0.8),
        [{ data: x, shape: sh, grad: true }],
        () => gy,
      );
      expect(
        relError(
          out.y,
          Array.from(x, (v) => Math.min(Math.max(v, -0.5), 0.8)),
        ),
      ).toBeLessThan(1e-7);
      expect(
        relError(
          out.grads[0]!,
          Array.from(x, (v, i) => (v >= -0.5 && v <= 0.8 ? gy[i]! : 0)),
        ),
      ).toBeLessThan(1e-7);
      const c = await runOp(
        (t) => T.mul(T.clone(t!), T.detach(t!)),
        [{ data: x, shape: sh, grad: true }],
        () => gy,
      );
      expect(
        relError(
          c.grads[0]!,
          Array.from(x, (v, i) => v * gy[i]!),
        ),
      ).toBeLessThan(1e-6);
    }
  });
});
