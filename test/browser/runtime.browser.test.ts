/**
 * The same runtime in a browser: src/gpu is transpiled as-is to ES modules, served on localhost, and run in headless
 * Chromium (Debian's package, driven by playwright-core) on its WebGPU adapter (SwiftShader without a GPU). It
 * gets a device through navigator.gpu and runs the doctor's self-test kernel. Skipped, saying so, when no
 * Chromium is installed (.ci/run installs it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const PAGE = `<!doctype html><script type="module">
import { getGpu } from './gpu/index.js';
import { selfTest } from './gpu/selftest.js';
try {
  const gpu = await getGpu();
  const r = await selfTest(gpu);
  window.__result = { ok: r.ok, runtime: gpu.info.runtime, kind: gpu.info.kind, vendor: gpu.info.vendor };
} catch (e) { window.__result = { error: String(e && e.stack || e) }; }
</script>`;

function transpiledGpuModules(): Map<string, string> {
  const dir = join(import.meta.dirname, '../../src/gpu');
  const files = new Map<string, string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const out = ts.transpileModule(readFileSync(join(dir, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    files.set(`/gpu/${f.replace(/\.ts$/, '.js')}`, out.outputText);
  }
  return files;
}

describe.skipIf(!hasChromium)('gpu runtime in a browser', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    const files = transpiledGpuModules();
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      } else if (files.has(path)) {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(files.get(path));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => server?.close());

  it('gets a device through navigator.gpu and computes correctly', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--enable-unsafe-swiftshader',
        '--use-webgpu-adapter=swiftshader',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, {
        timeout: 60_000,
      });
      const result = await page.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result);
      expect(result.error).toBeUndefined();
      expect(result).toMatchObject({ ok: true, runtime: 'browser' });
    } finally {
      await browser.close();
    }
  });
});
