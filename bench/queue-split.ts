/**
 * Throughput of a split animation on the queue (issue 23) against one direct `animgs animate` run, on whatever
 * adapter this machine gives (lavapipe here): the test fixture's tiny avatar (test/animate/fixture.ts), a capture of
 * QS_FRAMES frames (default 24) animated at QS_SIZE (default 128x128) from the free orbit, with the ffmpeg stand-in
 * of the tests (the join reads every PNG back and pipes it). For each case, workers are started first (their start
 * is not counted), then `queue add animate --split N` runs and the clock stops when the join completes. Cases:
 * QS_CASES, e.g. "1x2,1x4,2x2,2x4" (workers × parts); QS_PIN=1 pins worker k and its jobs to core k (one "device"
 * each: lavapipe spreads one process over every core, so unpinned workers share all of them). The marginal cost of a part job is (1x4 − 1x2) / 2, the
 * queue's overhead against the direct run (1x2 − direct) / 3 jobs. Run from the sources:
 *   node --import ./test/train/ts-worker-register.mjs bench/queue-split.ts
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME } from '../src/queue/jobs.js';
import { makeFixture, writeCheckpoint } from '../test/animate/fixture.js';
import { redisServerPath, startRedis } from '../test/queue/redis.js';
import { writeAnimateYaml } from '../test/helpers/tiny-capture.js';

const repo = join(import.meta.dirname, '..');
const loader = join(repo, 'test', 'train', 'ts-worker-register.mjs');
const main = join(repo, 'src', 'cli', 'main.ts');
const frames = Number(process.env.QS_FRAMES ?? 24);
const size = process.env.QS_SIZE ?? '128x128';
const cases = (process.env.QS_CASES ?? '1x2,2x2,1x4,2x4')
  .split(',')
  .map((c) => c.split('x').map(Number) as [number, number]);

const bin = redisServerPath();
if (!bin) throw new Error('redis-server not found (apt-get install -y redis-server)');
const root = mkdtempSync(join(tmpdir(), 'animgs-bench-split-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  ANIMGS_NO_FILTER: '1',
  ANIMGS_FFMPEG: join(root, 'ffmpeg'),
};
const load = () => loadavg()[0]!.toFixed(1);
/** CPU seconds of a live process itself and of its reaped children (the worker's job processes), from /proc. */
function cpuOf(pid: number): { own: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const t = (k: number) => Number(f[k - 3]) / 100; // fields 14..17 (1-based; the split dropped the first two)
  return { own: t(14) + t(15), children: t(16) + t(17) };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', loader, main, ...args], { cwd: root, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr, ms: performance.now() - t0 })));
}

const redis = await startRedis(bin);
env.ANIMGS_REDIS_URL = redis.url;
try {
  const fx = await makeFixture(root, frames);
  await writeCheckpoint(fx, join(root, 'results'));
  fx.net.dispose();
  const yaml = writeAnimateYaml(root, {
    data: fx.data,
    ckptDir: join(root, 'results'),
    lastFrame: 3,
    preset: 'small',
    test: 'view_setting: free\nn_pca: 2',
  });
  writeFileSync(
    env.ANIMGS_FFMPEG!,
    '#!/bin/sh\nfor a in "$@"; do last="$a"; done\ncase "$*" in *-encoders*) echo " V..... libx264 H.264"; exit 0;; esac\ncat > "$last"\n',
  );
  chmodSync(env.ANIMGS_FFMPEG!, 0o755);
  const flags = ['--poses', join(fx.data, 'smpl_params.npz'), '--size', size];
  // warm the shader cache once, then the direct run
  await cli(['animate', '-c', yaml, ...flags, '--frames', '0:2', '--out', join(root, 'warm')]);
  const l0 = load();
  const d = await cli(['animate', '-c', yaml, ...flags, '--out', join(root, 'direct')]);
  if (d.code !== 0) throw new Error(d.stderr);
  console.log(`direct animate, ${frames} frames at ${size}: ${(d.ms / 1000).toFixed(1)} s (load ${l0} → ${load()})`);
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection: conn });
  let n = 0;
  for (const [workers, parts] of cases) {
    const procs: ChildProcess[] = [];
    const ready: Promise<void>[] = [];
    for (let k = 0; k < workers; k++) {
      // QS_PIN=1: worker k (and its jobs) on core k alone, as one device per worker would be
      const argv = [process.execPath, '--import', loader, main, 'worker'];
      const cmd = process.env.QS_PIN === '1' ? ['taskset', '-c', String(k), ...argv] : argv;
      const w = spawn(cmd[0]!, cmd.slice(1), { cwd: root, env, stdio: 'pipe' });
      ready.push(new Promise((r) => w.stdout!.on('data', (b: Buffer) => /waiting for jobs/.test(String(b)) && r())));
      procs.push(w);
    }
    await Promise.all(ready);
    const la = load();
    const add = await cli([
      'queue',
      'add',
      'animate',
      '-c',
      yaml,
      '--split',
      String(parts),
      '--',
      ...flags,
      '--out',
      join(root, `s${++n}`),
    ]);
    if (add.code !== 0) throw new Error(add.stderr);
    const t0 = performance.now();
    const id = /queued split animation (s\d+)/.exec(add.stdout)![1]!;
    for (;;) {
      const j = await queue.getJob(`${id}-join`);
      const st = await j!.getState();
      if (st === 'completed') break;
      if (st === 'failed') throw new Error(j!.failedReason);
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = performance.now() - t0;
    const partMs = await Promise.all(
      Array.from({ length: parts }, async (_, k) => {
        const j = (await queue.getJob(`${id}-part${k}`))!;
        return j.finishedOn! - j.processedOn!;
      }),
    );
    const jn = (await queue.getJob(`${id}-join`))!;
    await new Promise((r) => setTimeout(r, 200)); // the last job process reaped
    const cpu = procs.map((p) => cpuOf(p.pid!));
    console.log(
      `${workers} worker(s), ${parts} parts: ${(ms / 1000).toFixed(1)} s from queued to joined (queue add itself ` +
        `${(add.ms / 1000).toFixed(1)} s); part jobs ${partMs.map((x) => (x / 1000).toFixed(1)).join(', ')} s, join ` +
        `${((jn.finishedOn! - jn.processedOn!) / 1000).toFixed(1)} s; CPU of the job processes ` +
        `${cpu.reduce((s, c) => s + c.children, 0).toFixed(1)} s, of the workers ${cpu.reduce((s, c) => s + c.own, 0).toFixed(1)} s ` +
        `(load ${la} → ${load()})`,
    );
    for (const p of procs) p.kill('SIGKILL');
  }
  await queue.close();
  conn.disconnect();
} finally {
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
  spawnSync('true');
}
