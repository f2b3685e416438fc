import { describe, expect, it } from 'vitest';
import { Adam, adamStepRef } from '../../src/nn/optim.js';
import { backward, initEngine, mul, scope, sum, Tensor, square } from '../../src/tensor/index.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';

describe('Adam', () => {
  it('matches a float64 torch-style Adam over several steps with per-step learning rates', async () => {
    const gpu = await initEngine();
    const rand = seededRandom(31);
    // parameters are updated two per dispatch, by vector width: a pair and a single of each width here
    const shapes = [[3, 5, 7], [13], [4, 4], [2, 6], [5], [8]];
    const ps = shapes.map((s) =>
      Tensor.from(
        randomF32(
          s.reduce((a, b) => a * b, 1),
          rand,
        ),
        s,
        { persistent: true },
      ),
    );
    const ref = await Promise.all(ps.map(async (p) => Float64Array.from(await p.toArray())));
    const ms = ref.map((r) => new Float64Array(r.length));
    const vs = ref.map((r) => new Float64Array(r.length));
    const steps = shapes.map(() => 0);
    const opt = new Adam(ps);
    for (let it = 0; it < 7; it++) {
      const lr = 5e-3 * (0.05 + (0.95 * (1 + Math.cos((Math.PI * it) / 7))) / 2);
      ps.forEach((p, k) => {
        if (k === 1 && it % 3 === 2) return; // this parameter gets no gradient: skipped, its step does not advance
        const g = randomF32(p.size, rand, -1, 1).map((x) => x * 10 ** ((it % 3) - 1));
        p.grad = Tensor.from(g, p.shape, { persistent: true });
        adamStepRef(ref[k]!, g, ms[k]!, vs[k]!, ++steps[k]!, lr);
      });
      opt.step(lr);
      opt.zeroGrad();
    }
    for (let k = 0; k < ps.length; k++) {
      expect(relError(await ps[k]!.toArray(), ref[k]!)).toBeLessThan(1e-5);
      expect(opt.stateOf(ps[k]!)!.step).toBe(steps[k]);
    }
    // A training loop on the tape: steady state, loss decreases.
    const w = Tensor.from(randomF32(12, rand), [12], { persistent: true, requiresGrad: true });
    const opt2 = new Adam([w], { lr: 0.05 });
    let created = 0;
    let first = 0;
    let last = 0;
    for (let i = 0; i < 30; i++) {
      const l = scope(() => {
        opt2.zeroGrad();
        const loss = sum(square(mul(w, 2)));
        backward(loss);
        opt2.step();
        return loss;
      });
      if (i === 0) first = await l.item();
      last = await l.item();
      l.dispose();
      if (i === 3) created = gpu.pool.stats.created;
    }
    expect(gpu.pool.stats.created).toBe(created);
    expect(last).toBeLessThan(first * 0.5);
    for (const p of [...ps, w]) p.dispose();
    opt.dispose();
    opt2.dispose();
  });
});
