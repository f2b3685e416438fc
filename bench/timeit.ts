/**
 * Time GPU work: run `record` (which records dispatches) `reps` times per sample between two GPU timestamps,
 * after `warmup` untimed runs, and return the median per-run milliseconds over `samples` samples.
 */
import { GpuTimer, type Gpu } from '../src/gpu/index.js';
import { median } from './table.js';

export async function timeGpu(
  gpu: Gpu,
  record: () => void,
  opts: { reps?: number; samples?: number; warmup?: number } = {},
): Promise<number> {
  const { reps = 10, samples = 5, warmup = 2 } = opts;
  for (let i = 0; i < warmup; i++) record();
  await gpu.sync();
  const timer = new GpuTimer(gpu, samples + 1);
  const ends: number[] = [];
  await timer.mark();
  for (let s = 0; s < samples; s++) {
    for (let r = 0; r < reps; r++) record();
    await timer.mark();
    if (!timer.usesTimestamps) continue;
    gpu.flush(); // keep the queue fed without waiting
  }
  const marks = await timer.read();
  timer.destroy();
  let prev = 0;
  for (const m of marks) {
    ends.push((m - prev) / reps);
    prev = m;
  }
  await gpu.sync();
  return median(ends);
}
