/**
 * How the tests start the `animgs` CLI as a child process: from the bundle the global setup built for this run
 * (test/setup/cli-bundle.ts), else (a run without that setup) from the TypeScript sources through the type-stripping
 * loader. Either way the child runs the current sources.
 */
import { join } from 'node:path';
import { inject } from 'vitest';
import type {} from '../setup/cli-bundle.js'; // the type of inject('animgsCliBundle')

const repo = join(__dirname, '..', '..');
const bundles = (() => {
  try {
    return inject('animgsCliBundle') ?? '';
  } catch {
    return ''; // not in a vitest worker (a bench script): the sources
  }
})();

/** Node's arguments before the CLI's own: `[process.execPath, ...CLI_ARGV, 'train', ...]` runs `animgs train ...`. */
export const CLI_ARGV: readonly string[] = bundles
  ? [join(bundles, 'main.mjs')]
  : ['--import', join(repo, 'test', 'train', 'ts-worker-register.mjs'), join(repo, 'src', 'cli', 'main.ts')];

/**
 * The queue tests' stand-in for the CLI (test/queue/stub-cli.mjs), for ANIMGS_QUEUE_CLI: a worker runs it with its
 * own node flags, so the source needs a worker started from the sources (through the loader), the bundle any worker.
 */
export const STUB_CLI = bundles ? join(bundles, 'stub-cli.mjs') : join(repo, 'test', 'queue', 'stub-cli.mjs');
