/**
 * Global setup (vitest.config.ts): the `animgs` CLI (and the queue tests' stand-in for it, which imports the job
 * channel from the sources) bundled once per test run by esbuild (a development dependency), for the tests that
 * start them as child processes (test/helpers/cli.ts). Started from the TypeScript sources through the type-stripping
 * loader (test/train/ts-worker-register.mjs), each process spent ~0.6 s of CPU transpiling its ~300 modules before
 * doing anything, and the suite starts a few dozen (queue workers, their jobs, the interruption tests' launchers and
 * commands); the bundle loads in ~0.4 s all included and is built in ~0.3 s.
 *
 * The bundle lies under node_modules/.cache (the packages stay external and resolve from the repository's
 * node_modules as the sources' own imports do), one folder per run so that runs side by side in one checkout do
 * not see each other's, removed at the end. `import.meta.url` is replaced by the source file's own URL, so that paths
 * found next to a module (the player's sources for export-web, the sampler's worker script) are those of a run from
 * the sources.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder of the bundles (main.mjs, stub-cli.mjs), or '' when they could not be built (the tests then run
     * the sources). */
    animgsCliBundle: string;
  }
}

const repo = join(__dirname, '..', '..');
const cacheDir = join(repo, 'node_modules', '.cache', 'animgs-test-cli');

export default async function setup(project: TestProject): Promise<() => void> {
  let dir = '';
  try {
    mkdirSync(cacheDir, { recursive: true });
    // folders a killed run left behind (a day old: not those of a run going on beside this one)
    for (const n of readdirSync(cacheDir)) {
      const p = join(cacheDir, n);
      const age = Date.now() - (statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 86_400_000) rmSync(p, { recursive: true, force: true });
    }
    dir = mkdtempSync(join(cacheDir, 'run-'));
    await build({
      entryPoints: {
        main: join(repo, 'src', 'cli', 'main.ts'),
        'stub-cli': join(repo, 'test', 'queue', 'stub-cli.mjs'),
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outdir: dir,
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
      plugins: [
        {
          name: 'source-import-meta-url',
          setup(b) {
            b.onLoad({ filter: /\.ts$/ }, (args) => {
              const text = readFileSync(args.path, 'utf8');
              const url = JSON.stringify(pathToFileURL(args.path).href);
              return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
            });
          },
        },
      ],
    });
    project.provide('animgsCliBundle', dir);
  } catch (e) {
    // a read-only node_modules, or a source esbuild cannot bundle: slower child processes, the same tests
    console.warn(`the CLI bundle for the child-process tests was not built (they run the sources): ${e}`);
    project.provide('animgsCliBundle', '');
  }
  return () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
