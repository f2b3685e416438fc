/**
 * The job queue (issue 23) with a real Redis server (redis-server on a free port, started here) and real worker
 * processes (`animgs worker`, test/helpers/cli.ts). The jobs' commands are a stand-in (stub-cli.mjs: a few 100 ms
 * steps, checkpoints, progress through the real channel), so that each test takes seconds; the real commands through a
 * worker are in real-commands.test.ts. Covered: jobs spread over two workers; a worker killed mid-job (its job
 * stops, and another worker resumes it from the checkpoint to the uninterrupted result); SIGTERM (training
 * checkpoints and goes back to the queue, a short job finishes, the worker exits); a flow's order; a failed stage
 * failing the later ones; a transient failure retried; `queue status`; an unreachable server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QUEUE_NAME, jobData, jobOptions, type JobCommand, type JobData } from '../../src/queue/jobs.js';
import { NO_REDIS, redisServerPath, startRedis, type TestRedis } from './redis.js';
import { CLI_ARGV, runCli } from './cli.js';
import { STUB_CLI } from '../helpers/cli.js';

const bin = redisServerPath();
if (!bin) console.warn(NO_REDIS);

const root = mkdtempSync(join(tmpdir(), 'animgs-queue-'));
let redis: TestRedis;
let queue: Queue;
let conn: Redis;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  ANIMGS_NO_FILTER: '1', // the command in this one process: the test's signals reach the worker itself
  ANIMGS_QUEUE_CLI: STUB_CLI,
};

beforeAll(async () => {
  if (!bin) return;
  redis = await startRedis(bin);
  env.ANIMGS_REDIS_URL = redis.url;
  conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(QUEUE_NAME, { connection: conn });
});
afterAll(async () => {
  await queue?.close();
  conn?.disconnect();
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(async () => {
  if (bin) await conn.flushall();
});

interface WorkerProc {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/**
 * `animgs worker` as its own process, with locks of 3 s (a dead worker's job returns within seconds, yet a worker
 * slowed by a loaded machine still renews its lock in time: a false stall would run a job twice).
 */
function startWorker(...args: string[]): WorkerProc {
  const proc = spawn(process.execPath, [...CLI_ARGV, 'worker', '--lock-ms', '3000', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, out: () => out, exited };
}

async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.proc.exitCode === null && w.proc.signalCode === null) {
    w.proc.kill('SIGKILL');
    await w.exited;
  }
}

const cli = (args: string[]) => runCli(args, { env });

/** A folder with a config for the stand-in commands; its events.log records what ran. */
function subject(name: string): { dir: string; config: string; events: () => string[][] } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'avatar.yaml');
  writeFileSync(config, `train:\n  data:\n    data_dir: ${dir}/capture\n  net_ckpt_dir: ${dir}/ckpt\n`);
  const log = join(dir, 'events.log');
  return {
    dir,
    config,
    events: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => l.split(' '))
        : [],
  };
}

async function add(
  command: JobCommand,
  config: string,
  extra: string[],
  opts = jobOptions(3, 200),
): Promise<Job<JobData>> {
  return queue.add(command, jobData(command, config, extra, root), opts);
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function states(ids: string[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await queue.getJob(id))!.getState()));
}

/** The stand-in's result after `steps` steps, each run once, in order. */
const result = (steps: number) => {
  let sum = 0;
  for (let s = 1; s <= steps; s++) sum = (sum * 31 + s) % 1_000_003;
  return String(sum);
};

