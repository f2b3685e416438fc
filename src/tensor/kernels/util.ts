/**
 * Kernel plumbing shared by the tensor ops: a per-key kernel cache (the WGSL string is built once per key, never per
 * call), 1-D dispatch over grid1d, and parameter packing into a reused scratch (no allocation per dispatch).
 */
import { GRID_INDEX, grid1d, type Binding, type Kernel } from '../../gpu/index.js';
import { gpu } from '../tensor.js';

const cache = new Map<string, Kernel>();

/** The kernel for `key`, building its WGSL with `build()` only on the first call. */
export function cachedKernel(key: string, build: () => string): Kernel {
  let k = cache.get(key);
  if (!k) {
    k = gpu().kernel(key, build());
    cache.set(key, k);
  }
  return k;
}

export const WG = 256;

/** WGSL header of a 1-D kernel: `i` is the invocation index, returns when i >= `bound`. */
export function main1d(bound: string, wg = WG): string {
  return `${GRID_INDEX}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, ${wg}u);
  if (i >= ${bound}) { return; }`;
}

const scratch = new ArrayBuffer(256);
const su = new Uint32Array(scratch);
const sf = new Float32Array(scratch);

/**
 * Parameters as u32 words: integers go in as u32, floats (marked by passing them through `f()`) as f32 bits.
 * Returns a view of a reused scratch buffer (dispatch copies it at once).
 */
export function params(...words: (number | F32)[]): Uint32Array {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (typeof w === 'number') su[i] = w >>> 0;
    else sf[i] = w.v;
  }
  return new Uint32Array(scratch, 0, Math.max(4, Math.ceil(words.length / 4) * 4));
}

export interface F32 {
  v: number;
}
export function f(v: number): F32 {
  return { v };
}

/** Dispatch a 1-D kernel over `items` invocations. */
export function dispatch1d(k: Kernel, buffers: readonly Binding[], items: number, p?: Uint32Array, wg = WG): void {
  if (items === 0) return;
  gpu().dispatch(k, buffers, grid1d(items, wg), p);
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}
