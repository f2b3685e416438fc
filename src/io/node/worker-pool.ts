/**
 * A fixed set of worker threads running one job type: each job goes to the worker with the fewest jobs in flight,
 * results come back (with their buffers transferred, not copied) as promises. A worker that dies rejects its jobs.
 *
 * Protocol: the worker receives `{ id, job }` and answers `{ id, result }` or `{ id, error }`.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

interface Pending<R> {
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

export interface WorkerPoolOptions {
  /** Node options for the threads (e.g. a module loader when running from TypeScript sources). */
  execArgv?: string[];
}

export class WorkerPool<J, R> {
  private readonly workers: Worker[] = [];
  private readonly pending: Map<number, Pending<R>>[] = [];
  private nextId = 0;
  private closed = false;

  constructor(entry: URL, size: number, workerData: unknown, options: WorkerPoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`WorkerPool: size must be a positive integer, got ${size}`);
    for (let w = 0; w < size; w++) {
      const worker = new Worker(entry, { workerData, ...(options.execArgv ? { execArgv: options.execArgv } : {}) });
      const jobs = new Map<number, Pending<R>>();
      worker.on('message', (m: { id: number; result?: R; error?: string }) => {
        const p = jobs.get(m.id);
        if (!p) return;
        jobs.delete(m.id);
        if (jobs.size === 0) worker.unref();
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.result as R);
      });
      const fail = (e: Error) => {
        for (const p of jobs.values()) p.reject(e);
        jobs.clear();
      };
      worker.on('error', (e) => fail(new Error(`worker thread ${w} (${entry.pathname}) failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) fail(new Error(`worker thread ${w} (${entry.pathname}) exited with code ${code}`));
      });
      worker.unref(); // an idle pool never keeps the process alive; a busy one does (see run)
      this.workers.push(worker);
      this.pending.push(jobs);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  run(job: J): Promise<R> {
    if (this.closed) return Promise.reject(new Error('WorkerPool: run after close'));
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.pending[i]!.size < this.pending[w]!.size) w = i;
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending[w]!.set(id, { resolve, reject });
      this.workers[w]!.ref();
      this.workers[w]!.postMessage({ id, job });
    });
  }

  /** Stops the threads; jobs still in flight are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const jobs of this.pending) {
      for (const p of jobs.values()) p.reject(new Error('WorkerPool: closed'));
      jobs.clear();
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Where a parallel job list may run. */
export interface ThreadOptions {
  /** Threads (default: the machine's parallelism; none on one core); 0: this thread. */
  workers?: number;
  /** The worker's module (default: the caller's; absent, e.g. running from TypeScript sources: this thread). */
  workerUrl?: URL;
  /** Node options for the threads (a module loader when running from TypeScript sources). */
  execArgv?: string[];
}

/**
 * Runs `jobs` on a pool of at most one thread per job (the module at `options.workerUrl ?? entry`, given
 * `workerData()`), handing each result to `onResult` as it arrives, then closes the pool. Returns false, having run
 * nothing, when the work should stay on this thread (no threads wanted or available, or the module is missing), so
 * the caller runs its serial path.
 */
export async function runOnThreads<J, R>(
  entry: URL,
  workerData: () => unknown,
  jobs: readonly J[],
  onResult: (result: R, index: number) => void,
  options: ThreadOptions = {},
): Promise<boolean> {
  const url = options.workerUrl ?? entry;
  const workers = options.workers ?? (availableParallelism() > 1 ? availableParallelism() : 0);
  if (workers < 1 || jobs.length === 0 || !existsSync(fileURLToPath(url))) return false;
  const pool = new WorkerPool<J, R>(
    url,
    Math.min(workers, jobs.length),
    workerData(),
    options.execArgv ? { execArgv: options.execArgv } : {},
  );
  try {
    await Promise.all(jobs.map(async (job, i) => onResult(await pool.run(job), i)));
  } finally {
    await pool.close();
  }
  return true;
}

/**
 * `a` in shared memory (a copy, unless it is there already), so that worker threads read it without a copy each:
 * typed arrays travel to workers by structured clone, a SharedArrayBuffer's view by reference.
 */
export function shared<T extends Int32Array | Float32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const b = new (a.constructor as new (buf: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  b.set(a);
  return b;
}
