/**
 * The web player's site for a full-size avatar: its size by part and the time the page takes to load it (issue 22).
 *
 * Makes a synthetic capture prepared at the full map size (1024² per side, ~277k Gaussians, a 20-component pose PCA,
 * a 300-frame held-out motion), a checkpoint of ours holding a randomly initialised full-preset AvatarNet (the same
 * sizes as a trained one: 224 M parameters), exports it as `animgs export-web` does (exportWeb; f16 weights, the
 * default, and f32) and lists each site's files. Then `animgs serve`'s server (serveSite, in a process of its own: the
 * CLI's entry needs the job queue's packages, not staged) serves each site on a local port, and a fresh Node process
 * loads it as the page does (bench/player-load.ts --load URL): the page's own code — src/player/fetch.ts (every file over HTTP,
 * checked against site.json), PlayerAvatar.decode (parse and convert), PlayerAvatar.build (the networks, canonical
 * tensors, pose-map builder and PCA onto the GPU), then a renderer at the page's canvas size (1024²) and its first
 * frame — through Dawn instead of a browser's WebGPU. Phases:
 *  - device: adapter, device and the engine's set-up (initEngine);
 *  - network: index.html, player.js, site.json and every avatar/motion file over HTTP from localhost;
 *  - parse: safetensors parsed, f16 weights converted to f32, the canonical Gaussians listed (CPU);
 *  - upload: PlayerAvatar.build until the GPU is idle, less the pipelines it created;
 *  - pipelines: every compute pipeline created (the engine creates them synchronously when a kernel is first used:
 *    WGSL → SPIR-V → the driver's compiler), summed over all phases; most are the first frame's;
 *  - first frame: the renderer and its first frame (pose map, PCA, three networks, skinning, splatting; recorded
 *    and captured) until the GPU is idle, less its pipelines.
 * The first load runs with an empty shader cache of the driver (a fresh __GL_SHADER_DISK_CACHE_PATH /
 * MESA_SHADER_CACHE_DIR): a first visit; the f16 site then loads again with that cache warm (a second visit: a
 * browser keeps its own shader cache the same way), then the f32 site (cache warm). Also computed: the seconds the site's bytes take over 100 Mbit/s and
 * 1 Gbit/s links.
 *
 * A browser differs from this measure in its GPU process (commands cross a process boundary), its WGSL compiler's
 * front end (Tint in both) and its network stack; the bytes and the work are the same.
 *
 * PLAYER_LOAD_RUNS lists the loads (default f16,f16,f32; empty: only the exports and their sizes).
 * `tiny` (run.ts --tiny, or PLAYER_LOAD_TINY=1) uses the tiny preset, 128² maps and a 64×64 canvas, for a lavapipe
 * smoke run. PLAYER_LOAD_DIR keeps the capture and checkpoint between runs (default /tmp/animgs-player-load-<size>).
 * Needs sharp (export-web reads the capture through the dataset reader) and the player bundle: on the GPU machine,
 * stage with bench/player-load-stage.sh.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalGaussians } from '../src/avatar/canonical.js';
import { AVATAR_PRESETS, type AvatarNetConfig } from '../src/avatar/config.js';
import { AvatarNet } from '../src/avatar/net.js';
import { exportWeb } from '../src/animate/web/export.js';
import { MANIFEST, type SiteManifest } from '../src/animate/web/format.js';
import { serveSite } from '../src/animate/web/serve.js';
import { loadTrainConfig } from '../src/avatar/config-file.js';
import { loadSmplxModel } from '../src/body/node/files.js';
import { readSmplParams } from '../src/data/smpl-params.js';
import { synthesizeCapture } from '../src/data/synth/capture.js';
import { getGpu, type Gpu } from '../src/gpu/index.js';
import { saveUntrainedCheckpoint } from './untrained-checkpoint.js';
import { FRONT_VIEW, PlayerAvatar } from '../src/player/avatar.js';
import { fetchSiteFiles } from '../src/player/fetch.js';
import { readCanonicalMaps } from '../src/prep/files.js';
import { prepare } from '../src/prep/prep.js';
import { initEngine } from '../src/tensor/index.js';
import { median, type BenchRow } from './table.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULT = 'PLAYER_LOAD_RESULT ';

interface Sizes {
  net: AvatarNetConfig;
  preset: 'full' | 'tiny';
  frames: number;
  testFrames: number;
  pca: number;
  canvas: string;
}

const FULL: Sizes = {
  net: AVATAR_PRESETS.full,
  preset: 'full',
  frames: 24,
  testFrames: 300,
  pca: 20,
  canvas: '1024x1024',
};
const TINY: Sizes = { net: AVATAR_PRESETS.tiny, preset: 'tiny', frames: 6, testFrames: 12, pca: 2, canvas: '64x64' };

/** One load of a served site, as the page does it (in this process: run it in a fresh one). */
export interface LoadTimes {
  deviceMs: number;
  /** Page files (index.html, player.js, site.json) and the avatar's files. */
  pageBytes: number;
  avatarBytes: number;
  pageMs: number;
  avatarMs: number;
  parseMs: number;
  uploadMs: number;
  firstFrameMs: number;
  /** Pipeline creation, in total and per phase (already included in none of the above). */
  pipelines: { ms: number; count: number; byPhase: Record<string, { ms: number; count: number }> };
  secondFrameMs: number;
  steadyFrameMs: number;
  totalMs: number;
  /** ArrayBuffer bytes held by the process after the parse (what a tab holds: the files and the f32 weights). */
  arrayBuffersAfterParse: number;
  gaussians: number;
  canvas: [number, number];
  precision: string;
}

