/**
 * The player page (bundled into player.js by export-web): loads site.json and the avatar's files with a progress
 * bar, builds the avatar (avatar.ts) on `navigator.gpu`, and plays a motion at its frame rate: each frame is
 * `animate`'s frame (AnimationRenderer), drawn from its GPU buffer to the canvas by a small render pass, with no read
 * back. Orbit by dragging, zoom with the wheel or a pinch; play/pause, timeline, motion and background pickers, and
 * FPS / GPU-time readouts. Anything that fails (no WebGPU, a missing feature, a missing or broken file) is shown on
 * the page, never a blank canvas. Tests drive it through `window.animgs`.
 */
import type { AnimationRenderer } from '../animate/frame.js';
import { getGpu, type Gpu } from '../gpu/index.js';
import { GpuTimer } from '../gpu/timing.js';
import { initEngine } from '../tensor/index.js';
import { FRONT_VIEW, PlayerAvatar, type OrbitView } from './avatar.js';
import { BakedRenderer } from './baked.js';
import { fetchSiteFiles } from './fetch.js';
import { MANIFEST, SITE_FORMAT, type SiteManifest } from '../animate/web/format.js';
import { to8bit } from '../io/image.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let failed = false;

function showError(msg: string): void {
  failed = true; // later progress updates of the other files must not overwrite the message
  $('overlay').hidden = false;
  $('status').textContent = 'The avatar cannot be shown';
  $('progress').hidden = true;
  const box = $('error');
  box.hidden = false;
  box.textContent = msg;
  (window as unknown as { animgsError?: string }).animgsError = msg;
}

