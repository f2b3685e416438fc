/**
 * The benchmark runner. On the GPU machine (after `source .gpu/env.sh;`):
 *   node dist-bench/bench/run.js [--only matmul,copy,...] [--tiny] [--json FILE]
 * (`--only conv-paths,tfjs` also prints our best conv path against TensorFlow.js's WebGPU backend, bench/tfjs.ts)
 * prints a Markdown table and writes the rows as JSON (default bench/results/<date>-<device>.json, or $OUT/bench.json
 * when $OUT is set). `--tiny` shrinks every case so the runner itself can be smoke-tested on the CPU adapter.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getGpu, type Gpu } from '../src/gpu/index.js';
import { benchCopy } from './copy.js';
import { benchMatmul } from './matmul.js';
import { formatTable, type BenchRow } from './table.js';
import { oursVsTfjs } from './tfjs.js';

type Bench = (gpu: Gpu, tiny: boolean) => Promise<BenchRow[]>;

const BENCHES: Record<string, Bench> = {
  matmul: (gpu, tiny) => benchMatmul(gpu, tiny ? [128, 256] : [2048, 4096, 8192]),
  copy: (gpu, tiny) => benchCopy(gpu, tiny ? [4, 16] : [256, 1024]),
};

/** Benches that live in optional modules (added by later issues) register here when their files exist. */
async function optionalBenches(): Promise<void> {
  const extra: Array<[string, string, string]> = [
    ['conv', './conv.js', 'benchConv'],
    ['conv-paths', './conv-paths.js', 'benchConvPaths'],
    ['conv-wgsl', './conv-wgsl.js', 'benchConvWgsl'],
    ['splat', './splat.js', 'benchSplat'],
    ['unet', './unet.js', 'benchUnet'],
    ['unet-fusion', './unet-fusion.js', 'benchUnetFusion'],
    ['unet-timeline', './unet-timeline.js', 'benchUnetTimeline'],
    ['unet-check', './unet-check.js', 'benchUnetCheck'],
    ['profile', './profile.js', 'benchProfile'],
    ['train-step', './train-step.js', 'benchTrainStep'],
    ['train-memory', './train-memory.js', 'benchTrainMemory'],
    ['train-census', './train-census.js', 'benchTrainCensus'],
    ['animate', './animate.js', 'benchAnimate'],
    ['cpu-record', './cpu-record.js', 'benchCpuRecord'],
    ['upfirdn', './upfirdn.js', 'benchUpfirdn'],
    ['tc-training', './tc-training.js', 'benchTcTraining'],
    ['tfjs', './tfjs.js', 'benchTfjs'],
    ['data', './data.js', 'benchData'],
    ['player-load', './player-load.js', 'benchPlayerLoad'],
    ['template-mlp', './template-mlp.js', 'benchTemplateMlp'],
  ];
  for (const [name, file, fn] of extra) {
    try {
      const mod = (await import(file)) as Record<string, (gpu: Gpu, opts: { tiny: boolean }) => Promise<BenchRow[]>>;
      const f = mod[fn];
      if (f) BENCHES[name] = (gpu, tiny) => f(gpu, { tiny });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
      // A bench whose own file exists but a dependency does not (e.g. sharp, dropped from the GPU staging) says so.
      if (!String((e as Error).message).includes(file.slice(2)))
        console.log(`${name}: unavailable (${(e as Error).message.split('\n')[0]})`);
    }
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const tiny = args.includes('--tiny');
  const only = argValue(args, '--only')?.split(',');
  await optionalBenches();
  const gpu = await getGpu();
  const device = `${gpu.info.vendor} ${gpu.info.device}`.trim();
  console.log(`device: ${device} (${gpu.info.kind}); features: ${JSON.stringify(gpu.features)}`);
  const rows: BenchRow[] = [];
  for (const [name, bench] of Object.entries(BENCHES)) {
    if (only && !only.includes(name)) continue;
    const t0 = performance.now();
    try {
      const r = await bench(gpu, tiny);
      rows.push(...r);
      console.log(`${name}: ${r.length} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      console.error(`${name}: FAILED: ${(e as Error).stack ?? e}`);
      rows.push({ bench: name, case: 'failed', ms: NaN, note: String((e as Error).message).slice(0, 200) });
    }
  }
  console.log(formatTable(rows));
  const cmp = oursVsTfjs(rows); // when conv-paths and tfjs both ran: our best path against TF.js
  if (cmp.rows.length) {
    console.log(`\nours (best correct path) vs TensorFlow.js WebGPU, same device:\n${cmp.table}`);
    rows.push(...cmp.rows);
  }
  const date = new Date().toISOString().slice(0, 10);
  const file =
    argValue(args, '--json') ??
    (process.env.OUT
      ? join(process.env.OUT, 'bench.json')
      : join('bench', 'results', `${date}-${gpu.info.device.replace(/[^\w.-]+/g, '_')}.json`));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date, device, info: gpu.info, features: gpu.features, rows }, null, 2));
  console.log(`wrote ${file}`);
}

function argValue(args: string[], key: string): string | undefined {
  const i = args.indexOf(key);
  return i >= 0 ? args[i + 1] : undefined;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
