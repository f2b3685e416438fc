/**
 * Global setup (vitest.config.ts): a folder for this test run's shared fixtures, empty at the start and removed at
 * the end. A deterministic fixture that several test files build the same way (the animation tests' synthesized and
 * prepared capture: test/animate/fixture.ts) is made by the first file that needs it and copied by the others, which
 * run in the other worker or later; each file still gets its own copy to write into.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's fixture folder ('' in a run without this setup: each file then makes its own). */
    animgsRunCache: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'animgs-test-run-'));
  project.provide('animgsRunCache', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
