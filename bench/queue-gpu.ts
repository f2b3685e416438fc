/**
 * Animation throughput of N workers sharing ONE GPU (issue 23: a multi-GPU machine is not lent, so several workers on
 * one GPU stand in for one worker per GPU): the reference's full-size avatar (AvatarNet's full preset, untrained, on
 * the synthetic capture's canonical maps of 1024² per side, ~277k Gaussians, a 20-component pose PCA) animated over
 * QG_FRAMES frames (default 360) of the synthetic held-out motion at QG_SIZE (1024x1024), free orbit, PNG frames and
 * the ffmpeg stand-in of the tests (no ffmpeg needed; the join still reads every PNG back and pipes it).
 *
 * Cases (after a short warm-up run that fills the shader cache):
 *  - direct: one `animgs animate` process renders every frame (the baseline of a job's fixed costs);
 *  - queue (when a redis-server is found: QG_REDIS, else PATH): for N in QG_WORKERS (default 1,2,4), N `animgs worker
 *    --gpu QG_GPU` processes (started before the clock), then `queue add animate --split QG_PARTS` (default 8 parts
 *    for every N, so every case does the same jobs); the clock runs from `queue add` to the completed join;
 *  - procs: N concurrent `animgs animate --part a:b` processes of 1/N of the frames each, no queue (ANIMGS_GPU too).
 * Reported: frames/s of each case, the speed-up over N = 1, and the per-job overhead: (queue with 1 worker − direct)
 * / parts, the parts' own wall times against frames × the direct run's time per frame, and the join.
 *
 * `QG_SETUP_ONLY=1` stops after the setup (a check of the full-size setup on a slow adapter).
 * `QG_TINY=1`: the animation tests' tiny avatar (4-channel networks, 128² maps) at 64x64, 16 frames, 4 parts, for a
 * CPU smoke run. Results as JSON in QG_OUT (default: none) / queue-gpu.json. Run compiled (GPU machine):
 *   node dist-bench/bench/queue-gpu.js
 * or from the sources: node --import ./test/train/ts-worker-register.mjs bench/queue-gpu.ts
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AVATAR_PRESETS, type AvatarNetConfig } from '../src/avatar/config.js';
import { getGpu } from '../src/gpu/index.js';
import { untrainedAvatarCapture } from './untrained-checkpoint.js';
import { QUEUE_NAME } from '../src/queue/jobs.js';
import { initEngine } from '../src/tensor/index.js';
import { startRedis } from '../test/queue/redis.js';

const tiny = process.env.QG_TINY === '1';
const TINY_NET: AvatarNetConfig = {
  ...AVATAR_PRESETS.small,
  poseMapSize: 64,
  mapSize: 128,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
  styleDim: 8,
  viewdirHidden: 4,
};
const net = tiny ? TINY_NET : AVATAR_PRESETS.full;
const frames = Number(process.env.QG_FRAMES ?? (tiny ? 16 : 360));
const size = process.env.QG_SIZE ?? (tiny ? '64x64' : '1024x1024');
const parts = Number(process.env.QG_PARTS ?? (tiny ? 4 : 8));
const workerCounts = (process.env.QG_WORKERS ?? '1,2,4').split(',').map(Number);
const gpuId = process.env.QG_GPU ?? '0';
const pcaK = tiny ? 2 : 20;
const prepFrames = pcaK + 4;

// the CLI: compiled next to this file (dist-bench), else the sources through the type-stripping loader
const here = import.meta.dirname;
const compiled = import.meta.url.endsWith('.js');
const cliArgv = compiled
  ? [join(here, '..', 'src', 'cli', 'main.js')]
  : [
      '--import',
      join(here, '..', 'test', 'train', 'ts-worker-register.mjs'),
      join(here, '..', 'src', 'cli', 'main.ts'),
    ];

function redisBinary(): string | null {
  if (process.env.QG_REDIS) return existsSync(process.env.QG_REDIS) ? process.env.QG_REDIS : null;
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

const root = mkdtempSync(join(process.env.QG_TMP ?? tmpdir(), 'animgs-bench-qgpu-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  ANIMGS_NO_FILTER: '1',
  ANIMGS_FFMPEG: join(root, 'ffmpeg'),
};
const load = () => loadavg()[0]!.toFixed(1);
const s = (ms: number) => (ms / 1000).toFixed(1);

function cpuOf(pid: number): { own: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const t = (k: number) => Number(f[k - 3]) / 100;
  return { own: t(14) + t(15), children: t(16) + t(17) };
}

function cli(
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...cliArgv, ...args], {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr, ms: performance.now() - t0 })));
}

function must(r: { code: number | null; stderr: string; stdout: string }, what: string): void {
  if (r.code !== 0)
    throw new Error(`${what} failed (${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
}

/** The synthetic capture, prepared at the network's map size, an untrained network as a checkpoint, a long motion. */
async function setup(): Promise<{ yaml: string; poses: string }> {
  const t0 = performance.now();
  const gpu = await getGpu();
  await initEngine(gpu);
  const { yaml, poses, gaussians } = await untrainedAvatarCapture(gpu, root, net, {
    frames: prepFrames,
    pcaK,
    motionFrames: frames,
    preset: tiny ? 'small' : 'full',
  });
  writeFileSync(
    env.ANIMGS_FFMPEG!,
    '#!/bin/sh\nfor a in "$@"; do last="$a"; done\ncase "$*" in *-encoders*) echo " V..... libx264 H.264"; exit 0;; esac\ncat > "$last"\n',
  );
  chmodSync(env.ANIMGS_FFMPEG!, 0o755);
  console.log(
    `setup: ${gaussians} Gaussians, ${tiny ? 'tiny' : 'full'} network, ${frames} frames of motion at ${size} ` +
      `(${s(performance.now() - t0)} s); ${cpus().length} cores, GPU ${gpuId}`,
  );
  return { yaml, poses };
}

