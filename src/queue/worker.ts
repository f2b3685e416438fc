/**
 * `animgs worker`: takes jobs from the queue and runs each as a child process (runner.ts). Why children: a job that
 * crashes (a device loss, out of memory) fails alone and the worker goes on; the worker's own event loop stays free
 * to renew its job locks on time while a command keeps the CPU busy; and a job's GPU memory is freed with its process.
 *
 * Stopping: SIGTERM (or Ctrl-C) asks each running training or template fit to stop with a checkpoint (they stop on
 * SIGINT after the current step), puts those jobs back in the queue for any worker to resume (`--resume`), lets
 * shorter jobs finish, and exits. A worker killed outright loses its lock; BullMQ's stalled-job check (in the other
 * workers) puts the job back once the lock expires, and the job's next run resumes from the last checkpoint.
 */
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { ProgressMessage } from './channel.js';
import { connectRedis } from './connection.js';
import { QUEUE_NAME, type JobData } from './jobs.js';
import { runJobProcess } from './runner.js';

/** What `queue status` reads from a job's progress. */
export interface JobProgress {
  label: string;
  done: number;
  total: number;
  /** Seconds left at the current stage's rate (absent until two reports). */
  etaS?: number;
  detail?: string;
  worker: string;
  /** ms since the epoch. */
  at: number;
}

export interface WorkerOptions {
  url: string;
  concurrency: number;
  gpu?: string;
  /** The job lock's lifetime: a dead worker's job returns to the queue this long after its last renewal. */
  lockMs?: number;
  log?: (line: string) => void;
}

/** Commands that checkpoint and resume; the others are re-run from the start (their outputs resume by file). */
const RESUMABLE = new Set(['train', 'template']);

/** Arguments of a job's next run: a job that ran before resumes from its checkpoint instead of refusing or starting over. */
export function argsForRun(data: JobData, attemptsStarted: number): { args: string[]; extra: string[] } {
  if (!RESUMABLE.has(data.command) || attemptsStarted <= 1) return { args: data.args, extra: [] };
  const args = data.args.filter((a) => a !== '--force' && a !== '--resume');
  return { args, extra: ['--resume'] };
}

/** The error a failed run leaves on its job: the command's own one-line message when it printed one. */
function failure(r: {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string[];
  stdoutTail: string[];
}): Error {
  const line = [...r.stderrTail].reverse().find((l) => l.startsWith('animgs: '));
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  const msg = `${line ?? r.stderrTail.at(-1) ?? r.stdoutTail.at(-1) ?? 'no output'} (${how})`;
  // the CLI marks its internal errors; any other one-line error is the user's input: retrying cannot help
  if (r.code === 1 && line && !line.includes('an internal error')) return new UnrecoverableError(msg);
  return new Error(msg);
}

/** A job's GPU: ANIMGS_GPU for our runtime (src/cli/gpu.ts); an index also as CUDA_VISIBLE_DEVICES, for CUDA tools. */
export function gpuEnv(gpu: string | undefined): Record<string, string> {
  if (gpu === undefined) return {};
  return /^\d+$/.test(gpu.trim()) ? { ANIMGS_GPU: gpu, CUDA_VISIBLE_DEVICES: gpu.trim() } : { ANIMGS_GPU: gpu };
}

export async function runWorker(opts: WorkerOptions): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const connection = await connectRedis(opts.url);
  const name = `${hostname()}:${process.pid}${opts.gpu !== undefined ? `:gpu${opts.gpu}` : ''}`;
  const lockMs = opts.lockMs ?? 30_000;
  const running = new Map<string, { child?: ChildProcess; command: string; interrupted: boolean }>();
  let stopping = false;

  const processor = async (job: Job<JobData>, token?: string) => {
    const data = job.data;
    const { args, extra } = argsForRun(data, job.attemptsStarted);
    const entry: { child?: ChildProcess; command: string; interrupted: boolean } = {
      command: data.command,
      interrupted: false,
    };
    running.set(job.id!, entry);
    log(`worker ${name}: job ${job.id} ${data.command} ${[...args, ...extra].join(' ')} (run ${job.attemptsStarted})`);
    const stages = new Map<string, { t0: number; done0: number }>();
    let lastSent = 0;
    let pending: JobProgress | undefined;
    const send = (p: JobProgress, force: boolean) => {
      pending = p;
      const now = Date.now();
      if (!force && now - lastSent < 1000) return; // progress lands in Redis at most once a second
      lastSent = now;
      pending = undefined;
      job.updateProgress({ ...p }).catch(() => undefined);
    };
    const onProgress = (m: ProgressMessage) => {
      const now = Date.now();
      let s = stages.get(m.label);
      if (!s || m.done < s.done0) stages.set(m.label, (s = { t0: now, done0: m.done }));
      const rate = (m.done - s.done0) / Math.max(1e-3, (now - s.t0) / 1000);
      const p: JobProgress = { label: m.label, done: m.done, total: m.total, worker: name, at: now };
      if (rate > 0 && m.done < m.total) p.etaS = Math.ceil((m.total - m.done) / rate);
      if (m.detail) p.detail = m.detail;
      send(p, m.done >= m.total);
    };
    send({ label: 'starting', done: 0, total: 1, worker: name, at: Date.now() }, true);
    const r = await runJobProcess(
      { ...data, args },
      {
        jobId: job.id!,
        extraArgs: extra,
        env: gpuEnv(opts.gpu),
        onProgress,
        onLine: (line) => void job.log(line).catch(() => undefined),
        onSpawn: (child) => {
          entry.child = child;
          // a SIGTERM that came while this job was being fetched
          if (stopping && RESUMABLE.has(data.command)) {
            entry.interrupted = true;
            child.kill('SIGINT');
          }
        },
      },
    ).finally(() => running.delete(job.id!));
    if (pending) await job.updateProgress({ ...(pending as JobProgress) }).catch(() => undefined);
    if (r.code === 0) {
      log(`worker ${name}: job ${job.id} ${data.command} done`);
      return { artifacts: data.artifacts, output: r.stdoutTail.slice(-3) };
    }
    if (entry.interrupted && (r.code === 130 || r.code === 0)) {
      // stopped with a checkpoint at our request: back to the queue (not a failed attempt) for any worker to resume
      log(`worker ${name}: job ${job.id} ${data.command} checkpointed; back in the queue`);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const err = failure(r);
    log(`worker ${name}: job ${job.id} ${data.command} failed: ${err.message}`);
    throw err;
  };

  const worker = new Worker<JobData>(QUEUE_NAME, processor, {
    connection,
    concurrency: opts.concurrency,
    name,
    lockDuration: lockMs,
    // look for other workers' dead jobs as often as a lock can expire
    stalledInterval: lockMs,
    // a job whose worker died twice is more likely the cause than the victim
    maxStalledCount: 2,
  });
  worker.on('error', (e) => log(`worker ${name}: ${e.message}`));
  log(`worker ${name}: waiting for jobs on ${opts.url} (concurrency ${opts.concurrency})`);

  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      if (stopping) {
        log(`worker ${name}: ${sig} again: leaving now`);
        process.exit(130);
      }
      stopping = true;
      log(`worker ${name}: ${sig}: finishing or checkpointing ${running.size} job(s), then exiting`);
      for (const e of running.values()) {
        if (RESUMABLE.has(e.command) && e.child) {
          e.interrupted = true;
          e.child.kill('SIGINT');
        }
      }
      worker
        .close()
        .catch((e: Error) => log(`worker ${name}: ${e.message}`))
        .finally(() => {
          connection.disconnect();
          resolve();
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  log(`worker ${name}: stopped`);
}
