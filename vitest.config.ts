import { defineConfig } from 'vitest/config';

// Tests run on the CPU WebGPU adapter (lavapipe) on 2 cores: one Dawn instance per worker process. Almost all the
// time goes into compiling kernels; test/budget/ keeps each file within a CPU budget (`npm run test:full`,
// ANIMGS_TEST_FULL=1, runs the full tile sweeps). Timeouts: the slowest test takes ~20 s on an idle machine with an
// empty shader cache; 90 s leaves room for a machine loaded by other work.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 90_000,
    hookTimeout: 90_000,
    setupFiles: ['test/budget/cpu-time.ts'],
    reporters: process.env.ANIMGS_TEST_FULL === '1' ? ['default'] : ['./test/budget/reporter.ts', 'default'],
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
