/**
 * The web player's one JS bundle: src/player/main.ts and everything it imports (the engine, the networks, the rasterizer,
 * animate's frame), bundled by esbuild for the browser as one ES module. A prebuilt `player.bundle.js` beside this
 * module (a packaged build) is used as it is; otherwise esbuild (a development dependency) builds it from the
 * sources, which takes about a second. Node-only.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../io/errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PREBUILT_BUNDLE = 'player.bundle.js';

export async function playerBundle(): Promise<string> {
  const prebuilt = join(HERE, PREBUILT_BUNDLE);
  if (existsSync(prebuilt)) return readFileSync(prebuilt, 'utf8');
  return buildPlayerBundle();
}

/** `npm run build`: the bundle built once beside the compiled module, so an installed package needs no esbuild. */
export async function writePrebuiltBundle(): Promise<string> {
  const path = join(HERE, PREBUILT_BUNDLE);
  writeFileSync(path, await buildPlayerBundle());
  return path;
}

async function buildPlayerBundle(): Promise<string> {
  const prebuilt = join(HERE, PREBUILT_BUNDLE);
  // the page's sources (src/player, or dist/player in a build): bundled by path, not imported, so this Node-side
  // module does not depend on the browser layer above it
  const dir = join(HERE, '..', '..', 'player');
  const entry = ['main.ts', 'main.js'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!entry) throw new InputError(`the player's sources are missing in ${dir} (main.ts or main.js)`);
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new InputError(
      `export-web needs the player bundle: ${prebuilt} is missing and esbuild is not installed (npm install --save-dev esbuild)`,
    );
  }
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
    // Dawn's Node addon: gpu/adapter.ts imports it only where `process` exists, never in a page
    external: ['webgpu'],
    legalComments: 'none',
  });
  return r.outputFiles[0]!.text;
}
