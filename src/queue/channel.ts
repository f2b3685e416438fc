/**
 * The command's side of a queue job. A worker runs each job as a child process of its own (a crash or an
 * out-of-memory kill of one job cannot take the worker down) with a Node IPC channel; through it the command
 * reports its progress as structured messages rather than as the text lines a terminal gets, so the worker never
 * parses output. Outside a worker (no channel) everything here does nothing.
 */

/** One progress report: `done` of `total` units of the named stage (`label`: "prep: posed maps", "train"). */
export interface ProgressMessage {
  type: 'animgs-progress';
  label: string;
  done: number;
  total: number;
  /** Optional figures worth showing beside the count (a training loss). */
  detail?: string;
}

/** The environment variable a worker sets for its job processes (the job's id). */
export const JOB_ENV = 'ANIMGS_QUEUE_JOB';

function channelOpen(): boolean {
  return !!process.env[JOB_ENV] && typeof process.send === 'function' && process.connected;
}

/** Report progress to the worker that runs this command, if any (cheap; the worker throttles what reaches Redis). */
export function reportProgress(label: string, done: number, total: number, detail?: string): void {
  if (!channelOpen()) return;
  const msg: ProgressMessage = { type: 'animgs-progress', label, done, total, ...(detail ? { detail } : {}) };
  try {
    process.send!(msg);
  } catch {
    // the worker is gone: the disconnect handler below stops the command
  }
}

/**
 * In a job process: when the worker dies (SIGKILL, a lost machine), its IPC channel closes. The command then stops
 * as on Ctrl-C (training and the template fit write a checkpoint first and leave; the others stop), so that no
 * orphan keeps working on a job that BullMQ will hand to another worker once the lock expires. The channel must
 * not keep the process alive after the command is done.
 */
export function attachToWorker(): void {
  if (!channelOpen()) return;
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGINT'));
}