/** One file, fetched as it is needed (a baked motion's chunks). */
async function fetchBytes(path: string): Promise<Uint8Array> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: the server answered ${res.status} ${res.statusText} (is the site complete?)`);
  return new Uint8Array(await res.arrayBuffer());
}

const BLIT = /* wgsl */ `
struct P { width: u32, height: u32 }
@group(0) @binding(0) var<storage, read> img: array<f32>;
@group(0) @binding(1) var<uniform> p: P;
@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u));
  return vec4f(xy * 2.0 - 1.0, 0.0, 1.0);
}
@fragment fn fs(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let x = min(u32(pos.x), p.width - 1u);
  let y = min(u32(pos.y), p.height - 1u);
  let n = p.width * p.height;
  let i = y * p.width + x;
  return vec4f(clamp(vec3f(img[i], img[n + i], img[2u * n + i]), vec3f(0.0), vec3f(1.0)), 1.0);
}`;

interface Drawer {
  draw(image: { buffer: GPUBuffer; toArray(): Promise<Float32Array> }, width: number, height: number): Promise<void>;
}

/**
 * The fallback drawer (`?canvas=2d`, or after the WebGPU canvas failed): reads the frame back and puts it on a 2D
 * canvas. Slower (a read back per frame), but needs no WebGPU swap chain, which some setups (headless Chromium on
 * SwiftShader) cannot make.
 */
class ReadbackDrawer implements Drawer {
  private readonly ctx: CanvasRenderingContext2D;
  constructor(canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d')!;
  }

  async draw(image: { toArray(): Promise<Float32Array> }, width: number, height: number): Promise<void> {
    const px = await image.toArray();
    const n = width * height;
    const out = this.ctx.createImageData(width, height);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) out.data[4 * i + c] = to8bit(px[c * n + i]!);
      out.data[4 * i + 3] = 255;
    }
    this.ctx.putImageData(out, 0, 0);
  }
}

/** Draws a frame's [5, H, W] image buffer to the canvas with a render pass (no read back). */
class Blitter implements Drawer {
  private readonly pipeline: GPURenderPipeline;
  private readonly params: GPUBuffer;
  private readonly context: GPUCanvasContext;

  constructor(
    private readonly gpu: Gpu,
    canvas: HTMLCanvasElement,
  ) {
    const device = gpu.device;
    const format = navigator.gpu.getPreferredCanvasFormat();
    this.context = canvas.getContext('webgpu')!;
    this.context.configure({ device, format, alphaMode: 'opaque' });
    const module = device.createShaderModule({ code: BLIT });
    this.pipeline = device.createRenderPipeline({
      layout: 'auto',
      vertex: { module, entryPoint: 'vs' },
      fragment: { module, entryPoint: 'fs', targets: [{ format }] },
    });
    this.params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  async draw(image: { buffer: GPUBuffer }, width: number, height: number): Promise<void> {
    const buffer = image.buffer;
    const device = this.gpu.device;
    this.gpu.flush(); // the frame's compute work first, in queue order
    device.queue.writeBuffer(this.params, 0, Uint32Array.of(width, height, 0, 0));
    const bind = device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer } },
        { binding: 1, resource: { buffer: this.params } },
      ],
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginRenderPass({
      colorAttachments: [
        {
          view: this.context.getCurrentTexture().createView(),
          loadOp: 'clear',
          storeOp: 'store',
          clearValue: [1, 1, 1, 1],
        },
      ],
    });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bind);
    pass.draw(3);
    pass.end();
    device.queue.submit([enc.finish()]);
  }
}

class Player {
  motion = 0;
  frame = 0;
  playing = true;
  view: OrbitView = { ...FRONT_VIEW };
  background: [number, number, number];
  private anim: AnimationRenderer;
  private baked: BakedRenderer | null = null;
  private readonly blit: Drawer;
  private readonly timer: GpuTimer;
  private clock = 0;
  private lastT = 0;
  private fpsFrames = 0;
  private fpsT0 = 0;
  private gpuMs: number | null = null;
  private framesDrawn = 0;
  private busy = false;
  private dirty = true;
  private pendingBackground: [number, number, number] | null = null;
  /** Renders run one after another (the loop's and the test API's), never interleaved. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly gpu: Gpu,
    private readonly avatar: PlayerAvatar,
    private readonly canvas: HTMLCanvasElement,
  ) {
    this.background = [...avatar.manifest.view.background] as [number, number, number];
    this.anim = avatar.renderer(canvas.width, canvas.height, this.background);
    this.blit = drawIn2d ? new ReadbackDrawer(canvas) : new Blitter(gpu, canvas);
    this.timer = new GpuTimer(gpu, 4);
  }

  get frames(): number {
    return this.avatar.motions[this.motion]!.frames;
  }

  get fps(): number {
    return this.avatar.manifest.motions[this.motion]!.fps;
  }

  /** Takes effect at the next render (a render in flight keeps its renderer). */
  setBackground(bg: [number, number, number]): void {
    this.pendingBackground = bg;
    this.dirty = true;
  }

  /** Run `fn` after every render queued before it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.chain.then(fn);
    this.chain = r.catch(() => undefined);
    return r;
  }

  setMotion(m: number): void {
    this.motion = m;
    this.frame = 0;
    this.clock = 0;
    this.dirty = true;
  }

  seek(i: number): void {
    this.frame = Math.max(0, Math.min(this.frames - 1, i));
    this.clock = this.frame / this.fps;
    this.dirty = true;
  }

  /** Render the current frame and draw it (the GPU time is measured on every 30th frame). */
  async renderNow(): Promise<void> {
    if (this.pendingBackground) {
      this.background = this.pendingBackground;
      this.pendingBackground = null;
      this.anim.dispose();
      this.anim = this.avatar.renderer(this.canvas.width, this.canvas.height, this.background);
      this.baked?.dispose();
      this.baked = null;
    }
    const { width: W, height: H } = this.canvas;
    if (this.avatar.isBaked(this.motion)) {
      // a baked motion: its posed Gaussians, splatted (no networks)
      const { chunk, index } = await this.avatar.bakedFrame(this.motion, this.frame);
      this.baked ??= new BakedRenderer(chunk.gaussians, W, H, this.background);
      const camera = this.avatar.camera(this.motion, this.view, W, H);
      this.baked.render(chunk, index, camera);
      if (await this.baked.checkOverflow()) this.baked.render(chunk, index, camera);
      await this.blit.draw(this.baked.image, W, H);
      this.framesDrawn++;
      return;
    }
    const spec = this.avatar.frame(this.motion, this.frame, this.avatar.camera(this.motion, this.view, W, H));
    const timed = this.framesDrawn % 30 === 5;
    if (timed) {
      this.timer.reset();
      await this.timer.mark();
    }
    this.anim.render(spec);
    if (timed) {
      await this.timer.mark();
      this.gpuMs = (await this.timer.read())[0] ?? null;
    }
    if (await this.anim.checkOverflow()) this.anim.render(spec); // the pair buffers grew: render the frame again
    await this.blit.draw(this.anim.image, W, H);
    this.framesDrawn++;
  }

  /** The current frame's colour, read back ([3, H, W] planar, on the background). */
  async readColor(): Promise<Float32Array> {
    return (await (this.avatar.isBaked(this.motion) && this.baked ? this.baked : this.anim).readImages()).color;
  }

  tick(t: number): void {
    if (this.busy) return;
    const dt = this.lastT ? (t - this.lastT) / 1000 : 0;
    this.lastT = t;
    if (this.playing && this.frames > 1) {
      this.clock += dt;
      const f = Math.floor(this.clock * this.fps) % this.frames;
      if (f !== this.frame) ((this.frame = f), (this.dirty = true));
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.busy = true;
    this.exclusive(async () => {
      await this.renderNow();
      await this.gpu.device.queue.onSubmittedWorkDone();
    })
      .then(() => {
        this.busy = false;
        this.fpsFrames++;
        if (!this.fpsT0) this.fpsT0 = performance.now();
        const el = performance.now() - this.fpsT0;
        if (el > 1000) {
          const fps = ((this.fpsFrames - 1) * 1000) / el;
          $('stats').textContent =
            `${fps.toFixed(1)} FPS` + (this.gpuMs !== null ? ` · GPU ${this.gpuMs.toFixed(1)} ms` : '');
          this.fpsFrames = 1;
          this.fpsT0 = performance.now();
        }
        updateTimeline(this);
      })
      .catch((e: unknown) => showError(`rendering failed: ${String((e as Error)?.message ?? e)}`));
  }

  invalidate(): void {
    this.dirty = true;
  }
}

function updateTimeline(p: Player): void {
  const tl = $<HTMLInputElement>('timeline');
  tl.max = String(p.frames - 1);
  tl.value = String(p.frame);
  $('frame').textContent = `${p.frame + 1} / ${p.frames}`;
}

function bindControls(p: Player, avatar: PlayerAvatar, canvas: HTMLCanvasElement): void {
  const play = $<HTMLButtonElement>('play');
  const setPlaying = (on: boolean) => ((p.playing = on), (play.textContent = on ? 'pause' : 'play'));
  play.onclick = () => setPlaying(!p.playing);
  document.addEventListener('keydown', (e) => {
    if (e.code === 'Space') (setPlaying(!p.playing), e.preventDefault());
  });
  const tl = $<HTMLInputElement>('timeline');
  tl.oninput = () => (setPlaying(false), p.seek(Number(tl.value)));
  const sel = $<HTMLSelectElement>('motion');
  avatar.manifest.motions.forEach((m, i) => sel.add(new Option(`${m.name} (${m.frames})`, String(i))));
  sel.onchange = () => p.setMotion(Number(sel.value));
  const bg = $<HTMLSelectElement>('background');
  bg.onchange = () => p.setBackground(bg.value.split(',').map(Number) as [number, number, number]);
  // orbit (one pointer), pinch zoom (two), wheel zoom
  const pts = new Map<number, { x: number; y: number }>();
  let pinch = 0;
  canvas.addEventListener(
    'pointerdown',
    (e) => (canvas.setPointerCapture(e.pointerId), pts.set(e.pointerId, { x: e.clientX, y: e.clientY })),
  );
  const up = (e: PointerEvent) => (pts.delete(e.pointerId), (pinch = 0));
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', up);
  canvas.addEventListener('pointermove', (e) => {
    const last = pts.get(e.pointerId);
    if (!last) return;
    if (pts.size === 1) {
      p.view.yaw += (e.clientX - last.x) * 0.01;
      p.view.pitch = Math.max(-1.4, Math.min(1.4, p.view.pitch + (e.clientY - last.y) * 0.01));
    }
    pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pts.size === 2) {
      const [a, b] = [...pts.values()];
      const d = Math.hypot(a!.x - b!.x, a!.y - b!.y);
      if (pinch) zoom(p, pinch / d);
      pinch = d;
    }
    p.invalidate();
  });
  canvas.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      zoom(p, Math.exp(e.deltaY * 0.001));
    },
    { passive: false },
  );
}

function zoom(p: Player, factor: number): void {
  p.view.distance = Math.max(0.5, Math.min(10, p.view.distance * factor));
  p.invalidate();
}

const query = new URLSearchParams(location.search);
/** Draw through a 2D canvas (read back) instead of a WebGPU canvas. */
const drawIn2d = query.get('canvas') === '2d';

async function main(): Promise<void> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    showError(
      'This browser has no WebGPU (navigator.gpu is missing). Use a current Chrome or Edge (WebGPU is on by default), ' +
        'Safari 26+, or Firefox 141+ on Windows; on Linux Chrome may need chrome://flags/#enable-unsafe-webgpu.',
    );
    return;
  }
  const q = query;
  let manifest: SiteManifest;
  try {
    const res = await fetch(MANIFEST);
    if (!res.ok) throw new Error(`the server answered ${res.status} ${res.statusText}`);
    manifest = (await res.json()) as SiteManifest;
  } catch (e) {
    showError(
      `${MANIFEST} could not be loaded (${(e as Error).message}): is this an animgs export-web folder, served over HTTP?`,
    );
    return;
  }
  if (manifest.format !== SITE_FORMAT) {
    showError(
      `${MANIFEST} is '${String(manifest.format)}', not '${SITE_FORMAT}': export the avatar again with this version`,
    );
    return;
  }
  const progress = $<HTMLProgressElement>('progress');
  $('status').textContent = `loading ${manifest.name}…`;
  let gpu: Gpu;
  try {
    gpu = await getGpu();
  } catch (e) {
    showError(`WebGPU is there but gives no usable device: ${(e as Error).message}`);
    return;
  }
  await initEngine(gpu);
  const files = await fetchSiteFiles(manifest, (d, t) => {
    if (failed) return;
    progress.value = d / t;
    $('status').textContent = `loading ${manifest.name}: ${(d / 1e6).toFixed(1)} of ${(t / 1e6).toFixed(1)} MB`;
  });
  $('status').textContent = 'building the avatar…';
  const avatar = await PlayerAvatar.load(manifest, async (p) => files.get(p) ?? fetchBytes(p));
  const size = /^(\d+)x(\d+)$/.exec(q.get('size') ?? '');
  const canvas = $<HTMLCanvasElement>('view');
  canvas.width = size ? Number(size[1]) : manifest.view.width;
  canvas.height = size ? Number(size[2]) : manifest.view.height;
  const p = new Player(gpu, avatar, canvas);
  bindControls(p, avatar, canvas);
  if (q.has('paused')) ((p.playing = false), ($('play').textContent = 'play'));
  $('status').textContent = 'compiling the kernels…';
  try {
    await p.renderNow();
    await gpu.sync();
  } catch (e) {
    const msg = String((e as Error)?.message ?? e);
    if (!drawIn2d && /Instance reference no longer exists|device lost|Device was destroyed/i.test(msg)) {
      // the WebGPU canvas took the device down (no swap chain here): load again drawing through a 2D canvas
      $('status').textContent = 'this browser cannot show a WebGPU canvas here: reloading with a 2D canvas…';
      query.set('canvas', '2d');
      location.search = query.toString();
      return;
    }
    const limit = /exceeds the maximum per-stage limit \((\d+)\)/.exec(msg);
    if (limit) {
      throw new Error(
        `this browser's WebGPU device allows ${limit[1]} storage buffers per shader stage, fewer than a kernel of ` +
          `the player needs (a browser or GPU with higher limits can play it): ${msg}`,
      );
    }
    throw e;
  }
  $('overlay').hidden = true;
  updateTimeline(p);
  const api = {
    player: p,
    /** Render motion m's frame i from a view and return its colour ([3, H, W] planar) as a plain array. */
    renderFrame(m: number, i: number, view: OrbitView = FRONT_VIEW): Promise<number[]> {
      p.playing = false;
      return p.exclusive(async () => {
        p.setMotion(m);
        p.seek(i);
        p.view = { ...view };
        await p.renderNow();
        return Array.from(await p.readColor());
      });
    },
  };
  (window as unknown as { animgs: typeof api }).animgs = api;
  const loop = (t: number) => (p.tick(t), requestAnimationFrame(loop));
  requestAnimationFrame(loop);
}

main().catch((e: unknown) => showError(String((e as Error)?.message ?? e)));
