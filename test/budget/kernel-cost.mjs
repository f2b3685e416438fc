#!/usr/bin/env node
/**
 * What the kernels logged by kernel-log.ts cost to compile: each logged WGSL source is compiled alone (one dispatch
 * of one workgroup on zero-filled buffers, the runtime's Dawn flags) and its CPU seconds measured, then summed per test file
 * and per test, with the costliest kernels. Run on the CPU adapter with the shader cache off:
 *
 *   ANIMGS_KERNEL_LOG=/tmp/klog MESA_SHADER_CACHE_DISABLE=true npx vitest run test/tensor/conv-tc2.test.ts
 *   MESA_SHADER_CACHE_DISABLE=true node test/budget/kernel-cost.mjs /tmp/klog [top N]
 *
 * Costs are cached in <dir>/cost.json (a hash is measured once), so a second log into the same directory measures
 * only new kernels. A kernel counts once per test file (a worker compiles it once per file), for the test that
 * compiled it first.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { create, globals } from 'webgpu';

const dir = process.argv[2];
const top = Number(process.argv[3] ?? 15);
if (!dir) {
  console.error('usage: node test/budget/kernel-cost.mjs <ANIMGS_KERNEL_LOG dir> [top N]');
  process.exit(2);
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';
Object.assign(globalThis, globals);
const entry = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,disable_robustness']);
const adapter = await entry.requestAdapter();
const wanted = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'];
const requiredLimits = {};
for (const k in adapter.limits) if (typeof adapter.limits[k] === 'number') requiredLimits[k] = adapter.limits[k];
const device = await adapter.requestDevice({
  requiredFeatures: wanted.filter((f) => adapter.features.has(f)),
  requiredLimits,
});
let lastError = null;
device.addEventListener('uncapturederror', (ev) => (lastError = ev.error.message));

const rows = readFileSync(join(dir, 'kernels.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const costFile = join(dir, 'cost.json');
const cost = existsSync(costFile) ? JSON.parse(readFileSync(costFile, 'utf8')) : {};

const VAR =
  /((?:@\s*(?:group|binding)\s*\(\s*\d+\s*\)\s*)+)var\s*<\s*(storage|uniform)\s*(?:,\s*(read_write|read))?\s*>/g;
const BYTES = 16 << 20;
async function measure(source) {
  const code = source.replace(/\/\/[^\n]*/g, '');
  const entries = [[], []];
  for (const m of code.matchAll(VAR)) {
    const group = Number(/group\s*\(\s*(\d+)/.exec(m[1])[1]);
    const binding = Number(/binding\s*\(\s*(\d+)/.exec(m[1])[1]);
    const uniform = m[2] === 'uniform';
    const buffer = device.createBuffer({ size: uniform ? 256 : BYTES, usage: uniform ? 0x40 : 0x80 });
    entries[group].push({ binding, resource: { buffer } });
  }
  const c0 = process.cpuUsage();
  const module = device.createShaderModule({ code: source });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  entries.forEach(
    (e, g) =>
      e.length && pass.setBindGroup(g, device.createBindGroup({ layout: pipeline.getBindGroupLayout(g), entries: e })),
  );
  pass.dispatchWorkgroups(1, 1, 1);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  const c = process.cpuUsage(c0);
  for (const e of entries.flat()) e.resource.buffer.destroy();
  return (c.user + c.system) / 1e6;
}

const hashes = [...new Set(rows.map((r) => r.hash))].filter((h) => cost[h] === undefined);
for (const [i, h] of hashes.entries()) {
  lastError = null;
  const s = await measure(readFileSync(join(dir, 'wgsl', `${h}.wgsl`), 'utf8'));
  cost[h] = lastError ? -1 : s;
  if (lastError) console.error(`${h}: ${lastError.split('\n')[0]}`);
  if (i % 20 === 19) {
    writeFileSync(costFile, JSON.stringify(cost));
    process.stderr.write(`measured ${i + 1}/${hashes.length}\n`);
  }
}
writeFileSync(costFile, JSON.stringify(cost));

const sum = (a) => a.reduce((s, v) => s + Math.max(0, v), 0);
const files = new Map();
for (const r of rows) {
  let f = files.get(r.file);
  if (!f) files.set(r.file, (f = { kernels: new Map(), tests: new Map() }));
  if (f.kernels.has(r.hash)) continue;
  f.kernels.set(r.hash, r);
  const t = f.tests.get(r.test) ?? { n: 0, bytes: 0, s: 0 };
  t.n++;
  t.bytes += r.bytes;
  t.s += Math.max(0, cost[r.hash]);
  f.tests.set(r.test, t);
}
const fmt = (s) => s.toFixed(1).padStart(6);
console.log('file | kernels | KiB of WGSL | compile CPU s');
const fileRows = [...files].map(([file, f]) => {
  const ks = [...f.kernels.values()];
  return [file, ks.length, sum(ks.map((k) => k.bytes)) / 1024, sum(ks.map((k) => cost[k.hash]))];
});
for (const [file, n, kib, s] of fileRows.sort((a, b) => b[3] - a[3]))
  console.log(`${file} | ${n} | ${kib.toFixed(0)} | ${fmt(s)}`);
console.log(`total | ${sum(fileRows.map((r) => r[1]))} | | ${fmt(sum(fileRows.map((r) => r[3])))}`);
console.log('\ncostliest tests: file > test | kernels | compile CPU s');
const tests = [...files].flatMap(([file, f]) => [...f.tests].map(([t, v]) => [`${file} > ${t}`, v]));
for (const [t, v] of tests.sort((a, b) => b[1].s - a[1].s).slice(0, top)) console.log(`${t} | ${v.n} | ${fmt(v.s)}`);
console.log('\ncostliest kernels: compile CPU s | KiB | name | first test');
const uniq = new Map(rows.map((r) => [r.hash, r]));
for (const r of [...uniq.values()].sort((a, b) => cost[b.hash] - cost[a.hash]).slice(0, top))
  console.log(`${fmt(cost[r.hash])} | ${(r.bytes / 1024).toFixed(1)} | ${r.name} | ${r.file} > ${r.test}`);
process.exit(0);
