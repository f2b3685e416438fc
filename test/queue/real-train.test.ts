/**
 * The real `animgs train` through the queue, its worker killed mid-training (issue 23): a tiny synthetic capture
 * (2 cameras × 4 frames of 32², maps for the `tiny` preset), a train job of 8 steps with a checkpoint after each,
 * worker A SIGKILLed once step 3's checkpoint exists; worker B takes the stalled job over and resumes it. The losses
 * of every step and the final weights must equal an uninterrupted direct run's. Three training processes, each
 * compiling or loading the avatar's kernels: ~1 min on 2 cores, so only in the full run (ANIMGS_TEST_FULL=1); the
 * same behaviour with a stand-in command is in queue.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME } from '../../src/queue/jobs.js';
import { NO_REDIS, redisServerPath, startRedis, type TestRedis } from './redis.js';
import { CLI_ARGV, runCli } from './cli.js';

const FULL = process.env.ANIMGS_TEST_FULL === '1';
const bin = FULL ? redisServerPath() : null;
if (FULL && !bin) console.warn(NO_REDIS);
const root = mkdtempSync(join(tmpdir(), 'animgs-queue-train-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  ANIMGS_NO_FILTER: '1',
  MESA_SHADER_CACHE_DIR: join(root, 'mesa-shader-cache'),
  MESA_SHADER_CACHE_DISABLE: 'false',
};
let redis: TestRedis;
const STEPS = 8;

const cli = (args: string[]) => runCli(args, { cwd: root, env });

const yaml = (ckpt: string) => `mode: train
train:
  dataset: MvRgbDatasetTHuman4
  data:
    subject_name: synth
    data_dir: ${join(root, 'cap')}
    frame_range: [0, 4]
    used_cam_ids: [0, 1]
    load_smpl_pos_map: true
  net_ckpt_dir: ${join(root, ckpt)}
  random_bg_color: true
  num_workers: 0
  pretrain_iterations: 0
  iterations: ${STEPS}
  ckpt_interval: {epoch: 10, batch: 1}
  eval_interval: 100000
model:
  preset: tiny
  with_viewdirs: false
`;

/** The training log's losses per step (the line of each step's last run: a resumed step replaces nothing). */
function losses(ckpt: string): Record<number, number> {
  const out: Record<number, number> = {};
  for (const l of readFileSync(join(root, ckpt, 'train_log.jsonl'), 'utf8')
    .trim()
    .split('\n')) {
    const r = JSON.parse(l) as { stage?: string; iteration?: number; total?: number; event?: string };
    if (!r.event && r.stage === 'train' && r.total !== undefined) out[r.iteration!] = r.total;
  }
  return out;
}

beforeAll(async () => {
  if (!bin) return;
  redis = await startRedis(bin);
  env.ANIMGS_REDIS_URL = redis.url;
  const s = await cli(['synth', '--out', 'cap', '--cameras', '2', '--above', '0', '--size', '32', '--frames', '4']);
  expect(s.code, s.stderr).toBe(0);
  writeFileSync(join(root, 'direct.yaml'), yaml('direct'));
  writeFileSync(join(root, 'queued.yaml'), yaml('queued'));
  const p = await cli(['prep', '--config', 'direct.yaml', '--size', '128', '--pca', '2']);
  expect(p.code, p.stderr).toBe(0);
});
afterAll(async () => {
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!bin)('real training through the queue (full run only)', () => {
  it('an uninterrupted direct run', async () => {
    const r = await cli(['train', '-c', 'direct.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(losses('direct')).length).toBe(STEPS);
  });

  it("worker A killed after step 3's checkpoint; worker B resumes the job to the direct run's losses and weights", async () => {
    const added = await cli(['queue', 'add', 'train', '-c', 'queued.yaml']);
    expect(added.code, added.stderr).toBe(0);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: conn });
    const workers: ChildProcess[] = [];
    const worker = () => {
      const w = spawn(process.execPath, [...CLI_ARGV, 'worker', '--lock-ms', '2000'], {
        cwd: root,
        env,
        stdio: 'ignore',
      });
      workers.push(w);
      return w;
    };
    try {
      const a = worker();
      const t0 = Date.now();
      while (!existsSync(join(root, 'queued', 'batch_00000003'))) {
        if (Date.now() - t0 > 120_000) throw new Error('no checkpoint 3 in 2 min');
        await new Promise((r) => setTimeout(r, 20));
      }
      a.kill('SIGKILL');
      worker();
      for (;;) {
        const state = await (await queue.getJob('1'))!.getState();
        if (state === 'completed' || state === 'failed') break;
        if (Date.now() - t0 > 240_000) throw new Error(`train job still ${state}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const job = (await queue.getJob('1'))!;
      expect(job.failedReason ?? '').toBe('');
      expect([job.attemptsStarted, job.stalledCounter]).toEqual([2, 1]);
      const logs = (await queue.getJobLogs('1')).logs;
      expect(logs.some((l) => /^train: resuming train at iteration [3-8] /.test(l))).toBe(true);
      // every step the resumed run's log holds (it need not hold every step) has the direct run's loss
      const direct = losses('direct');
      const queued = losses('queued');
      expect(Object.keys(queued)).toContain(String(STEPS));
      for (const [step, loss] of Object.entries(queued)) expect([step, loss]).toEqual([step, direct[Number(step)]]);
      const weights = (d: string) => readFileSync(join(root, d, `batch_0000000${STEPS}`, 'net.safetensors'));
      expect(weights('queued').equals(weights('direct'))).toBe(true);
    } finally {
      for (const w of workers) w.kill('SIGKILL');
      await queue.close();
      conn.disconnect();
    }
  });
});
