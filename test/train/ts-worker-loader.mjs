// Module hooks that let a worker thread run the TypeScript sources (the tests run from src/, not dist/): a '.js'
// import that does not exist resolves to the '.ts' beside it, and '.ts' files are stripped of types by oxc
// (through rolldown, which vitest already installs).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { transformSync } = await import(require.resolve('rolldown/experimental'));

export async function resolve(spec, ctx, next) {
  if (spec.endsWith('.js') && /^(\.|\/|file:)/.test(spec) && ctx.parentURL) {
    const url = new URL(spec, ctx.parentURL);
    if (!existsSync(fileURLToPath(url))) {
      const ts = new URL(url.href.replace(/\.js$/, '.ts'));
      if (existsSync(fileURLToPath(ts))) return { url: ts.href, format: 'module', shortCircuit: true };
    }
  }
  return next(spec, ctx);
}

export async function load(url, ctx, next) {
  if (!url.endsWith('.ts')) return next(url, ctx);
  const path = fileURLToPath(url);
  const out = transformSync(path, readFileSync(path, 'utf8'), { lang: 'ts' });
  if (out.errors?.length) throw new Error(`${path}: ${out.errors[0].message}`);
  return { format: 'module', source: out.code, shortCircuit: true };
}