interface Row {
  mode: 'direct' | 'queue' | 'procs';
  workers: number;
  parts: number;
  seconds: number;
  fps: number;
  jobSeconds?: number[];
  joinSeconds?: number;
  addSeconds?: number;
  cpuJobs?: number;
  load: [string, string];
}

const rows: Row[] = [];
/** The rows so far as JSON in QG_OUT (after each case: a run cut short keeps what it measured). */
function save(row: Row): void {
  rows.push(row);
  if (!process.env.QG_OUT) return;
  mkdirSync(process.env.QG_OUT, { recursive: true });
  writeFileSync(
    join(process.env.QG_OUT, 'queue-gpu.json'),
    JSON.stringify({ frames, size, parts, tiny, gpu: gpuId, cores: cpus().length, rows }, null, 1),
  );
}
const { yaml, poses } = await setup();
if (process.env.QG_SETUP_ONLY === '1') {
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}
const flags = ['-c', yaml, '--poses', poses, '--size', size];
let out = 0;
const outDir = () => join(root, `out${++out}`);

// warm-up: the shader cache, the adapter (and --gpu's check)
must(await cli(['animate', ...flags, '--frames', '0:2', '--out', outDir()], { ANIMGS_GPU: gpuId }), 'warm-up');

{
  const l0 = load();
  const dir = outDir();
  const d = await cli(['animate', ...flags, '--out', dir], { ANIMGS_GPU: gpuId });
  must(d, 'direct animate');
  save({
    mode: 'direct',
    workers: 1,
    parts: 1,
    seconds: d.ms / 1000,
    fps: frames / (d.ms / 1000),
    load: [l0, load()],
  });
  console.log(
    `direct animate: ${frames} frames in ${s(d.ms)} s = ${(frames / (d.ms / 1000)).toFixed(1)} frames/s (load ${l0} → ${load()})`,
  );
  rmSync(dir, { recursive: true, force: true });
}

