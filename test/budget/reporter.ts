/**
 * A vitest reporter (listed before 'default' in vitest.config.ts, so its lines come before the summary) that fails
 * the run when a test file or the whole suite used more CPU than its budget (budgets.ts), and prints the five
 * costliest files, the suite's wall time and the five slowest tests (wall time: the target is under 20 s each on 2
 * idle cores with an empty shader cache, which a loaded machine stretches; so printed, not failed). Per-file CPU
 * seconds come from the setup file cpu-time.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { FILE_CPU_OVERRIDES, FILE_CPU_S, SUITE_CPU_S, TEST_WALL_S } from './budgets.js';

export default class BudgetReporter implements Reporter {
  private readonly dir = mkdtempSync(join(tmpdir(), 'animgs-test-budget-'));
  private start = 0;

  constructor() {
    // Worker processes inherit the environment: the setup file writes where this reporter reads.
    process.env.ANIMGS_TEST_BUDGET_DIR = this.dir;
  }

  onTestRunStart(): void {
    this.start = performance.now();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const wall = (performance.now() - this.start) / 1000;
    const cpu = new Map<string, number>();
    const testCpu = new Map<string, number>();
    const lines = (name: string) => {
      try {
        return readFileSync(join(this.dir, name), 'utf8').split('\n').filter(Boolean);
      } catch {
        return []; // no file finished (or the setup file did not run): nothing to check
      }
    };
    for (const line of lines('cpu.jsonl')) {
      const r = JSON.parse(line) as { file: string; cpu: number };
      cpu.set(relative(process.cwd(), r.file), r.cpu);
    }
    for (const line of lines('tests.jsonl')) {
      const r = JSON.parse(line) as { file: string; test: string; cpu: number };
      testCpu.set(`${relative(process.cwd(), r.file)} > ${r.test}`, r.cpu);
    }
    rmSync(this.dir, { recursive: true, force: true });
    const rows = [...cpu].sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((s, [, c]) => s + c, 0);
    const over = rows.filter(([f, c]) => c > (FILE_CPU_OVERRIDES[f] ?? FILE_CPU_S));
    const log = (s: string) => process.stdout.write(s + '\n');
    log('');
    log(
      `test budget: ${modules.length} files, ${wall.toFixed(0)} s wall, ${total.toFixed(0)} s CPU ` +
        `(budget ${SUITE_CPU_S} s); costliest: ` +
        rows
          .slice(0, 5)
          .map(([f, c]) => `${f} ${c.toFixed(0)} s`)
          .join(', '),
    );
    const tests = modules
      .flatMap((m) =>
        [...m.children.allTests()].map((t) => ({
          name: `${relative(process.cwd(), m.moduleId)} > ${t.fullName}`,
          s: (t.diagnostic()?.duration ?? 0) / 1000,
        })),
      )
      .sort((a, b) => b.s - a.s);
    const cpuOf = (name: string) => {
      const c = testCpu.get(name);
      return c === undefined ? '' : `, ${c.toFixed(1)} s CPU`;
    };
    log(`slowest tests (wall, target ${TEST_WALL_S} s on 2 idle cores with an empty shader cache):`);
    for (const t of tests.slice(0, process.env.ANIMGS_TEST_BUDGET_ALL === '1' ? 15 : 5))
      log(`  ${t.s.toFixed(1).padStart(7)} s  ${t.name}${cpuOf(t.name)}`);
    // ANIMGS_TEST_BUDGET_ALL=1: every file's CPU seconds, not only the costliest five
    if (process.env.ANIMGS_TEST_BUDGET_ALL === '1')
      for (const [f, c] of rows)
        log(`  ${c.toFixed(1).padStart(7)} s  ${f} (budget ${FILE_CPU_OVERRIDES[f] ?? FILE_CPU_S} s)`);
    for (const [f, c] of over)
      log(
        `test budget exceeded: ${f} used ${c.toFixed(0)} s of CPU (budget ${FILE_CPU_OVERRIDES[f] ?? FILE_CPU_S} s, ` +
          'test/budget/budgets.ts): run each path once at the smallest shape, move sweeps to npm run test:full',
      );
    if (total > SUITE_CPU_S)
      log(`test budget exceeded: the suite used ${total.toFixed(0)} s of CPU (budget ${SUITE_CPU_S} s)`);
    if (over.length > 0 || total > SUITE_CPU_S) process.exitCode = 1;
  }
}
