import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { initEngine, mean, sum, Tensor } from '../../src/tensor/index.js';
import { setFastReduce } from '../../src/tensor/kernels/reduce.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await initEngine();
});

/** Float64 Σ over `axes` of a contiguous tensor (kept dims in order). */
function sumRef(x: Float32Array, shape: number[], axes: number[]): Float64Array {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const out = new Float64Array(kept.reduce((a, i) => a * shape[i]!, 1));
  const idx = new Array<number>(shape.length).fill(0);
  for (let e = 0; e < x.length; e++) {
    let t = e;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = t % shape[d]!;
      t = Math.floor(t / shape[d]!);
    }
    let o = 0;
    for (const i of kept) o = o * shape[i]! + idx[i]!;
    out[o]! += x[e]!;
  }
  return out;
}

// rows: innermost dim reduced (bias gradients, full sums, chunked, partials finished by rows or by the general kernel)
// columns: innermost dim kept (Σ over channels), with and without chunked partials, kept dims on both sides
const CASES: Array<[number[], number[]]> = [
  [
    [2, 5, 8, 16],
    [0, 2, 3],
  ],
  [
    [1, 3, 9, 12],
    [0, 2, 3],
  ],
  [
    [3, 4, 64],
    [0, 1, 2],
  ],
  [
    [1, 3, 128, 160],
    [0, 2, 3],
  ],
  [
    [1, 1, 1024, 1024],
    [2, 3],
  ],
  [
    [1, 1, 1024, 1040],
    [0, 1, 2, 3],
  ],
  [[2, 7, 3, 8], [1]],
  [[1, 600, 4, 4], [1]],
  [
    [3, 5, 2, 4],
    [1, 2],
  ],
  [
    [3, 5, 6, 4],
    [0, 1],
  ],
  [[2, 3, 5, 7], [1]], // odd inner size: general kernel
  [[9871, 4], [1]], // short sums: many outputs of a few inputs (a quaternion's squared norm per Gaussian)
  [[2053, 3], [1]],
  [
    [3, 301, 7],
    [0, 2],
  ],
  [
    [5, 2, 331],
    [0, 1],
  ],
];

describe('reduceSum fast paths', () => {
  it('match a float64 sum and the general kernel', async () => {
    const rand = seededRandom(51);
    const names = new Set<string>();
    const dispatch = gpu.dispatch.bind(gpu);
    gpu.dispatch = (k, ...rest) => (names.add(k.name), dispatch(k, ...rest));
    for (const [shape, axes] of CASES) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randomF32(n, rand);
      const t = Tensor.from(x, shape);
      const ref = sumRef(x, shape, axes);
      const fast = await sum(t, axes).toArray();
      setFastReduce(false);
      const general = await sum(t, axes).toArray();
      setFastReduce(true);
      const m = await mean(t, axes).toArray();
      const msg = `${shape} over ${axes}`;
      expect(relError(fast, ref), msg).toBeLessThan(1e-5);
      expect(relError(general, ref), msg).toBeLessThan(1e-5);
      const R = axes.reduce((a, i) => a * shape[i]!, 1);
      expect(
        relError(
          m,
          Array.from(ref, (v) => v / R),
        ),
        msg,
      ).toBeLessThan(1e-5);
      t.dispose();
    }
    gpu.dispatch = dispatch;
    expect([...names].sort()).toEqual(['reduce:256', 'reduce:64', 'reduce_cols', 'reduce_rows', 'reduce_short']);
  });
});
