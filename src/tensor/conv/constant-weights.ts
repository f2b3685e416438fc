/**
 * Constant weights: buffers whose contents a caller promises not to change until it releases them (a network
 * frozen for inference, DualStyleUNet.freezeForInference). Kernels may keep derived forms of such a buffer (the
 * tensor-core path's f16 copy in its tile layout) instead of rebuilding them on every call. Any other buffer is
 * treated as changing between calls.
 */
import type { Gpu } from '../../gpu/index.js';

const derived = new Map<GPUBuffer, Map<string, GPUBuffer>>();

/** Promise that `buf` stays unchanged until releaseConstantWeights(buf). */
export function holdConstantWeights(buf: GPUBuffer): void {
  if (!derived.has(buf)) derived.set(buf, new Map());
}

/** End the promise: the derived buffers go back to the pool. Call before `buf` itself is released or written. */
export function releaseConstantWeights(gpu: Gpu, buf: GPUBuffer): void {
  const m = derived.get(buf);
  if (!m) return;
  for (const d of m.values()) gpu.pool.release(d);
  derived.delete(buf);
}

/**
 * The form of `buf` under `key`: for a held buffer made once and kept (`temporary` false), for any other made by
 * `make` on every call (`temporary` true: the caller releases it after use).
 */
export function derivedWeights(
  buf: GPUBuffer,
  key: string,
  make: () => GPUBuffer,
): { buffer: GPUBuffer; temporary: boolean } {
  const m = derived.get(buf);
  if (!m) return { buffer: make(), temporary: true };
  let d = m.get(key);
  if (!d) m.set(key, (d = make()));
  return { buffer: d, temporary: false };
}
