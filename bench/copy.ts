/** Device-memory bandwidth through our runtime: a vec4 copy kernel, counting bytes read + written. */
import { grid1d, GRID_INDEX, type Gpu } from '../src/gpu/index.js';
import type { BenchRow } from './table.js';
import { timeGpu } from './timeit.js';

const COPY = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
struct P { n: u32 }
@group(1) @binding(0) var<uniform> p: P;
${GRID_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i < p.n) { dst[i] = src[i]; }
}`;

export async function benchCopy(gpu: Gpu, mib: readonly number[]): Promise<BenchRow[]> {
  const kernel = await gpu.compile('bench_copy', COPY);
  const rows: BenchRow[] = [];
  for (const m of mib) {
    const bytes = m * 2 ** 20;
    if (bytes > gpu.limits.maxStorageBufferBindingSize) continue;
    const n = bytes / 16;
    const a = gpu.pool.acquire(bytes);
    const b = gpu.pool.acquire(bytes);
    gpu.clear(a);
    const params = new Uint32Array([n]);
    const ms = await timeGpu(gpu, () => gpu.dispatch(kernel, [a, b], grid1d(n, 256), params), { reps: 10 });
    rows.push({
      bench: 'copy vec4',
      case: `${m} MiB`,
      ms,
      rate: (2 * bytes) / (ms * 1e6),
      unit: 'GB/s',
      note: 'read + write',
    });
    gpu.pool.release(a);
    gpu.pool.release(b);
    gpu.pool.trim();
  }
  return rows;
}
