/**
 * Setup file (vitest.config.ts): after each test file, append the CPU seconds its worker process used for it (user +
 * system, every thread: lavapipe compiles and runs kernels on the worker's own threads) to the budget log. CPU time,
 * not wall time, so the check in reporter.ts holds on a loaded machine as well as on an idle one.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';

// Test files share worker processes (vitest.config.ts: isolate false, so kernels compiled for one file serve the
// next): a file's CPU is counted from its first hook, and environment variables a file sets are undone after it.
let start: NodeJS.CpuUsage | undefined;
let env: Record<string, string | undefined> = {};
beforeAll(() => {
  start = process.cpuUsage();
  env = { ...process.env };
});
afterAll(() => {
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  Object.assign(process.env, env);
});

afterAll(() => {
  const dir = process.env.ANIMGS_TEST_BUDGET_DIR;
  const file = expect.getState().testPath;
  if (!dir || !file) return;
  const u = process.cpuUsage(start);
  appendFileSync(join(dir, 'cpu.jsonl'), JSON.stringify({ file, cpu: (u.user + u.system) / 1e6 }) + '\n');
});
