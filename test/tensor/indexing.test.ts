import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor/index.js';
import { concatRef, gatherRef, scatterAddRef, sliceRef } from '../../src/tensor/reference/indexing.js';
import { size } from '../../src/tensor/reference/elementwise.js';
import { numericGrad, randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { runOp, toF64 } from '../helpers/gpu-op.js';

const TOL = 1e-4;

describe('concat / slice / split', () => {
  it('concat along each axis with gradients', async () => {
    const rand = seededRandom(41);
    for (const axis of [0, 1, 2, 3]) {
      const base = [2, 3, 5, 7];
      const shapes = [3, 1, 4].map((d) => base.map((b, i) => (i === axis ? d : b)));
      const xs = shapes.map((s) => randomF32(size(s), rand));
      const f = (v: Float64Array[]) =>
        concatRef(
          v.map((d, k) => ({ data: d, shape: shapes[k]! })),
          axis,
        );
      const y = f(xs.map(toF64));
      const gy = randomF32(y.length, rand);
      const out = await runOp(
        (...ts) => T.concat(ts as T.Tensor[], axis),
        shapes.map((s, k) => ({ data: xs[k]!, shape: s, grad: true })),
        () => gy,
      );
      expect(relError(out.y, y)).toBe(0);
      for (let k = 0; k < 3; k++) expect(relError(out.grads[k]!, numericGrad(f, xs, gy, k))).toBeLessThan(TOL);
    }
  });

  it('slice and split with gradients (pieces used twice sum)', async () => {
    const rand = seededRandom(42);
    const sh = [2, 9, 5, 3];
    const x = randomF32(size(sh), rand);
    const gy = randomF32(2 * 4 * 15, rand);
    const out = await runOp(
      (t) => T.slice(t!, 1, 3, 7),
      [{ data: x, shape: sh, grad: true }],
      () => gy,
    );
    const f = (v: Float64Array[]) => sliceRef(v[0]!, sh, 1, 3, 7);
    expect(relError(out.y, f([toF64(x)]))).toBe(0);
    expect(relError(out.grads[0]!, numericGrad(f, [x], gy, 0))).toBeLessThan(TOL);
    // split into [2, 3, 4] along axis 1 and recombine as a·b-free sum: y = p0ᵀ… keep simple: concat(p2, p0, p2)
    const g2 = randomF32(2 * 10 * 15, rand);
    const out2 = await runOp(
      (t) => {
        const [p0, , p2] = T.split(t!, [2, 3, 4], 1);
        return T.concat([p2!, p0!, p2!], 1);
      },
      [{ data: x, shape: sh, grad: true }],
      () => g2,
    );
    const f2 = (v: Float64Array[]) => {
      const p0 = sliceRef(v[0]!, sh, 1, 0, 2);
      const p2 = sliceRef(v[0]!, sh, 1, 5, 9);
      const s = (d: number) => [2, d, 5, 3];
      return concatRef(
        [
          { data: p2, shape: s(4) },
          { data: p0, shape: s(2) },
          { data: p2, shape: s(4) },
        ],
        1,
      );
    };
    expect(relError(out2.y, f2([toF64(x)]))).toBe(0);
    expect(relError(out2.grads[0]!, numericGrad(f2, [x], g2, 0))).toBeLessThan(TOL);
  });
});

describe('gather / scatterAdd', () => {
  it('gathers rows of [P, C] and pixels of [C, H·W], backward scatter-adds (duplicates sum)', async () => {
    const rand = seededRandom(43);
    const P = 7 * 11;
    for (const [shape, axis] of [
      [[P, 5], 0],
      [[3, P], 1],
      [[2, 3, P], 2],
    ] as const) {
      // duplicates: the inverse index built on the GPU, or given from the CPU (inverseIndex)
      for (const mode of ['unique', 'gpu', 'inverse'] as const) {
        const unique = mode === 'unique';
        const M = unique ? 23 : 40;
        const idx = unique
          ? Array.from({ length: P }, (_, i) => i)
              .sort(() => rand() - 0.5)
              .slice(0, M)
          : Array.from({ length: M }, () => Math.floor(rand() * P));
        if (!unique) idx[3] = P + 2; // out of range: read as 0, dropped by the scatter
        const inverse = mode === 'inverse' ? T.inverseIndex(idx, P) : undefined;
        const x = randomF32(size(shape), rand);
        const ysh = shape.map((d, i) => (i === axis ? M : d));
        const gy = randomF32(size(ysh), rand);
        const f = (v: Float64Array[]) => gatherRef(v[0]!, shape, axis, idx);
        const out = await runOp(
          (t, i) => T.gather(t!, axis, i!, { unique, inverse }),
          [
            { data: x, shape, grad: true },
            { data: idx, shape: [M], int: true },
          ],
          () => gy,
        );
        expect(out.shape).toEqual(ysh);
        expect(relError(out.y, f([toF64(x)]))).toBe(0);
        expect(relError(out.grads[0]!, numericGrad(f, [x], gy, 0))).toBeLessThan(TOL);
        // scatterAdd: values [.., M, ..] into zeros of `shape`; backward gathers
        const v = randomF32(size(ysh), rand);
        const g2 = randomF32(size(shape), rand);
        const f2 = (w: Float64Array[]) => scatterAddRef(w[0]!, shape, axis, idx);
        const out2 = await runOp(
          (t, i) => T.scatterAdd(t!, axis, i!, shape, { unique, inverse }),
          [
            { data: v, shape: ysh, grad: true },
            { data: idx, shape: [M], int: true },
          ],
          () => g2,
        );
        expect(relError(out2.y, f2([toF64(v)]))).toBeLessThan(1e-6);
        expect(relError(out2.grads[0]!, numericGrad(f2, [v], g2, 0))).toBeLessThan(TOL);
        inverse?.dispose();
      }
    }
  });

  it('scatter-adds duplicates in a fixed order: the same bits every run, GPU-built or given inverse alike', async () => {
    const rand = seededRandom(44);
    const [A, M, C] = [50, 4000, 3]; // ~80 values per target
    const idx = Array.from({ length: M }, () => Math.floor(rand() * A));
    const v = T.Tensor.from(randomF32(C * M, rand), [C, M], { persistent: true });
    const it = T.Tensor.indices(idx).keep();
    const inverse = T.inverseIndex(idx, A);
    const run = async (opts: T.IndexOptions) => {
      const y = T.scatterAdd(v, 1, it, [C, A], opts);
      const a = await y.toArray();
      y.dispose();
      return Array.from(new Uint32Array(a.buffer));
    };
    const first = await run({});
    expect(await run({})).toEqual(first);
    expect(await run({ inverse })).toEqual(first);
    expect(
      relError(
        new Float32Array(new Uint32Array(first).buffer),
        scatterAddRef(toF64(await v.toArray()), [C, A], 1, idx),
      ),
    ).toBeLessThan(1e-5);
    for (const t of [v, it, inverse]) t.dispose();
  });
});
