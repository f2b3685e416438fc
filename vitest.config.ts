import { defineConfig } from 'vitest/config';

// Tests run on the CPU WebGPU adapter (lavapipe) on 2 cores: one Dawn instance per worker process,
// generous timeouts because shaders compile and run on the CPU.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
