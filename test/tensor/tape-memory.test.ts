import { beforeAll, describe, expect, it } from 'vitest';
import { backward, initEngine, mul, scope, square, sum, Tensor, zeroGrad } from '../../src/tensor/index.js';
import { tapeSavedBytes } from '../../src/tensor/tape.js';
import type { Gpu } from '../../src/gpu/index.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await initEngine();
});

describe('tape memory', () => {
  it('tapeSavedBytes counts each saved buffer once and tells parameters from activations', async () => {
    const a = Tensor.from(new Float32Array(1000).fill(0.5), [1000], { requiresGrad: true, persistent: true });
    await gpu.sync();
    const before = gpu.pool.stats.bytesInUse;
    scope(() => {
      // mul saves a twice (a persistent leaf: held anyway); square saves mul's output (an activation)
      const h = scope(() => square(mul(a, a)));
      const rows = tapeSavedBytes();
      const act = rows.filter((r) => r.kind === 'activation');
      const per = rows.filter((r) => r.kind === 'persistent');
      expect(act).toEqual([{ name: 'square', dtype: 'f32', kind: 'activation', buffers: 1, bytes: a.buffer.size }]);
      expect(per).toEqual([{ name: 'mul', dtype: 'f32', kind: 'persistent', buffers: 1, bytes: a.buffer.size }]);
      // the inner scope released mul's output handle: only the tape's alias holds it, and backward lets it go
      expect(gpu.pool.stats.bytesInUse - before).toBe(a.buffer.size + h.buffer.size);
      backward(sum(h));
      expect(tapeSavedBytes()).toEqual([]);
    });
    // d/da Σ a⁴ = 4a³
    expect(Array.from(await a.grad!.toArray()).every((g) => Math.abs(g - 0.5) < 1e-6)).toBe(true);
    expect(gpu.pool.stats.bytesInUse - before).toBe(a.grad!.buffer.size);
    zeroGrad([a]);
    a.dispose();
  });
});