/** Load the site at `url` as the page does, timing each phase (see the file comment). */
export async function measureLoad(url: string, canvas?: [number, number]): Promise<LoadTimes> {
  const base = url.endsWith('/') ? url : `${url}/`;
  // Node's fetch loads its HTTP client on first use (~0.1 s): not the page's cost, so done before the clock starts
  await fetch(new URL(MANIFEST, base), { method: 'HEAD' });
  const t0 = performance.now();
  const gpu = await getGpu();
  await initEngine(gpu);
  const tDevice = performance.now();
  // time every compute pipeline the engine creates from here on (Gpu.kernel compiles on a cache miss, synchronously)
  let phase = 'network';
  const byPhase: Record<string, { ms: number; count: number }> = {};
  const seen = new Set<string>();
  const kernel = gpu.kernel.bind(gpu);
  gpu.kernel = (name: string, source: string) => {
    if (seen.has(source)) return kernel(name, source);
    const t = performance.now();
    const k = kernel(name, source);
    const p = (byPhase[phase] ??= { ms: 0, count: 0 });
    p.ms += performance.now() - t;
    p.count++;
    seen.add(source);
    return k;
  };
  const pipeMs = (ph: string) => byPhase[ph]?.ms ?? 0;

  // network: the page, the manifest, then every file it lists (the page's own fetch code)
  let pageBytes = 0;
  for (const f of ['', 'player.js']) {
    const res = await fetch(new URL(f, base));
    if (!res.ok) throw new Error(`${f || 'index.html'}: the server answered ${res.status}`);
    pageBytes += (await res.arrayBuffer()).byteLength;
  }
  const mres = await fetch(new URL(MANIFEST, base));
  const mtext = await mres.text();
  pageBytes += new TextEncoder().encode(mtext).length;
  const manifest = JSON.parse(mtext) as SiteManifest;
  const tPage = performance.now();
  const files = await fetchSiteFiles(manifest, () => undefined, base);
  const tNet = performance.now();
  const avatarBytes = [...files.values()].reduce((s, b) => s + b.length, 0);

  phase = 'parse';
  const get = (p: string) => files.get(p)!;
  const decoded = PlayerAvatar.decode(
    manifest,
    get(manifest.net.file),
    get(manifest.canonical.file),
    manifest.motions.map((m) => get(m.file)),
  );
  const tParse = performance.now();
  const arrayBuffersAfterParse = process.memoryUsage().arrayBuffers;

  phase = 'upload';
  const avatar = PlayerAvatar.build(decoded);
  await gpu.sync();
  const tUpload = performance.now();

  phase = 'first frame';
  const [W, H] = canvas ?? [manifest.view.width, manifest.view.height];
  const anim = avatar.renderer(W, H, manifest.view.background);
  const frame = (i: number) => avatar.frame(0, i % manifest.motions[0]!.frames, avatar.camera(0, FRONT_VIEW, W, H));
  const render = async (i: number) => {
    const spec = frame(i);
    anim.render(spec);
    if (await anim.checkOverflow()) anim.render(spec); // as the page does: the pair buffers grew
    await gpu.sync();
  };
  await render(0);
  const tFirst = performance.now();
  phase = 'later frames';
  await render(1);
  const tSecond = performance.now();
  const steady: number[] = [];
  for (let i = 2; i < 8; i++) {
    const t = performance.now();
    await render(i);
    steady.push(performance.now() - t);
  }
  anim.dispose();
  avatar.dispose();
  const all = Object.values(byPhase);
  return {
    deviceMs: tDevice - t0,
    pageBytes,
    avatarBytes,
    pageMs: tPage - tDevice,
    avatarMs: tNet - tPage - pipeMs('network'),
    parseMs: tParse - tNet - pipeMs('parse'),
    uploadMs: tUpload - tParse - pipeMs('upload'),
    firstFrameMs: tFirst - tUpload - pipeMs('first frame'),
    pipelines: {
      ms: all.reduce((s, p) => s + p.ms, 0) - pipeMs('later frames'),
      count: all.reduce((s, p) => s + p.count, 0) - (byPhase['later frames']?.count ?? 0),
      byPhase,
    },
    secondFrameMs: tSecond - tFirst,
    steadyFrameMs: median(steady),
    totalMs: tFirst - t0,
    arrayBuffersAfterParse,
    gaussians: manifest.canonical.gaussians,
    canvas: [W, H],
    precision: manifest.net.precision,
  };
}

