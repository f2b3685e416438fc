/**
 * A fixed set of worker threads running one job type: each job goes to the worker with the fewest jobs in flight,
 * results come back (with their buffers transferred, not copied) as promises. A worker that dies rejects its jobs.
 *
 * Protocol: the worker receives `{ id, job }` and answers `{ id, result }` or `{ id, error }`.
 */
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
