import { defineConfig } from 'vitest/config';

// Tests run on the CPU WebGPU adapter (lavapipe) on 2 cores: one Dawn instance per worker process. Almost all the
// time goes into compiling kernels, so the two workers run file after file without restarting (isolate: false): a
// kernel compiled for one file serves every later file of that worker (the avatar's ~100 kernels are shared by the
// train, animate, eval and demo tests); test/budget/cpu-time.ts undoes each file's environment changes; test/budget/
// keeps each file within a CPU budget and prints the slowest tests (`npm run test:full`, ANIMGS_TEST_FULL=1, runs the
// full tile sweeps). Timeouts: every test is meant to take under 20 s on 2 idle cores with an empty shader cache
// (its CPU seconds, printed by the reporter, are a load-independent reading of that); 120 s per test and per hook
// leaves 6× that for a machine fully loaded by other work. The full sweep (run on demand) compiles the slow tile
// variants too: 30 min per test.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    isolate: false,
    maxWorkers: 2,
    testTimeout: process.env.ANIMGS_TEST_FULL === '1' ? 1_800_000 : 120_000,
    hookTimeout: 120_000,
    // the CLI bundled once for the tests that run it as child processes, and a folder for the fixtures several files
    // share (test/setup/ says why)
    globalSetup: ['test/setup/cli-bundle.ts', 'test/setup/run-cache.ts'],
    setupFiles: ['test/budget/cpu-time.ts', 'test/budget/kernel-log.ts'],
    reporters: process.env.ANIMGS_TEST_FULL === '1' ? ['default'] : ['./test/budget/reporter.ts', 'default'],
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