/** Run a command, echoing its output (indented); resolves with its output, rejects on a non-zero exit. */
function runCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const echo = (b: Buffer) => {
      out += b.toString();
      for (const line of b.toString().split('\n')) {
        if (line.trim() && !line.startsWith(RESULT) && !/^Warning|ExperimentalWarning|--trace-warnings/.test(line))
          console.log(`    ${line}`);
      }
    };
    p.stdout.on('data', echo);
    p.stderr.on('data', echo);
    p.on('error', fail);
    p.on('close', (code) =>
      code === 0 ? ok(out) : fail(new Error(`${args.slice(0, 3).join(' ')}: exit ${code}\n${out.slice(-2000)}`)),
    );
  });
}

/**
 * `animgs serve DIR --port 0`'s server (serveSite) in its own process; resolves with its URL and a stop function.
 * Not the CLI itself: its entry imports the job queue's packages, which the GPU staging leaves out.
 */
function serve(dir: string): Promise<{ url: string; stop: () => void }> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [join(HERE, 'player-load.js'), '--serve', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => (p.kill(), fail(new Error(`animgs serve: no URL in 30 s: ${out}`))), 30_000);
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = / at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok({ url: m[1]!, stop: () => void p.kill() });
      }
    });
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    p.on('close', (code) => (clearTimeout(timer), fail(new Error(`animgs serve exited (${code}): ${out}`))));
  });
}

/** The capture (synthetic, prepared at the preset's map size) and a checkpoint of a random-initialised network. */
async function makeAvatar(gpu: Gpu, root: string, s: Sizes): Promise<string> {
  const data = join(root, 'capture');
  const ckDir = join(root, 'results');
  const yaml = join(root, 'avatar.yaml');
  const done = join(root, 'ready.json');
  const key = JSON.stringify({ preset: s.preset, frames: s.frames, testFrames: s.testFrames, pca: s.pca });
  if (existsSync(done) && readFileSync(done, 'utf8') === key) return yaml;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  let t = performance.now();
  await synthesizeCapture(gpu, {
    cameras: 2,
    width: 64,
    height: 64,
    frames: s.frames,
    testFrames: s.testFrames,
    supersample: 1,
    out: data,
    seed: 1,
  });
  const model = loadSmplxModel(join(data, 'smplx_model.npz'));
  const smpl = readSmplParams(join(data, 'smpl_params.npz'));
  await prepare(gpu, { dataDir: data, model, smpl, size: s.net.mapSize, pcaComponents: s.pca });
  const maps = readCanonicalMaps(join(data, 'smpl_pos_map'));
  const gaussians = canonicalGaussians(maps);
  console.log(
    `  capture: ${s.frames} frames + ${s.testFrames} held-out poses, maps ${maps.size}² per side, ` +
      `${maps.pixels.length} Gaussians, PCA ${s.pca} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
  t = performance.now();
  const net = AvatarNet.init(s.net, gaussians, { seed: 1 });
  const params = net.parameters().reduce((n, p) => n + p.size, 0);
  await saveUntrainedCheckpoint(ckDir, net, {
    dataDir: data,
    frames: Array.from({ length: s.frames }, (_, i) => i),
    cameras: [],
    seed: 1,
    gaussians: maps.pixels.length,
  });
  net.dispose();
  console.log(
    `  checkpoint: ${s.preset} preset, ${(params / 1e6).toFixed(1)} M parameters (random initialisation) ` +
      `(${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
  writeFileSync(
    yaml,
    `mode: test
train:
  dataset: MvRgbDatasetTHuman4
  data: {data_dir: ${data}, frame_range: [0, ${s.frames}]}
  net_ckpt_dir: ${ckDir}
model: {with_viewdirs: true, random_style: false, preset: ${s.preset}}
test:
  pose_data: {data_path: ${join(data, 'poses_test.npz')}}
  view_setting: front
  n_pca: ${s.pca}
`,
  );
  writeFileSync(done, key);
  return yaml;
}

/** Every file of a site, with its size. */
function siteFiles(dir: string): Array<{ path: string; bytes: number }> {
  const out: Array<{ path: string; bytes: number }> = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: relative(dir, p), bytes: statSync(p).size });
    }
  };
  walk(dir);
  return out;
}