const redisBin = redisBinary();
if (!redisBin) console.log('queue: no redis-server (QG_REDIS or PATH): only direct and concurrent --part processes');
else {
  const redis = await startRedis(redisBin);
  env.ANIMGS_REDIS_URL = redis.url;
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection: conn });
  try {
    for (const n of workerCounts) {
      const procs: ChildProcess[] = [];
      const ready: Promise<void>[] = [];
      for (let k = 0; k < n; k++) {
        const w = spawn(process.execPath, [...cliArgv, 'worker', '--gpu', gpuId], { cwd: root, env, stdio: 'pipe' });
        let text = '';
        ready.push(
          new Promise((res, rej) => {
            w.stdout!.on('data', (b: Buffer) => /waiting for jobs/.test((text += String(b))) && res());
            w.stderr!.on('data', (b: Buffer) => (text += String(b)));
            w.on('exit', (c) => rej(new Error(`worker exited ${c}: ${text.trim()}`)));
          }),
        );
        procs.push(w);
      }
      await Promise.all(ready);
      const l0 = load();
      const dir = outDir();
      const t0 = performance.now();
      const add = await cli([
        'queue',
        'add',
        'animate',
        '-c',
        yaml,
        '--split',
        String(parts),
        '--',
        ...flags.slice(2),
        '--out',
        dir,
      ]);
      must(add, 'queue add');
      const id = /queued split animation (s\d+)/.exec(add.stdout)![1]!;
      for (;;) {
        const j = await queue.getJob(`${id}-join`);
        const st = await j!.getState();
        if (st === 'completed') break;
        if (st === 'failed') throw new Error(`join failed: ${j!.failedReason}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ms = performance.now() - t0;
      const jobs = await Promise.all(Array.from({ length: parts }, (_, k) => queue.getJob(`${id}-part${k}`)));
      const jobSeconds = jobs.map((j) => (j!.finishedOn! - j!.processedOn!) / 1000);
      const jn = (await queue.getJob(`${id}-join`))!;
      await new Promise((r) => setTimeout(r, 200));
      const cpu = procs.map((p) => cpuOf(p.pid!)).reduce((a, c) => a + c.children, 0);
      for (const p of procs) {
        p.removeAllListeners('exit');
        p.kill('SIGKILL');
      }
      const row: Row = {
        mode: 'queue',
        workers: n,
        parts,
        seconds: ms / 1000,
        fps: frames / (ms / 1000),
        jobSeconds,
        joinSeconds: (jn.finishedOn! - jn.processedOn!) / 1000,
        addSeconds: add.ms / 1000,
        cpuJobs: cpu,
        load: [l0, load()],
      };
      save(row);
      console.log(
        `queue, ${n} worker(s) on GPU ${gpuId}, ${parts} parts: ${s(ms)} s from queue add to joined = ` +
          `${row.fps.toFixed(1)} frames/s; part jobs ${jobSeconds.map((x) => x.toFixed(1)).join(', ')} s, join ` +
          `${row.joinSeconds!.toFixed(1)} s, queue add ${s(add.ms)} s; job processes' CPU ${cpu.toFixed(1)} s (load ${l0} → ${load()})`,
      );
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await queue.close();
    conn.disconnect();
    await redis.stop();
  }
}

for (const n of workerCounts) {
  const l0 = load();
  const t0 = performance.now();
  const dirs: string[] = [];
  const runs = Array.from({ length: n }, (_, k) => {
    const a = Math.floor((k * frames) / n);
    const b = Math.floor(((k + 1) * frames) / n);
    const dir = outDir();
    dirs.push(dir);
    return cli(['animate', ...flags, '--part', `${a}:${b}`, '--out', dir, '--force'], { ANIMGS_GPU: gpuId });
  });
  const res = await Promise.all(runs);
  res.forEach((r, k) => must(r, `animate --part (process ${k})`));
  const ms = performance.now() - t0;
  save({
    mode: 'procs',
    workers: n,
    parts: n,
    seconds: ms / 1000,
    fps: frames / (ms / 1000),
    jobSeconds: res.map((r) => r.ms / 1000),
    load: [l0, load()],
  });
  console.log(
    `${n} concurrent animate --part process(es), no queue: ${s(ms)} s = ${(frames / (ms / 1000)).toFixed(1)} frames/s; ` +
      `each ${res.map((r) => s(r.ms)).join(', ')} s (load ${l0} → ${load()})`,
  );
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

// summary
const direct = rows.find((r) => r.mode === 'direct')!;
const perFrame = direct.seconds / frames;
for (const mode of ['queue', 'procs'] as const) {
  const one = rows.find((r) => r.mode === mode && r.workers === 1);
  const line = rows
    .filter((r) => r.mode === mode)
    .map((r) => `N=${r.workers} ${r.fps.toFixed(1)} frames/s${one ? ` (×${(r.fps / one.fps).toFixed(2)})` : ''}`);
  if (line.length) console.log(`${mode}: ${line.join(', ')}`);
}
const q1 = rows.find((r) => r.mode === 'queue' && r.workers === 1);
if (q1) {
  const fixed = q1.jobSeconds!.map((x) => x - (frames / parts) * perFrame);
  console.log(
    `overhead per job: (queue, 1 worker − direct) / ${parts} parts = ${((q1.seconds - direct.seconds) / parts).toFixed(2)} s; ` +
      `a part's wall time beyond its frames × the direct run's ${(perFrame * 1000).toFixed(1)} ms/frame: ` +
      `${Math.min(...fixed).toFixed(2)}–${Math.max(...fixed).toFixed(2)} s; the join ${q1.joinSeconds!.toFixed(2)} s for ${frames} frames`,
  );
}
rmSync(root, { recursive: true, force: true });
process.exit(0);