describe.skipIf(!bin)('job queue on Redis (BullMQ)', () => {
  it('jobs flow through two worker processes: all complete, both workers take some, results and artifacts recorded', async () => {
    const s = subject('two-workers');
    const jobs = [];
    for (let k = 0; k < 6; k++)
      jobs.push(await add('animate', s.config, ['--steps', '3', '--out', `${s.dir}/out${k}`]));
    const a = startWorker();
    const b = startWorker();
    try {
      const ids = jobs.map((j) => j.id!);
      await until('6 completed jobs', async () => (await states(ids)).every((x) => x === 'completed'));
      const done = await Promise.all(ids.map((id) => queue.getJob(id)));
      const by = new Set(done.map((j) => j!.processedBy));
      expect(by.size, `workers used: ${[...by].join(', ')}`).toBe(2);
      for (const [k, j] of done.entries()) {
        expect(j!.returnvalue.artifacts).toEqual([`${s.dir}/out${k}`]);
        expect((j!.progress as { done: number; total: number }).done).toBe(3);
      }
      const ends = s.events().filter((e) => e[4] === 'done');
      expect(ends.length).toBe(6);
      expect(new Set(ends.map((e) => e[5]))).toEqual(new Set([result(3)]));
    } finally {
      await Promise.all([stopWorker(a), stopWorker(b)]);
    }
  });

  it('a worker killed mid-training: its job stops, and another worker resumes it to the uninterrupted result', async () => {
    const s = subject('kill');
    const job = await add('train', s.config, ['--steps', '30', '--force']);
    const a = startWorker();
    let b: WorkerProc | undefined;
    try {
      await until('step 5 on worker A', () => s.events().some((e) => e[4] === 'step' && Number(e[5]) >= 5));
      a.proc.kill('SIGKILL');
      await a.exited;
      const pidA = s.events()[0]![3]!;
      // the dead worker's command sees its channel close and stops with a checkpoint (no orphan keeps working)
      await until('the orphan to stop', () => s.events().some((e) => e[3] === pidA && e[4] === 'interrupted'));
      b = startWorker();
      await until('the job to complete on B', async () => (await job.getState()) === 'completed', 20_000);
      const ev = s.events();
      const starts = ev.filter((e) => e[4] === 'start');
      expect(starts.length).toBe(2);
      expect(starts[0]!.slice(5)).toEqual(['0', 'fresh']);
      // the second run resumed from the last checkpoint (--resume replaced --force), not from the start
      const resumedAt = Number(starts[1]![5]);
      expect(starts[1]![6]).toBe('resume');
      expect(resumedAt).toBeGreaterThanOrEqual(5);
      const interruptedAt = Number(ev.find((e) => e[4] === 'interrupted')![5]);
      expect(resumedAt).toBe(interruptedAt);
      // each step ran once, whichever process ran it
      const steps = ev.filter((e) => e[4] === 'step').map((e) => Number(e[5]));
      expect(steps).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
      expect(readFileSync(join(s.dir, 'train.out'), 'utf8').trim()).toBe(result(30));
      const done = (await queue.getJob(job.id!))!;
      expect(done.processedBy).toContain(`:${b.proc.pid}`);
      // two starts, one stall, and no failed attempt (BullMQ counts the completed run as an attempt made)
      expect([done.attemptsStarted, done.stalledCounter, done.attemptsMade]).toEqual([2, 1, 1]);
    } finally {
      await stopWorker(a);
      if (b) await stopWorker(b);
    }
  });

  it('SIGTERM: training checkpoints and goes back to the queue, a short job finishes, the worker exits; another resumes', async () => {
    const s = subject('sigterm');
    const train = await add('train', s.config, ['--steps', '30']);
    const prep = await add('prep', s.config, ['--steps', '12']);
    const a = startWorker('--concurrency', '2');
    let b: WorkerProc | undefined;
    try {
      await until('both jobs running', () => {
        const ev = s.events();
        return (
          ev.some((e) => e[2] === 'train' && e[4] === 'step') && ev.some((e) => e[2] === 'prep' && e[4] === 'step')
        );
      });
      const t0 = Date.now();
      a.proc.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      const ev = s.events();
      // prep (not resumable) ran to its end; train stopped with a checkpoint and waits for a worker
      expect(ev.some((e) => e[2] === 'prep' && e[4] === 'done')).toBe(true);
      const stoppedAt = Number(ev.find((e) => e[2] === 'train' && e[4] === 'interrupted')![5]);
      expect(stoppedAt).toBeLessThan(30);
      expect(await prep.getState()).toBe('completed');
      expect(await train.getState()).toBe('waiting');
      console.log(`SIGTERM to exit: ${Date.now() - t0} ms, training stopped at step ${stoppedAt}`);
      expect(a.out()).toMatch(/checkpointed; back in the queue/);
      b = startWorker();
      await until('training to complete', async () => (await train.getState()) === 'completed');
      const starts = s.events().filter((e) => e[2] === 'train' && e[4] === 'start');
      expect(starts.map((e) => e.slice(5))).toEqual([
        ['0', 'fresh'],
        [String(stoppedAt), 'resume'],
      ]);
      expect(readFileSync(join(s.dir, 'train.out'), 'utf8').trim()).toBe(result(30));
    } finally {
      await stopWorker(a);
      if (b) await stopWorker(b);
    }
  });

  it("a flow's stages run in order (prep → train → animate → eval) across two workers", async () => {
    const s = subject('flow');
    const added = await cli([
      'queue',
      'add',
      'flow',
      '-c',
      s.config,
      '--prep-args',
      '--steps 2',
      '--train-args',
      '--steps 4',
      '--animate-args',
      '--steps 2',
      '--eval-args',
      '--steps 2',
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^queued flow f1: prep f1-prep → train f1-train → animate f1-animate → eval f1-eval/);
    // only the first stage can start
    expect(await states(['f1-prep', 'f1-train', 'f1-animate', 'f1-eval'])).toEqual([
      'waiting',
      'waiting-children',
      'waiting-children',
      'waiting-children',
    ]);
    const a = startWorker();
    const b = startWorker();
    try {
      await until('the flow to complete', async () => (await queue.getJob('f1-eval'))!.isCompleted());
      const ev = s.events().filter((e) => e[4] === 'start' || e[4] === 'done');
      // each stage starts after the one before has finished
      expect(ev.map((e) => `${e[2]} ${e[4]}`)).toEqual([
        'prep start',
        'prep done',
        'train start',
        'train done',
        'animate start',
        'animate done',
        'eval start',
        'eval done',
      ]);
    } finally {
      await Promise.all([stopWorker(a), stopWorker(b)]);
    }
  });

  it('a failed stage fails the later ones with its name (no retries for an input error); a crash is retried', async () => {
    const s = subject('fail');
    const bad = await cli([
      'queue',
      'add',
      'flow',
      '-c',
      s.config,
      '--stages',
      'prep,train,eval',
      '--prep-args',
      '--fail input',
    ]);
    expect(bad.code, bad.stderr).toBe(0);
    const t = subject('retry');
    const flaky = await add('animate', t.config, ['--steps', '2', '--fail', 'crash-once'], jobOptions(3, 300));
    const a = startWorker();
    try {
      await until('the flow to fail', async () => (await queue.getJob('f1-eval'))!.isFailed());
      const prep = (await queue.getJob('f1-prep'))!;
      expect(await prep.getState()).toBe('failed');
      expect(prep.attemptsMade).toBe(1); // an input error: retrying cannot help
      expect(prep.failedReason).toMatch(/^animgs: .*train\.dataset: missing \(required\) \(exit 1\)$/);
      expect(await states(['f1-train', 'f1-eval'])).toEqual(['failed', 'failed']);
      expect(
        s
          .events()
          .filter((e) => e[4] === 'start')
          .map((e) => e[2]),
      ).toEqual(['prep']);

      await until('the retried job to complete', async () => (await flaky.getState()) === 'completed');
      const j = (await queue.getJob(flaky.id!))!;
      // one failed attempt (an internal error), then the retry after the backoff (BullMQ counts both)
      expect([j.attemptsStarted, j.attemptsMade]).toEqual([2, 2]);
      expect(t.events().map((e) => e[4])).toEqual(['start', 'fail-crash', 'start', 'step', 'step', 'done']);

      const st = await cli(['queue', 'status']);
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toMatch(/f1-prep +prep +failed .*\n.*\n +animgs: .*train\.dataset: missing/);
      expect(st.stdout).toMatch(
        /f1-train +train +failed +0\/3\n.*\n +stopped: job f1-prep \(an earlier stage\) failed/,
      );
      expect(st.stdout).toMatch(/f1-eval +eval +failed +0\/3\n.*\n +stopped: job f1-train \(an earlier stage\) failed/);
    } finally {
      await stopWorker(a);
    }
  });

  it('queue status: state, progress, ETA, worker and artifacts of a running job; JSON; a Redis or a config that is not there', async () => {
    const s = subject('status');
    const job = await add('train', s.config, ['--steps', '200']);
    const a = startWorker();
    try {
      await until('step 4', () => s.events().some((e) => e[4] === 'step' && Number(e[5]) >= 4));
      await new Promise((r) => setTimeout(r, 1100)); // progress reaches Redis at most once a second
      const st = await cli(['queue', 'status']);
      expect(st.code, st.stderr).toBe(0);
      console.log(st.stdout);
      const line = st.stdout.split('\n').find((l) => l.startsWith(`${job.id} `))!;
      expect(line).toMatch(
        new RegExp(`^${job.id} +train +active +train \\d+/200 \\(sum \\d+\\) +\\d+ s +\\S+:${a.proc.pid} +0/3$`),
      );
      expect(st.stdout).toContain(`-> ${s.dir}/ckpt`);
      const js = await cli(['queue', 'status', '--json']);
      const rows = JSON.parse(js.stdout) as { id: string; state: string; artifacts: string[] }[];
      expect(rows.map((r) => [r.id, r.state, r.artifacts])).toEqual([[job.id, 'active', [`${s.dir}/ckpt`]]]);
    } finally {
      await stopWorker(a);
    }
    const t0 = Date.now();
    const none = await cli(['queue', 'status', '--redis', 'redis://127.0.0.1:1']);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toMatch(
      /^animgs: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1 \(.*\): start redis-server/,
    );
    expect(none.stderr.trim().split('\n').length).toBe(1);
    expect(Date.now() - t0).toBeLessThan(8000);
    // a config that is not there: refused when queued, not on a worker later
    const missing = await cli(['queue', 'add', 'train', '-c', join(root, 'nope.yaml')]);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, `animgs: -c ${join(root, 'nope.yaml')}: no such file`]);
  });
});
