/**
 * The page's WebGPU canvas path in headless Chromium (Debian's package through playwright-core; skipped, saying so,
 * without it). With the flags test/browser/player.browser.test.ts uses (SwiftShader's WebGPU adapter) the canvas's
 * swap chain takes the device down ("A valid external Instance reference no longer exists") and the page falls back
 * to `?canvas=2d`. With the GPU process's Vulkan on SwiftShader and ANGLE on Vulkan (`--enable-features=Vulkan
 * --use-vulkan=swiftshader --use-angle=vulkan`) the WebGPU canvas works: the page stays on it, and what the canvas
 * shows on screen (a screenshot of it at its own size) is the frame the renderer computed, pixel for pixel.
 * Tried on Chromium 156 (Debian 12, no GPU; each with --enable-unsafe-webgpu), and what they gave:
 *  - --enable-unsafe-swiftshader --use-webgpu-adapter=swiftshader (the other browser test's), no adapter flag,
 *    --use-angle=swiftshader, --use-gl=angle --use-angle=swiftshader-webgl, --use-angle=vulkan alone,
 *    --enable-features=Vulkan alone or with --use-vulkan=swiftshader but without --use-angle=vulkan,
 *    --ozone-platform=headless, --disable-vulkan-surface, --in-process-gpu, --enable-features=SkiaGraphite,
 *    --disable-gpu-compositing: the device is lost at the first present ("A valid external Instance reference no
 *    longer exists." or "Device was destroyed.", from run to run);
 *  - --enable-features=Vulkan --use-vulkan=native --use-angle=vulkan --ignore-gpu-blocklist (Mesa's lavapipe as the
 *    system Vulkan): no device loss and the render pass writes the right pixels (read back), but the texture shown
 *    is invalid ("[Invalid Texture] is invalid due to a previous error. While validating CopyTextureForBrowser");
 *    the canvas stays blank on screen;
 *  - --enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan --use-angle=vulkan without
 *    --enable-unsafe-swiftshader: no adapter ("Failed to create WebGPU Context Provider").
 * Screenshots: tmp/test-artifacts/player (or $ANIMGS_TEST_ARTIFACTS).
 */
import { hasChromium, launchChromium, warnIfNoChromium } from '../helpers/chromium.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportWeb } from '../../src/animate/web/export.js';
import { serveSite } from '../../src/animate/web/serve.js';
import { loadTrainConfig } from '../../src/avatar/config-file.js';
import { makePlayerFixture, type PlayerFixture } from '../browser/player-fixture.js';

warnIfNoChromium('WebGPU canvas test');
const ARTIFACTS = process.env.ANIMGS_TEST_ARTIFACTS ?? join(import.meta.dirname, '../../tmp/test-artifacts/player');

/** The flags under which headless Chromium on a machine without a GPU presents a WebGPU canvas. */
const WEBGPU_CANVAS_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=vulkan',
];

type PageWindow = {
  animgs?: { renderFrame(m: number, i: number): Promise<number[]> };
  animgsError?: string;
};

const W = 24;
const H = 20;

describe.skipIf(!hasChromium)('the player on a WebGPU canvas in headless Chromium', () => {
  let root: string;
  let pf: PlayerFixture;
  let server: Server;
  let url = '';
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'animgs-player-canvas-'));
    pf = await makePlayerFixture(root);
    await exportWeb({
      config: loadTrainConfig(pf.yaml),
      out: join(root, 'site'),
      precision: 'f32',
      size: `${W}x${H}`,
      log: () => undefined,
    });
    const s = await serveSite(root, { port: 0 });
    server = s.server;
    url = s.url;
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium(WEBGPU_CANVAS_FLAGS);
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    pf?.fx.net.dispose();
    if (pf) for (const t of Object.values(pf.fx.canonical)) t.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('stays on the WebGPU canvas and shows the computed frames on screen', async () => {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    await page.goto(`${url}site/?size=${W}x${H}&paused`);
    await page.waitForFunction(
      () => {
        const w = window as unknown as PageWindow;
        return w.animgs !== undefined || w.animgsError !== undefined;
      },
      null,
      { timeout: 60_000 },
    );
    expect(await page.evaluate(() => (window as unknown as PageWindow).animgsError), logs.join('\n')).toBeUndefined();
    // no fallback: the page did not reload itself with ?canvas=2d
    expect(await page.evaluate(() => location.search)).not.toMatch(/canvas=2d/);
    // the canvas at its own size on screen, so that a screenshot of it is its pixels
    await page.addStyleTag({
      content: `#view { width: ${W}px !important; height: ${H}px !important; max-width: none !important; }`,
    });
    const shown: Uint8Array[] = [];
    for (const i of [0, 2]) {
      const color = await page.evaluate((k) => (window as unknown as PageWindow).animgs!.renderFrame(0, k), i);
      // two animation frames: the drawn frame reaches the compositor
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const png = await page.locator('#view').screenshot({ path: join(ARTIFACTS, `player-webgpu-canvas-${i}.png`) });
      const { default: sharp } = await import('sharp');
      const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([W, H]);
      const n = W * H;
      let worst = 0;
      for (let p = 0; p < n; p++) {
        for (let c = 0; c < 3; c++) {
          const want = Math.round(Math.min(1, Math.max(0, color[c * n + p]!)) * 255);
          worst = Math.max(worst, Math.abs(data[p * 3 + c]! - want));
        }
      }
      expect(worst, `frame ${i}: the canvas against the frame read back (8-bit levels)`).toBeLessThanOrEqual(1);
      shown.push(new Uint8Array(data));
    }
    // the canvas follows the frames (not a stale first image)
    expect(shown[0]!.some((v, k) => v !== shown[1]![k])).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'player-webgpu-canvas-page.png') });
    await page.close();
  });
});
