/**
 * The browser-safe core stays browser-safe: the browser entry points are bundled with esbuild for the browser, and any
 * Node built-in (`node:fs`, `fs`, `path`, ...) or Node-only package (sharp, the Dawn addon) that the bundle would pull
 * in fails the test, naming the import chain. Catches what the layer check (a scan of direct imports) cannot: a
 * browser-safe module importing a Node-only one of ours.
 */
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Message } from 'esbuild';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** Node-only packages; 'webgpu' (Dawn) is imported dynamically by gpu/adapter.ts only where `process` exists. */
const NODE_PACKAGES = ['sharp', 'cli-progress', 'commander'];

/** Bundle an entry for the browser; returns esbuild's errors (unresolvable Node imports) and the Node imports seen. */
async function bundleForBrowser(entry: string): Promise<{ errors: string[]; nodeImports: string[]; bytes: number }> {
  const nodeImports: string[] = [];
  const importedBy = new Map<string, string>(); // module -> the first module seen importing it, for the chain
  const short = (f: string) => f.replace(SRC + '/', 'src/');
  const chain = (f: string): string => {
    const seen: string[] = [];
    for (let at: string | undefined = f; at && !seen.includes(at); at = importedBy.get(at)) seen.push(short(at));
    return seen.join(' <- ');
  };
  const result = await build({
    entryPoints: [join(SRC, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    external: ['webgpu'],
    plugins: [
      {
        name: 'no-node',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            const bare = args.path.split('/')[0]!;
            if (NODE_BUILTINS.has(args.path) || NODE_BUILTINS.has(bare) || NODE_PACKAGES.includes(bare)) {
              nodeImports.push(`${args.path} <- ${chain(args.importer)}`);
              return { path: args.path, external: true };
            }
            if (args.path.startsWith('.')) {
              const target = join(args.resolveDir, args.path).replace(/\.js$/, '.ts');
              if (!importedBy.has(target)) importedBy.set(target, args.importer);
            }
            return undefined;
          });
        },
      },
    ],
  }).catch((e: { errors?: Message[] }) => ({ errors: e.errors ?? [], outputFiles: [] }));
  const errors = result.errors.map((m) => `${m.text} (${m.location?.file}:${m.location?.line})`);
  return { errors, nodeImports, bytes: result.outputFiles?.[0]?.contents.length ?? 0 };
}

describe('browser bundle', () => {
  it('src/browser.ts (the browser-safe public API) bundles with no Node module', async () => {
    const r = await bundleForBrowser('browser.ts');
    expect(r.errors).toEqual([]);
    expect(r.nodeImports).toEqual([]);
    expect(r.bytes).toBeGreaterThan(10_000);
  });

  it("src/player/main.ts (the web player's page) bundles with no Node module", async () => {
    const r = await bundleForBrowser('player/main.ts');
    expect(r.errors).toEqual([]);
    expect(r.nodeImports).toEqual([]);
  });

  it('the check sees a Node import when there is one (src/index.ts pulls in the file readers)', async () => {
    const r = await bundleForBrowser('index.ts');
    expect(r.nodeImports.some((s) => s.startsWith('node:fs'))).toBe(true);
  });
});
