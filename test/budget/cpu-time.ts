/**
 * Setup file (vitest.config.ts): after each test file, append the CPU seconds its worker process used (user +
 * system, every thread: lavapipe compiles and runs kernels on the worker's own threads) to the budget log. CPU time,
 * not wall time, so the check in reporter.ts holds on a loaded machine as well as on an idle one.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';

afterAll(() => {
  const dir = process.env.ANIMGS_TEST_BUDGET_DIR;
  const file = expect.getState().testPath;
  if (!dir || !file) return;
  const u = process.cpuUsage();
  appendFileSync(join(dir, 'cpu.jsonl'), JSON.stringify({ file, cpu: (u.user + u.system) / 1e6 }) + '\n');
});
