import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  backward,
  beginScope,
  clearTape,
  initEngine,
  mul,
  noGrad,
  reshape,
  scale,
  scope,
  scopeDepth,
  sub,
  sum,
  tapeLength,
  Tensor,
  zeroGrad,
  mean,
  square,
} from '../../src/tensor/index.js';
import type { Gpu } from '../../src/gpu/index.js';
import { seededRandom, randomF32, relError } from '../helpers/numeric.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await initEngine();
});

describe('Tensor', () => {
  it('uploads, reads back, and creates constants', async () => {
    const t = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.size).toBe(6);
    expect(Array.from(await t.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await Tensor.zeros([5]).toArray())).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(await Tensor.full([3], 2.5).toArray())).toEqual([2.5, 2.5, 2.5]);
    const a = await Tensor.randn([1001], seededRandom(3)).toArray();
    const b = await Tensor.randn([1001], seededRandom(3)).toArray();
    expect(a).toEqual(b);
    const m = a.reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(m)).toBeLessThan(0.15);
    const idx = Tensor.indices([3, 1, 4]);
    expect(idx.dtype).toBe('i32');
    expect(Array.from(await idx.toIntArray())).toEqual([3, 1, 4]);
    expect(() => Tensor.from([1, 2, 3], [2, 2])).toThrow(/fill/);
  });

  it('scopes release what they created, except what is returned or kept', async () => {
    await gpu.sync();
    const inUse0 = gpu.pool.stats.bytesInUse;
    const param = Tensor.from([1, 2, 3], [3], { persistent: true });
    let inner: Tensor | null = null;
    const out = scope(() => {
      const a = add(param, 1);
      inner = scope(() => {
        const b = mul(a, a);
        return add(b, param);
      });
      expect(inner.isDisposed).toBe(false);
      const c = scale(inner, 2);
      return { c };
    });
    expect(scopeDepth()).toBe(0);
    expect(inner!.isDisposed).toBe(true);
    expect(Array.from(await out.c.toArray())).toEqual([10, 22, 38]);
    const s = beginScope();
    const t = Tensor.zeros([7]);
    const kept = Tensor.zeros([7]);
    s.end(kept);
    expect(t.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    kept.dispose();
    out.c.dispose();
    param.dispose();
    expect(gpu.pool.stats.bytesInUse).toBe(inUse0);
  });

  it('reshape shares the buffer and refcounts it', async () => {
    const inUse0 = gpu.pool.stats.bytesInUse;
    const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = reshape(a, [3, -1]);
    expect(v.shape).toEqual([3, 2]);
    expect(v.buffer).toBe(a.buffer);
    a.dispose();
    expect(Array.from(await v.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    v.dispose();
    expect(gpu.pool.stats.bytesInUse).toBe(inUse0);
    expect(() => v.buffer).toThrow(/dispose/);
  });
});

describe('autograd tape', () => {
  it('computes gradients, sums over reuse, accumulates across backward calls, respects noGrad', async () => {
    const rand = seededRandom(1);
    const av = randomF32(13, rand);
    const bv = randomF32(13, rand);
    const a = Tensor.from(av, [13], { requiresGrad: true, persistent: true });
    const b = Tensor.from(bv, [13], { requiresGrad: true, persistent: true });
    // L = Σ (a·b + a)·a  → dL/da = 2ab + 2a, dL/db = a²
    const run = () =>
      scope(() => {
        const loss = sum(mul(add(mul(a, b), a), a));
        backward(loss);
      });
    run();
    expect(tapeLength()).toBe(0);
    const ga = await a.grad!.toArray();
    const gb = await b.grad!.toArray();
    expect(
      relError(
        ga,
        Array.from(av, (x, i) => 2 * x * bv[i]! + 2 * x),
      ),
    ).toBeLessThan(1e-5);
    expect(
      relError(
        gb,
        Array.from(av, (x) => x * x),
      ),
    ).toBeLessThan(1e-5);
    run(); // accumulates
    expect(
      relError(
        await a.grad!.toArray(),
        Array.from(ga, (x) => 2 * x),
      ),
    ).toBeLessThan(1e-5);
    zeroGrad([a, b]);
    expect(a.grad).toBeNull();
    noGrad(() => scope(() => add(a, b)));
    expect(tapeLength()).toBe(0);
    // The forward's intermediates may be freed by inner scopes before backward: the tape keeps what it saved.
    scope(() => {
      const h = scope(() => mul(sub(a, b), b));
      backward(sum(h));
    });
    const expectA = Array.from(bv);
    const expectB = Array.from(av, (x, i) => x - 2 * bv[i]!);
    expect(relError(await a.grad!.toArray(), expectA)).toBeLessThan(1e-5);
    expect(relError(await b.grad!.toArray(), expectB)).toBeLessThan(1e-5);
    // A given output gradient; a forward without backward is dropped by clearTape.
    zeroGrad([a, b]);
    scope(() => {
      const y = mul(a, 3);
      backward(y, Tensor.from(bv, [13]));
    });
    expect(
      relError(
        await a.grad!.toArray(),
        Array.from(bv, (x) => 3 * x),
      ),
    ).toBeLessThan(1e-6);
    scope(() => mul(a, b));
    expect(tapeLength()).toBe(1);
    clearTape();
    a.dispose();
    b.dispose();
  });

  it('reaches a steady state: no new GPU buffers after warm-up', async () => {
    const rand = seededRandom(2);
    const w = Tensor.from(randomF32(3 * 5 * 7, rand), [3, 5, 7], { requiresGrad: true, persistent: true });
    const bias = Tensor.from(randomF32(5, rand), [5], { requiresGrad: true, persistent: true });
    const x = Tensor.from(randomF32(2 * 3 * 5 * 7, rand), [2, 3, 5, 7], { persistent: true });
    const step = () =>
      scope(() => {
        zeroGrad([w, bias]);
        const y = add(mul(x, w), reshape(bias, [1, 1, 5, 1]));
        const loss = mean(square(y));
        backward(loss);
        noGrad(() => {
          // an in-place-like update: w ← w − 0.01·grad (new tensors kept, old disposed)
        });
        return loss;
      });
    let created = 0;
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const l = step();
      losses.push(await l.item());
      l.dispose();
      if (i === 2) created = gpu.pool.stats.created;
    }
    expect(gpu.pool.stats.created).toBe(created);
    expect(losses[5]).toBeCloseTo(losses[0]!, 5);
    for (const t of [w, bias, x]) t.dispose();
  });
});

