/**
 * Where the time of back-to-back frozen forwards goes: GPU timestamps written by a one-workgroup marker pass before
 * and after each run give every run's GPU span and the idle gap before the next one. Diagnoses why ten queued
 * frozen forwards (recorded or replayed) took 8.0 ms per run in one call and 9.8–10.0 in others on the same H200
 * build, while one isolated run took 7.8–8.6 ms (bench/RESULTS.md, 2026-11-28, fifth session).
 */
import type { Gpu } from '../src/gpu/index.js';
import { unetFixture } from './unet.js';
import type { BenchRow } from './table.js';
import { warmUp } from './timeit.js';

const RUNS = 10;

/** Marker passes around runs of `fn`; returns each run's GPU span and the gap after the previous run, in ms. */
async function timeline(
  gpu: Gpu,
  fn: () => void,
  waitEach: boolean,
): Promise<{ spans: number[]; gaps: number[]; wall: number }> {
  const device = gpu.device;
  const module = device.createShaderModule({ code: '@compute @workgroup_size(1) fn main() {}' });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const qs = device.createQuerySet({ type: 'timestamp', count: 2 * RUNS });
  const resolved = device.createBuffer({ size: 16 * RUNS, usage: 0x0200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
  const marker = (index: number, begin: boolean) => {
    gpu.flush();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass({
      timestampWrites: begin
        ? { querySet: qs, beginningOfPassWriteIndex: index }
        : { querySet: qs, endOfPassWriteIndex: index },
    });
    pass.setPipeline(pipeline);
    pass.dispatchWorkgroups(1);
    pass.end();
    device.queue.submit([enc.finish()]);
  };
  await warmUp(gpu, fn);
  const t0 = performance.now();
  for (let r = 0; r < RUNS; r++) {
    marker(2 * r, true);
    fn();
    marker(2 * r + 1, false);
    if (waitEach) await gpu.sync();
  }
  await gpu.sync();
  const wall = (performance.now() - t0) / RUNS;
  const enc = device.createCommandEncoder();
  enc.resolveQuerySet(qs, 0, 2 * RUNS, resolved, 0);
  device.queue.submit([enc.finish()]);
  const ts = new BigUint64Array(await gpu.read(resolved));
  qs.destroy();
  resolved.destroy();
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  const spans: number[] = [];
  const gaps: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    spans.push(ms(ts[2 * r]!, ts[2 * r + 1]!));
    if (r > 0) gaps.push(ms(ts[2 * r - 1]!, ts[2 * r]!));
  }
  return { spans, gaps, wall };
}

const fmt = (v: number[]) => v.map((x) => x.toFixed(2)).join(' ');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

export async function benchUnetTimeline(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  if (!gpu.features.timestamps) return [];
  const f = await unetFixture(gpu, opts.tiny ?? false);
  const { net, forward, dispose } = f;
  const rows: BenchRow[] = [];
  net.freezeForInference();
  try {
    forward();
    await gpu.sync();
    const replay = gpu.capture(forward);
    const variants: Array<[string, () => void, boolean]> = [
      ['frozen forward, recorded, queued back to back', forward, false],
      ['frozen forward, replayed, queued back to back', () => replay.run(), false],
      ['frozen forward, recorded, waited for each', forward, true],
      ['frozen forward, replayed, waited for each', () => replay.run(), true],
    ];
    for (const [name, fn, waitEach] of variants) {
      const t = await timeline(gpu, fn, waitEach);
      rows.push({
        bench: 'unet-timeline',
        case: name,
        ms: median(t.spans),
        note: `GPU span per run (median); wall ${t.wall.toFixed(2)} ms per run; spans ${fmt(t.spans)}; gaps before runs ${fmt(t.gaps)}`,
      });
    }
    replay.dispose();
  } finally {
    net.unfreeze();
  }
  dispose();
  return rows;
}
