/**
 * The web player. In Node: `animgs export-web` writes the page, the bundle, the manifest and the avatar's files; the
 * player's avatar built from those bytes (src/player/avatar.ts, what the page runs) renders frame for frame what
 * `animgs animate` writes for the same pose and camera; f16 weights are the f32 ones rounded; an existing export is
 * kept unless --force; a baked motion's frames are animate's within f16 rounding. In headless Chromium (Debian's
 * package through playwright-core, on its SwiftShader WebGPU adapter; skipped, saying so, without it): the served site
 * loads and its frames, computed and baked, equal animate's (drawn through the page's 2D-canvas path: headless
 * Chromium here cannot make a WebGPU canvas's swap chain); a site with a missing file, or a browser without WebGPU,
 * shows a message on the page. Screenshots are kept in
 * tmp/test-artifacts/player (or $ANIMGS_TEST_ARTIFACTS).
 */
import { hasChromium, launchChromium, warnIfNoChromium, WEBGPU_SWIFTSHADER_FLAGS } from '../helpers/chromium.js';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { animate } from '../../src/animate/animate.js';
import { exportWeb } from '../../src/animate/web/export.js';
import { serveSite } from '../../src/animate/web/serve.js';
import { decodeNetWeights, MANIFEST, NET_FILE, type SiteManifest } from '../../src/animate/web/format.js';
import { loadTrainConfig } from '../../src/avatar/config-file.js';
import { readRgb } from '../../src/io/node/image.js';
import { FRONT_VIEW, PlayerAvatar } from '../../src/player/avatar.js';
import { BakedRenderer } from '../../src/player/baked.js';
import { makePlayerFixture, type PlayerFixture } from './player-fixture.js';

warnIfNoChromium('player browser test');
const ARTIFACTS = process.env.ANIMGS_TEST_ARTIFACTS ?? join(import.meta.dirname, '../../tmp/test-artifacts/player');

let root: string;
let pf: PlayerFixture;
let site: string;
let frames: string;
const quiet = { log: () => undefined };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'animgs-player-'));
  pf = await makePlayerFixture(root);
  site = join(root, 'site');
  await exportWeb({ config: loadTrainConfig(pf.yaml), out: site, precision: 'f32', size: '24x20', ...quiet });
  // the default export: f16 weights, here with the first motion baked
  await exportWeb({ config: loadTrainConfig(pf.yaml), out: join(root, 'site16'), bake: ['poses_test'], ...quiet });
  frames = join(root, 'animation');
  await animate({
    config: loadTrainConfig(pf.yaml),
    view: 'front',
    size: '24x20',
    out: frames,
    video: false,
    ...quiet,
  });
});

afterAll(() => {
  pf?.fx.net.dispose();
  if (pf) for (const t of Object.values(pf.fx.canonical)) t.dispose();
  rmSync(root, { recursive: true, force: true });
});

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as SiteManifest;