describe('steady state across ops', () => {
  it('a step using every op family allocates no new buffers after warm-up', async () => {
    const { Adam } = await import('../../src/nn/optim.js');
    const { l1Loss } = await import('../../src/nn/losses.js');
    const T = await import('../../src/tensor/index.js');
    const G = await import('../../src/nn/stylegan/layers.js');
    const rand = seededRandom(9);
    const P = (shape: number[]) =>
      Tensor.from(
        randomF32(
          shape.reduce((a, b) => a * b, 1),
          rand,
        ),
        shape,
        { requiresGrad: true, persistent: true },
      );
    const W = P([6, 5]);
    const b = P([6]);
    const bias = P([3]);
    const nw = P([1]);
    const x = Tensor.from(randomF32(2 * 5, rand), [2, 5], { persistent: true });
    const img = Tensor.from(randomF32(1 * 3 * 6 * 7, rand), [1, 3, 6, 7], { persistent: true });
    const noise = Tensor.from(randomF32(6 * 7, rand), [1, 1, 6, 7], { persistent: true });
    const idx = Tensor.indices([0, 5, 9, 41, 17]);
    idx.keep();
    const target = Tensor.zeros([3, 5], { persistent: true });
    const opt = new Adam([W, b, bias, nw], { lr: 1e-3 });
    let created = 0;
    for (let i = 0; i < 6; i++) {
      scope(() => {
        opt.zeroGrad();
        const s = G.equalLinear(G.pixelNorm(x), W, b, { lrMul: 0.01, activation: 'fused_lrelu' }); // [2, 6]
        const m = T.reshape(T.mean(s), [1, 1, 1, 1]);
        let h = T.fusedLeakyRelu(G.noiseInjection(T.mul(img, m), nw, noise), bias); // [1, 3, 6, 7]
        h = T.concat([h, T.resizeBilinear(h, [6, 7])], 1); // [1, 6, 6, 7]
        const [h1] = T.split(h, 2, 1);
        const small = T.resizeNearest(T.interpolate(h1!, { scaleFactor: 2, mode: 'bilinear' }), [6, 7]);
        const g = T.gather(T.reshape(small, [3, 42]), 1, idx); // [3, 5]
        const map = T.scatterAdd(g, 1, idx, [3, 42], { unique: true });
        const loss = T.add(l1Loss(g, target), T.mean(T.square(map)));
        T.backward(loss);
        opt.step();
      });
      await gpu.sync();
      if (i === 2) created = gpu.pool.stats.created;
    }
    expect(gpu.pool.stats.created).toBe(created);
    expect(tapeLength()).toBe(0);
    for (const p of [W, b, bias, nw]) expect(p.grad).not.toBeNull();
    opt.dispose();
    for (const t of [W, b, bias, nw, x, img, noise, idx, target]) t.dispose();
  });
});

describe('f16 storage', () => {
  it('uploads, casts both ways (round to nearest even), reads back; gradient of cast is the cast back', async () => {
    const { cast, toArrayF16, f32ToF16, f16ToF32 } = await import('../../src/tensor/index.js');
    // (no subnormals or overflow on the GPU: WGSL lets pack2x16float flush or leave them undefined)
    const vals = [0, 1, -2.5, 65504, 3.14159, -0.0001, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    const expected = vals.map((v) => f16ToF32(f32ToF16(v)));
    expect(expected[6]).toBe(1); // tie rounds to even
    expect(expected[7]).toBe(1 + 2 * 2 ** -10);
    expect(f16ToF32(f32ToF16(70000))).toBe(Infinity);
    expect(f16ToF32(f32ToF16(1e-7))).toBe(2 * 2 ** -24);
    const h = Tensor.from(vals, [vals.length], { dtype: 'f16' });
    expect(Array.from(await h.toArray())).toEqual(expected);
    const x = Tensor.from(vals, [vals.length], { requiresGrad: true });
    const y = cast(x, 'f16');
    expect(y.dtype).toBe('f16');
    expect(Array.from(await toArrayF16(y))).toEqual(expected);
    expect(Array.from(await cast(y, 'f32').toArray())).toEqual(expected);
    backward(
      cast(y, 'f32'),
      Tensor.from(
        vals.map((_, i) => i + 0.5),
        [vals.length],
      ),
    );
    expect(Array.from(await x.grad!.toArray())).toEqual(vals.map((_, i) => i + 0.5));
    for (const t of [h, x, y]) t.dispose();
  });
});
