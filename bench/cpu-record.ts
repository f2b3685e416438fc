/**
 * Where the CPU time of recording goes: V8's sampling profiler (node:inspector) around N warm training steps of the
 * full-size DualStyleUNet (tiny: the small config), self time per function, slowest first. Native functions (the
 * Dawn bindings) are named by their JS caller. Waiting for the GPU shows up as (idle) / processImmediate.
 */
import { Session } from 'node:inspector/promises';
import type { Gpu } from '../src/gpu/index.js';
import type { BenchRow } from './table.js';
import { unetFixture, withEnvConvPath } from './unet.js';

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time (µs) per function of a V8 CPU profile; native callees are named after their caller. */
export function selfTimes(p: CpuProfile): Map<string, number> {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, CpuProfile['nodes'][number]>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const where = (f: CpuProfile['nodes'][number]['callFrame']) =>
    `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const f = nodes.get(id)!.callFrame;
    const caller = parent.get(id)?.callFrame;
    const key = !f.url && !f.functionName && caller ? `(native) ← ${where(caller)}` : where(f);
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  return self;
}

export async function benchCpuRecord(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  return withEnvConvPath(async (path) => {
    const steps = opts.tiny ? 3 : 10;
    const { train, dispose } = await unetFixture(gpu, !!opts.tiny);
    for (let i = 0; i < 3; i++) {
      train();
      await gpu.sync();
    }
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    let recordMs = 0;
    const d0 = gpu.dispatchCount;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      train();
      recordMs += performance.now() - t0;
      await gpu.sync();
    }
    const dispatches = (gpu.dispatchCount - d0) / steps;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    dispose();
    const self = [...selfTimes(profile as CpuProfile)].sort((a, b) => b[1] - a[1]).slice(0, 30);
    const rows: BenchRow[] = [
      {
        bench: 'cpu-record',
        case: `training step recording (convs ${path})`,
        ms: recordMs / steps,
        note: `${dispatches} dispatches, ${((1000 * recordMs) / steps / dispatches).toFixed(1)} µs each`,
      },
    ];
    for (const [k, us] of self)
      rows.push({ bench: 'cpu-record', case: k, ms: us / 1000 / steps, note: 'self time per step' });
    return rows;
  });
}
