/**
 * Setup file (vitest.config.ts): after each test file, append the CPU seconds its worker process used for it (user +
 * system, every thread: lavapipe compiles and runs kernels on the worker's own threads), and those of the child
 * processes it ran to their end (the CLI tests), to the budget log; likewise each test's (tests.jsonl, which the
 * reporter prints beside the slowest tests' wall time). CPU time, not wall time, so the check in reporter.ts holds on
 * a loaded machine as well as on an idle one.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

// Test files share worker processes (vitest.config.ts: isolate false, so kernels compiled for one file serve the
// next): a file's CPU is counted from its first hook, and environment variables a file sets are undone after it.
let start: NodeJS.CpuUsage | undefined;
let startChildren = 0;
let env: Record<string, string | undefined> = {};

/** CPU seconds of the worker's ended child processes (Linux: cutime + cstime of /proc/self/stat; 0 elsewhere). */
function childrenCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100; // fields 16 and 17, in clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return 0;
  }
}

beforeAll(() => {
  start = process.cpuUsage();
  startChildren = childrenCpu();
  env = { ...process.env };
});
afterAll(() => {
  for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
  Object.assign(process.env, env);
});

let testStart: NodeJS.CpuUsage | undefined;
let testStartChildren = 0;
beforeEach(() => {
  testStart = process.cpuUsage();
  testStartChildren = childrenCpu();
});
afterEach(() => {
  const dir = process.env.ANIMGS_TEST_BUDGET_DIR;
  const st = expect.getState();
  if (!dir || !st.testPath || !st.currentTestName) return;
  const u = process.cpuUsage(testStart);
  const cpu = (u.user + u.system) / 1e6 + Math.max(0, childrenCpu() - testStartChildren);
  appendFileSync(join(dir, 'tests.jsonl'), JSON.stringify({ file: st.testPath, test: st.currentTestName, cpu }) + '\n');
});

afterAll(() => {
  const dir = process.env.ANIMGS_TEST_BUDGET_DIR;
  const file = expect.getState().testPath;
  if (!dir || !file) return;
  const u = process.cpuUsage(start);
  const cpu = (u.user + u.system) / 1e6 + Math.max(0, childrenCpu() - startChildren);
  appendFileSync(join(dir, 'cpu.jsonl'), JSON.stringify({ file, cpu }) + '\n');
});
