import { defineConfig } from 'vitest/config';

// Tests run on the CPU WebGPU adapter (lavapipe) on 2 cores: one Dawn instance per worker process. Almost all the
// time goes into compiling kernels; test/budget/ keeps each file within a CPU budget (`npm run test:full`,
// ANIMGS_TEST_FULL=1, runs the full tile sweeps). Timeouts: the slowest test takes ~70 s on 2 idle cores with an
// empty shader cache (most take under 20 s); 240 s leaves room for a machine fully loaded by other work.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    setupFiles: ['test/budget/cpu-time.ts', 'test/budget/kernel-log.ts'],
    reporters: process.env.ANIMGS_TEST_FULL === '1' ? ['default'] : ['./test/budget/reporter.ts', 'default'],
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
