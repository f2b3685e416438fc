/** `animgs doctor`: what WebGPU adapter this machine has, what it can do, and whether it computes correctly. */
import type { Command } from 'commander';
import { getGpu, NoAdapterError } from '../gpu/index.js';
import { selfTest } from '../gpu/selftest.js';

const SHOWN_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export async function doctor(log: (line: string) => void = console.log): Promise<boolean> {
  let gpu;
  try {
    gpu = await getGpu();
  } catch (e) {
    log(`FAIL: ${(e as Error).message}`);
    if (!(e instanceof NoAdapterError)) log('(the adapter was found but a device could not be opened)');
    return false;
  }
  const i = gpu.info;
  log(`adapter:   ${i.vendor} ${i.device}${i.architecture ? ` (${i.architecture})` : ''}`);
  log(`           ${i.description}`);
  log(`kind:      ${i.kind === 'cpu' ? 'CPU (software rasterizer; fine for tests, slow for real work)' : 'GPU'}`);
  log(`runtime:   ${i.runtime === 'dawn' ? 'Dawn (npm webgpu) in Node ' + process.version : 'browser navigator.gpu'}`);
  log('limits:');
  for (const k of SHOWN_LIMITS) log(`  ${k.padEnd(36)} ${fmt(gpu.limits[k])}`);
  const f = gpu.features;
  log('features:');
  log(`  shader-f16                           ${f.f16 ? 'yes' : 'no'}`);
  log(
    `  subgroups                            ${f.subgroups ? `yes (sizes ${i.subgroupMinSize}–${i.subgroupMaxSize})` : 'no'}`,
  );
  log(`  timestamp-query                      ${f.timestamps ? 'yes' : 'no'}`);
  log(
    `  subgroup matrices (tensor cores)     ${f.subgroupMatrix ? `yes: ${i.subgroupMatrixConfigs.join(', ') || 'no configs'}` : 'no'}`,
  );
  const r = await selfTest(gpu);
  log(
    `self-test: ${r.ok ? 'ok' : 'FAILED'} (67×33 · 33×45 matrix product, max error ${r.maxError}, ${r.ms.toFixed(0)} ms)`,
  );
  return r.ok;
}

function fmt(v: number): string {
  if (v >= 1 << 30) return `${(v / 2 ** 30).toFixed(v % 2 ** 30 ? 2 : 0)} GiB (${v})`;
  if (v >= 1 << 20) return `${(v / 2 ** 20).toFixed(v % 2 ** 20 ? 2 : 0)} MiB (${v})`;
  return String(v);
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show the WebGPU adapter, its limits and features, and check that it computes correctly')
    .action(async () => {
      const ok = await doctor();
      process.exitCode = ok ? 0 : 1;
    });
}
