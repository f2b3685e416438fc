/**
 * The same runtime in a browser: src/gpu is transpiled as-is to ES modules, served on localhost, and run in headless
 * Chromium (Debian's package, driven by playwright-core) on its WebGPU adapter (SwiftShader without a GPU). It
 * gets a device through navigator.gpu, runs the doctor's self-test kernel, and replays a capture with a per-run
 * upload (Gpu.capture / perRun: the same code the animation and training loops replay). Skipped, saying so, when no
 * Chromium is installed (.ci/run installs it).
 */
import { hasChromium, launchChromium, warnIfNoChromium, WEBGPU_SWIFTSHADER_FLAGS } from '../helpers/chromium.js';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

warnIfNoChromium('browser test');

// After the self-test, a capture with a per-run upload, replayed once: y = a·x + 1 with a = the run's number.
const PAGE = `<!doctype html><script type="module">
import { getGpu } from './gpu/index.js';
import { selfTest } from './gpu/selftest.js';
const AXPB = \`@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
struct P { b: f32, n: u32 }
@group(1) @binding(0) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < p.n) { Y[g.x] = A[0] * X[g.x] + p.b; } }\`;
try {
  const gpu = await getGpu();
  const r = await selfTest(gpu);
  const k = gpu.kernel('browser_capture_axpb', AXPB);
  const x = gpu.bufferFrom(new Float32Array([1, 2, 3, 4]));
  const a = gpu.pool.acquire(16);
  const y = gpu.pool.acquire(16);
  const params = new DataView(new ArrayBuffer(8));
  params.setFloat32(0, 1, true);
  params.setUint32(4, 4, true);
  let run = 0;
  const replay = gpu.capture(() => {
    gpu.perRun(() => gpu.upload(a, new Float32Array([++run, 0, 0, 0])));
    gpu.dispatch(k, [x, a, y], [1], new Uint8Array(params.buffer));
  });
  replay.run();
  const replayed = Array.from(await gpu.readF32(y, 4));
  replay.dispose();
  window.__result = { ok: r.ok, runtime: gpu.info.runtime, kind: gpu.info.kind, vendor: gpu.info.vendor, replayed };
} catch (e) { window.__result = { error: String(e && e.stack || e) }; }
</script>`;

/** The runtime's modules (src/gpu and what they import from src/io) as browser JavaScript, by URL path. */
function transpiledGpuModules(): Map<string, string> {
  const files = new Map<string, string>();
  for (const sub of ['gpu', 'io']) {
    const dir = join(import.meta.dirname, '../../src', sub);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const out = ts.transpileModule(readFileSync(join(dir, f), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      });
      files.set(`/${sub}/${f.replace(/\.ts$/, '.js')}`, out.outputText);
    }
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

  it('gets a device through navigator.gpu, computes correctly and replays a capture', async () => {
    const browser = await launchChromium(WEBGPU_SWIFTSHADER_FLAGS);
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, null, {
        timeout: 60_000,
      });
      const result = await page.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result);
      expect(result.error).toBeUndefined();
      expect(result).toMatchObject({ ok: true, runtime: 'browser' });
      expect(result.replayed).toEqual([3, 5, 7, 9]); // the replay's own per-run upload: a = 2
    } finally {
      await browser.close();
    }
  });
});