const mb = (b: number) => `${(b / 1e6).toFixed(b < 1e5 ? 3 : 1)} MB`;

export async function benchPlayerLoad(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const tiny = !!opts.tiny || process.env.PLAYER_LOAD_TINY === '1';
  const s = tiny ? TINY : FULL;
  const root = process.env.PLAYER_LOAD_DIR ?? join(tmpdir(), `animgs-player-load-${s.preset}`);
  await initEngine(gpu);
  const yaml = await makeAvatar(gpu, root, s);
  const rows: BenchRow[] = [];
  const what = `${s.preset} preset`;
  const shaderCache = mkdtempSync(join(tmpdir(), 'animgs-shader-cache-'));
  const loadEnv = {
    ...process.env,
    __GL_SHADER_DISK_CACHE: '1',
    __GL_SHADER_DISK_CACHE_PATH: shaderCache,
    __GL_SHADER_DISK_CACHE_SKIP_CLEANUP: '1',
    MESA_SHADER_CACHE_DIR: shaderCache,
  };
  // PLAYER_LOAD_RUNS=f16,f16,f32 (the default): the loads measured, in order; empty: only export and sizes
  const runs = (process.env.PLAYER_LOAD_RUNS ?? 'f16,f16,f32').split(',').filter(Boolean);
  const loads = runs.map((p, i): [string, string] => {
    if (p !== 'f16' && p !== 'f32') throw new Error(`PLAYER_LOAD_RUNS: '${p}' is not f16 or f32`);
    return [
      p,
      i === 0
        ? 'first visit: empty shader cache'
        : i === 1 && p === runs[0]
          ? 'second visit: shader cache warm'
          : 'shader cache warm',
    ];
  });
  const sites = new Map<string, { dir: string; bytes: number }>();
  try {
    for (const precision of ['f16', 'f32']) {
      const dir = join(root, `site-${precision}`);
      const t = performance.now();
      await exportWeb({
        config: loadTrainConfig(yaml),
        out: dir,
        precision,
        size: s.canvas,
        force: true,
        log: (line) => console.log(`    ${line}`),
      });
      const exportMs = performance.now() - t;
      const files = siteFiles(dir);
      const total = files.reduce((n, f) => n + f.bytes, 0);
      sites.set(precision, { dir, bytes: total });
      rows.push({
        bench: 'player-load',
        case: `export-web --precision ${precision} (${what})`,
        ms: exportMs,
        note: `site ${mb(total)}`,
      });
      const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as SiteManifest;
      for (const f of files) {
        const m = manifest.motions.find((x) => x.file === f.path);
        const extra = m ? `, ${m.frames} frames (${(f.bytes / m.frames / 1e3).toFixed(1)} kB per frame)` : '';
        rows.push({
          bench: 'player-load',
          case: `site ${precision}: ${f.path}`,
          ms: NaN,
          rate: f.bytes / 1e6,
          unit: 'MB',
          note: `${f.bytes} bytes${extra}`,
        });
      }
      rows.push({
        bench: 'player-load',
        case: `site ${precision}: total (${manifest.canonical.gaussians} Gaussians)`,
        ms: NaN,
        rate: total / 1e6,
        unit: 'MB',
        note: `100 Mbit/s: ${((total * 8) / 100e6).toFixed(1)} s; 1 Gbit/s: ${((total * 8) / 1e9).toFixed(2)} s (bytes only, no overheads)`,
      });
    }
    for (const [precision, label] of loads) {
      const site = sites.get(precision)!;
      const server = await serve(site.dir);
      let r: LoadTimes;
      try {
        const out = await runCommand(
          [join(HERE, 'player-load.js'), '--load', server.url, '--canvas', s.canvas],
          loadEnv,
        );
        const line = out.split('\n').find((l) => l.startsWith(RESULT));
        if (!line) throw new Error(`the load printed no result:\n${out.slice(-2000)}`);
        r = JSON.parse(line.slice(RESULT.length)) as LoadTimes;
      } finally {
        server.stop();
      }
      const c = `${precision} site, ${label}; ${what}, ${r.gaussians} Gaussians, ${r.canvas.join('×')}`;
      const phase = (name: string, ms: number, note = '') =>
        rows.push({ bench: 'player-load', case: `${name} (${c})`, ms, note });
      const perPhase = Object.entries(r.pipelines.byPhase)
        .filter(([k]) => k !== 'later frames')
        .map(([k, v]) => `${k}: ${v.count} in ${v.ms.toFixed(0)} ms`)
        .join(', ');
      phase('device + engine set-up', r.deviceMs);
      rows.push({
        bench: 'player-load',
        case: `network: index.html + player.js + site.json (${c})`,
        ms: r.pageMs,
        rate: r.pageBytes / 1e3 / r.pageMs,
        unit: 'MB/s',
        note: `${mb(r.pageBytes)} over localhost from animgs serve`,
      });
      rows.push({
        bench: 'player-load',
        case: `network: avatar + motion files (${c})`,
        ms: r.avatarMs,
        rate: r.avatarBytes / 1e3 / r.avatarMs,
        unit: 'MB/s',
        note: `${mb(r.avatarBytes)} over localhost (src/player/fetch.ts, the page's code)`,
      });
      phase(
        'parse + convert (PlayerAvatar.decode)',
        r.parseMs,
        `JS holds ${mb(r.arrayBuffersAfterParse)} of ArrayBuffers after it`,
      );
      phase('GPU upload (PlayerAvatar.build, until idle)', r.uploadMs, 'less its pipelines');
      phase('pipeline creation', r.pipelines.ms, `${r.pipelines.count} compute pipelines (${perPhase})`);
      phase(
        'first frame (renderer + frame 0, until idle)',
        r.firstFrameMs,
        'less its pipelines; records and captures the frame',
      );
      phase(
        'TOTAL: start to first frame',
        r.totalMs,
        'what the visitor waits for, with the network at localhost speed',
      );
      const bytes = r.pageBytes + r.avatarBytes;
      const rest = r.totalMs - r.pageMs - r.avatarMs;
      for (const [link, bps] of [
        ['100 Mbit/s', 100e6],
        ['1 Gbit/s', 1e9],
      ] as const) {
        const net = ((bytes * 8) / bps) * 1000;
        phase(
          `TOTAL over ${link} (computed)`,
          net + rest,
          `${(net / 1000).toFixed(1)} s for ${mb(bytes)} + the rest as measured`,
        );
      }
      phase('second frame', r.secondFrameMs);
      phase('steady frame (median of 6, each waited for)', r.steadyFrameMs);
    }
  } finally {
    rmSync(shaderCache, { recursive: true, force: true });
  }
  return rows;
}

// `node dist-bench/bench/player-load.js --serve DIR`: what `animgs serve DIR --port 0` does
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--serve')) {
  const dir = process.argv[process.argv.indexOf('--serve') + 1]!;
  serveSite(dir, { port: 0 }).then(
    (s) => console.log(`serving ${dir} at ${s.url}`),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

// `node dist-bench/bench/player-load.js --load URL [--canvas WxH]`: one load in this (fresh) process
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--load')) {
  const args = process.argv.slice(2);
  const url = args[args.indexOf('--load') + 1]!;
  const c = args.includes('--canvas') ? args[args.indexOf('--canvas') + 1]!.split('x').map(Number) : null;
  measureLoad(url, c ? [c[0]!, c[1]!] : undefined).then(
    (r) => {
      console.log(RESULT + JSON.stringify(r));
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
