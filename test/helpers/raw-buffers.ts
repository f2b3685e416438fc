/** Helpers for tests of raw-buffer kernels: scoped pooled buffers, and inputs that are exact in f16. */
import type { Gpu } from '../../src/gpu/index.js';

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