describe('animgs export-web', () => {
  it('writes the page, one bundle, the manifest and the avatar files', () => {
    const m = manifestOf(site);
    for (const f of ['index.html', 'player.js', ...m.files.map((f) => f.path)])
      expect(existsSync(join(site, f)), f).toBe(true);
    expect(m.motions.map((x) => [x.name, x.frames])).toEqual([
      ['poses_test', 3],
      ['capture', 3],
    ]);
    expect(m.net.precision).toBe('f32');
    expect(readFileSync(join(site, 'index.html'), 'utf8')).toContain('<script type="module" src="player.js">');
    expect(readFileSync(join(site, 'player.js'), 'utf8')).not.toMatch(/from\s*["']node:/);
  });

  it("renders animate's frames from the site's bytes (the page's avatar, in Node)", async () => {
    const m = manifestOf(site);
    const avatar = await PlayerAvatar.load(m, async (p) => new Uint8Array(readFileSync(join(site, p))));
    const anim = avatar.renderer(24, 20, [1, 1, 1]);
    try {
      for (const i of [0, 2]) {
        anim.render(avatar.frame(0, i, avatar.camera(0, FRONT_VIEW, 24, 20)));
        const got = (await anim.readImages()).color;
        expect(await worstAgainstAnimate(got, i), `frame ${i}`).toBeLessThanOrEqual(1 / 255 + 1e-6); // 8-bit PNG
      }
    } finally {
      anim.dispose();
      avatar.dispose();
    }
  });

  it('stores f16 weights as the f32 ones rounded, and keeps an export unless --force', async () => {
    const f16 = join(root, 'site16');
    const a = decodeNetWeights(readFileSync(join(site, NET_FILE)));
    const b = decodeNetWeights(readFileSync(join(f16, NET_FILE)));
    for (const [k, v] of a) {
      const h = b.get(k)!;
      for (let i = 0; i < v.length; i++)
        expect(Math.abs(h[i]! - v[i]!)).toBeLessThanOrEqual(Math.abs(v[i]!) * 2 ** -11 + 6e-8);
    }
    expect(manifestOf(f16).net.precision).toBe('f16');
    await expect(exportWeb({ config: loadTrainConfig(pf.yaml), out: f16, ...quiet })).rejects.toThrow(/--force/);
  });
});

describe('export-web --bake', () => {
  it("plays a baked motion without the networks: its frames are animate's (f16 attributes)", async () => {
    const dir = join(root, 'site16');
    const m = manifestOf(dir);
    expect(m.motions.map((x) => !!x.baked)).toEqual([true, false]);
    expect(m.files.some((f) => f.path.includes('.baked.'))).toBe(false); // streamed, not loaded up front
    const avatar = await PlayerAvatar.load(m, async (p) => new Uint8Array(readFileSync(join(dir, p))));
    let baked: BakedRenderer | null = null;
    try {
      for (const i of [0, 2]) {
        const { chunk, index } = await avatar.bakedFrame(0, i);
        baked ??= new BakedRenderer(chunk.gaussians, 24, 20, [1, 1, 1]);
        baked.render(chunk, index, avatar.camera(0, FRONT_VIEW, 24, 20));
        expect(await worstAgainstAnimate((await baked.readImages()).color, i), `frame ${i}`).toBeLessThanOrEqual(
          4 / 255,
        );
      }
    } finally {
      baked?.dispose();
      avatar.dispose();
    }
    await expect(
      exportWeb({ config: loadTrainConfig(pf.yaml), out: join(root, 'x'), bake: ['nope'], ...quiet }),
    ).rejects.toThrow(/--bake nope: no such motion \(the motions: poses_test, capture, or all\)/);
  });
});

describe('animgs serve', () => {
  it('serves the site, answers 404 for what is not there and nothing outside the folder', async () => {
    const { server, url } = await serveSite(site, { port: 0 });
    try {
      const res = await fetch(`${url}${MANIFEST}`);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(((await res.json()) as SiteManifest).format).toBe(manifestOf(site).format);
      expect((await fetch(url)).headers.get('content-type')).toMatch(/text\/html/);
      expect((await fetch(`${url}nothing.js`)).status).toBe(404);
      expect([403, 404]).toContain((await fetch(`${url}%2e%2e/avatar.yaml`)).status);
    } finally {
      server.close();
    }
    await expect(serveSite(join(root, 'nowhere'))).rejects.toThrow(/does not exist/);
  });
});

/** The largest difference of a frame (clipped to [0, 1], as the PNG is) from animate's PNG frame i. */
async function worstAgainstAnimate(color: ArrayLike<number>, i: number): Promise<number> {
  const want = await readRgb(join(frames, 'rgb', `${String(i).padStart(8, '0')}.png`));
  expect(color.length).toBe(want.data.length);
  let worst = 0;
  for (let k = 0; k < color.length; k++)
    worst = Math.max(worst, Math.abs(Math.min(1, Math.max(0, color[k]!)) - want.data[k]!));
  return worst;
}

type PageWindow = {
  animgs?: { renderFrame(m: number, i: number): Promise<number[]> };
  animgsError?: string;
};

describe.skipIf(!hasChromium)('the player in a browser', () => {
  let server: Server;
  let url = '';
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    // a copy of the site with a motion missing, for the error page
    cpSync(site, join(root, 'broken'), { recursive: true });
    rmSync(join(root, 'broken', 'motions', 'capture.safetensors'));
    const s = await serveSite(root, { port: 0 });
    server = s.server;
    url = s.url;
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium(WEBGPU_SWIFTSHADER_FLAGS);
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  const settled = async (page: import('playwright-core').Page) => {
    await page.waitForFunction(
      () => {
        const w = window as unknown as PageWindow;
        return w.animgs !== undefined || w.animgsError !== undefined;
      },
      null,
      { timeout: 60_000 }, // well inside the test's own limit, so a stuck page fails with this wait's message
    );
    return page.evaluate(() => (window as unknown as PageWindow).animgsError);
  };

  it("loads the exported avatar and plays animate's frames", async () => {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    await page.goto(`${url}site/?size=24x20&paused&canvas=2d`);
    const error = await settled(page);
    await page.screenshot({ path: join(ARTIFACTS, 'player.png') });
    expect(error, logs.join('\n')).toBeUndefined();
    for (const i of [0, 2]) {
      const color = await page.evaluate((k) => (window as unknown as PageWindow).animgs!.renderFrame(0, k), i);
      // another GPU (SwiftShader's f32 arithmetic, not lavapipe's) and animate's 8-bit rounding
      expect(await worstAgainstAnimate(color, i), `frame ${i}`).toBeLessThanOrEqual(2 / 255);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'player-frame2.png') });
    await page.close();
  });

  it("plays a baked motion: the page splats the stored Gaussians (no networks), frames equal to animate's", async () => {
    // the f16 site, whose first motion is baked
    const baked = await browser.newPage();
    await baked.goto(`${url}site16/?size=24x20&paused&canvas=2d`);
    expect(await settled(baked)).toBeUndefined();
    const color = await baked.evaluate(() => (window as unknown as PageWindow).animgs!.renderFrame(0, 2));
    expect(await worstAgainstAnimate(color, 2), 'baked frame 2').toBeLessThanOrEqual(4 / 255);
    await baked.screenshot({ path: join(ARTIFACTS, 'player-baked.png') });
    // the controls: play advances the frames, a drag orbits, the pickers switch motion and background
    type Live = { animgs: { player: { frame: number; motion: number; view: { yaw: number }; background: number[] } } };
    const live = () =>
      baked.evaluate(() => {
        const p = (window as unknown as Live).animgs.player;
        return { frame: p.frame, motion: p.motion, yaw: p.view.yaw, bg: p.background };
      });
    await baked.click('#play');
    await baked.waitForFunction(() => (window as unknown as Live).animgs.player.frame !== 2, null, { timeout: 20_000 });
    await baked.click('#play'); // pause again
    const box = (await baked.locator('#view').boundingBox())!;
    await baked.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await baked.mouse.down();
    await baked.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2, { steps: 4 });
    await baked.mouse.up();
    await baked.selectOption('#motion', '1');
    await baked.selectOption('#background', '0,0,0');
    const s = await live();
    expect(s.yaw).toBeGreaterThan(0.2);
    expect(s.motion).toBe(1);
    await baked.waitForFunction(() => (window as unknown as Live).animgs.player.background[0] === 0, null, {
      timeout: 20_000,
    });
    expect(await baked.textContent('#frame')).toMatch(/ \/ 3$/);
    await baked.close();
  });

  it('shows what is wrong on the page: a missing file, a browser without WebGPU', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}broken/`);
    expect(await settled(page)).toMatch(/motions\/capture\.safetensors: the server answered 404/);
    expect(await page.isVisible('#error')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'player-missing-file.png') });
    await page.close();
    const bare = await browser.newPage();
    await bare.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
    });
    await bare.goto(`${url}site/`);
    expect(await settled(bare)).toMatch(/no WebGPU/);
    expect(await bare.isVisible('#error')).toBe(true);
    await bare.screenshot({ path: join(ARTIFACTS, 'player-no-webgpu.png') });
    await bare.close();
  });
});
