/** Helpers for tests of raw-buffer kernels: scoped pooled buffers, and inputs that are exact in f16. */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { conv2dForwardRaw } from '../../src/tensor/conv/conv2d-raw.js';
import type { Conv2dGeom } from '../../src/tensor/conv/geometry.js';
import { conv2dRef } from '../../src/tensor/reference/conv.js';
import { randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';

/**
 * Run `run` with `up(array)` (upload to a pooled buffer) and `out(n)` (a pooled buffer of n floats); every buffer is
 * released after the GPU has finished, whatever `run` does.
 */
export async function withBuffers<T>(
  gpu: Gpu,
  run: (up: (a: Float32Array) => GPUBuffer, out: (n: number) => GPUBuffer) => Promise<T>,
): Promise<T> {
  const bufs: GPUBuffer[] = [];
  const up = (a: Float32Array) => {
    const b = gpu.bufferFrom(a);
    bufs.push(b);
    return b;
  };
  const out = (n: number) => {
    const b = gpu.pool.acquire(n * 4);
    bufs.push(b);
    return b;
  };
  try {
    return await run(up, out);
  } finally {
    await gpu.sync();
    for (const b of bufs) gpu.pool.release(b);
  }
}

/** Random multiples of 2⁻¹⁰ in (−1, 1): exact in f16, so an f16-operand kernel must match f32 to rounding. */
export function q10(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.round((rand() * 2 - 1) * 1023) / 1024;
  return a;
}

/**
 * The forward of `g` on random inputs through the tc2 software twin (small tile) must match the float64 reference
 * to f32 rounding: the convs the tc2 paths hand to an f32 kernel instead of the tensor cores (narrow1x1, shallow).
 */
export async function expectTc2ForwardInF32(gpu: Gpu, g: Conv2dGeom, seed: number): Promise<void> {
  const rand = seededRandom(seed);
  const x = randomF32(g.n * g.cin * g.h * g.w, rand);
  const w = randomF32(g.cout * g.cin * g.kh * g.kw, rand);
  const yRef = conv2dRef(g, x, w);
  await withBuffers(gpu, async (up, out) => {
    const y = out(yRef.length);
    conv2dForwardRaw(gpu, g, up(x), up(w), null, y, {
      path: 'tc2-sw',
      tc2Tile: { bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 1 },
    });
    expect(relError(await gpu.readF32(y, yRef.length), yRef)).toBeLessThan(2e-6);
  });
}
