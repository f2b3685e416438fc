/**
 * The real `animgs prep` as a queue job (issue 23): a tiny synthetic capture (`animgs synth`, 2 cameras × 4 frames
 * of 32²), then `queue add prep` and a worker process, which runs the real command in a child process. The job's
 * outputs must equal a direct `animgs prep` run's byte for byte, its progress must come from prep's own counts
 * (through the IPC channel, not parsed text), and `queue status` must show it completed with its output folder.
 * The children share a Mesa shader cache of their own (empty at the start of the file, as a user's first run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME } from '../../src/queue/jobs.js';
import type { JobProgress } from '../../src/queue/worker.js';
import { NO_REDIS, redisServerPath, startRedis, type TestRedis } from './redis.js';
import { CLI_ARGV, fileTree, runCli } from './cli.js';

const bin = redisServerPath();
if (!bin) console.warn(NO_REDIS);
const root = mkdtempSync(join(tmpdir(), 'animgs-queue-real-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  ANIMGS_NO_FILTER: '1',
  MESA_SHADER_CACHE_DIR: join(root, 'mesa-shader-cache'),
  MESA_SHADER_CACHE_DISABLE: 'false',
};
let redis: TestRedis;

const cli = (args: string[]) => runCli(args, { cwd: root, env });
/** Every file under `dir` by hash, the prep stage markers (which record input mtimes) left out. */
const tree = (dir: string) => fileTree(dir, (n) => /^\.animgs-.*\.json$/.test(n));

const yaml = (data: string, maps: string) => `mode: train
train:
  dataset: MvRgbDatasetTHuman4
  data:
    subject_name: synth
    data_dir: ${data}
    frame_range: [0, 4]
    used_cam_ids: [0, 1]
    load_smpl_pos_map: true
    smpl_pos_map_dir: ${maps}
  net_ckpt_dir: ${join(root, 'results')}
model:
  with_viewdirs: false
`;

beforeAll(async () => {
  if (!bin) return;
  redis = await startRedis(bin);
  env.ANIMGS_REDIS_URL = redis.url;
  const s = await cli(['synth', '--out', 'cap', '--cameras', '2', '--above', '0', '--size', '32', '--frames', '4']);
  expect(s.code, s.stderr).toBe(0);
  writeFileSync(join(root, 'direct.yaml'), yaml(join(root, 'cap'), join(root, 'maps-direct')));
  writeFileSync(join(root, 'queued.yaml'), yaml(join(root, 'cap'), join(root, 'maps-queued')));
});
afterAll(async () => {
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!bin)('real commands through the queue', () => {
  it("a prep job on a worker writes what a direct prep run writes, with prep's own progress", async () => {
    const direct = await cli(['prep', '--config', 'direct.yaml', '--size', '32', '--pca', '2']);
    expect(direct.code, direct.stderr).toBe(0);
    // a relative config path: the job records it absolute (every worker sees the same shared path)
    const added = await cli(['queue', 'add', 'prep', '-c', 'queued.yaml', '--', '--size', '32', '--pca', '2']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`^queued job 1: prep --config ${root}/queued.yaml --size 32 --pca 2`));
    let worker: ChildProcess | undefined;
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: conn });
    try {
      worker = spawn(process.execPath, [...CLI_ARGV, 'worker'], { cwd: root, env, stdio: 'ignore' });
      const t0 = Date.now();
      for (;;) {
        const state = await (await queue.getJob('1'))!.getState();
        if (state === 'completed' || state === 'failed') break;
        if (Date.now() - t0 > 60_000) throw new Error(`prep job still ${state}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const job = (await queue.getJob('1'))!;
      expect(job.failedReason ?? '').toBe('');
      console.log(
        `prep job: ${Date.now() - t0} ms from the worker's start; log: ${(await queue.getJobLogs('1')).logs.join(' | ')}`,
      );
      expect(tree(join(root, 'maps-queued'))).toEqual(tree(join(root, 'maps-direct')));
      // the last count prep reported (through the channel), complete
      const p = job.progress as JobProgress;
      expect(p.label).toMatch(/^prep: /);
      expect(p.done).toBe(p.total);
      expect(job.returnvalue.artifacts).toEqual([join(root, 'maps-queued')]);
      expect((await queue.getJobLogs('1')).logs.some((l) => /^prep: done in/.test(l))).toBe(true);
      const st = await cli(['queue', 'status']);
      expect(st.stdout).toMatch(/\n1 +prep +completed +done +\S+ +1\/3\n +-> .*maps-queued\n/);
    } finally {
      worker?.kill('SIGKILL');
      await queue.close();
      conn.disconnect();
    }
  });
});
