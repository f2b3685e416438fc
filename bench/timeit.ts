/**
 * Time GPU work: run `record` (which records dispatches) `reps` times per sample between two GPU timestamps,
 * after `warmup` untimed runs, and return the median per-run milliseconds over `samples` samples.
 */
import { GpuTimer, type Gpu } from '../src/gpu/index.js';
import { median } from './table.js';

export async function timeGpu(
  gpu: Gpu,
  record: () => void,
  opts: { reps?: number; samples?: number; warmup?: number; warmMs?: number } = {},
): Promise<number> {
  const { reps = 10, samples = 5, warmup = 2, warmMs = 0 } = opts;
  for (let i = 0; i < warmup; i++) record();
  await gpu.sync();
  // A sub-millisecond kernel timed right after a readback runs at idle clocks: the 2026-11-28 conv-paths run gave
  // tc2 18.7 TFLOP/s over the network's shapes where the same kernels ran at ~80 inside the network's profile.
  if (warmMs > 0) await warmUp(gpu, record, warmMs);
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

/**
 * Run `fn` for at least `ms` before timing: a GPU that sat idle (e.g. while kernels compiled) runs its first
 * second of work at low clocks (seen on the H100: a forward measured 111 ms cold against ~60 ms warm).
 */
export async function warmUp(gpu: Gpu, fn: () => unknown, ms = 1500): Promise<void> {
  await fn(); // the first run compiles kernels (seconds) while the GPU idles: it does not count towards `ms`
  await gpu.sync();
  const t0 = performance.now();
  do {
    await fn();
    await gpu.sync();
  } while (performance.now() - t0 < ms);
}

/** Median wall time of `fn` (recording + GPU, to completion) over `reps` runs, after `warmUp`. */
export async function timeWall(gpu: Gpu, fn: () => void, reps: number): Promise<number> {
  await warmUp(gpu, fn);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    await gpu.sync();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * Per-run wall time of `runs` back-to-back runs of `fn` with one wait at the end (after `warmUp`): the throughput of
 * a loop that keeps the GPU fed (training steps, animation frames), where timeWall also counts each run's start-up
 * and final wait.
 */
export async function timeThroughput(gpu: Gpu, fn: () => void, runs: number): Promise<number> {
  return (await throughputDetail(gpu, fn, runs)).ms;
}

/** timeThroughput's figure, and the CPU time per run of its loop (recording and submitting, before the wait). */
export async function throughputDetail(gpu: Gpu, fn: () => void, runs: number): Promise<{ ms: number; cpuMs: number }> {
  await warmUp(gpu, fn);
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) fn();
  gpu.flush();
  const cpuMs = (performance.now() - t0) / runs;
  await gpu.sync();
  return { ms: (performance.now() - t0) / runs, cpuMs };
}
