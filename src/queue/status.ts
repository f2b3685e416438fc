/**
 * `animgs queue status`: the jobs with their state, progress (the stage and count the CLI shows), ETA, the worker
 * running or last running them, where their results go, and why a failed one failed.
 */
import type { Job, Queue } from 'bullmq';
import { JOB_COMMANDS, type JobCommand, type JobData } from './jobs.js';
import type { JobProgress } from './worker.js';

export interface JobRow {
  id: string;
  command: string;
  state: string;
  progress: string;
  eta: string;
  worker: string;
  attempts: string;
  artifacts: string[];
  /** Why it failed (or what it waits for). */
  note: string;
  /** When it was added (ms since the epoch). */
  added: number;
}

const STATES = ['active', 'waiting', 'waiting-children', 'prioritized', 'delayed', 'failed', 'completed'] as const;

function fmtEta(s: number | undefined): string {
  if (s === undefined) return '';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export async function jobRows(queue: Queue, limit = 200): Promise<JobRow[]> {
  const rows: JobRow[] = [];
  for (const state of STATES) {
    const jobs = (await queue.getJobs([state], 0, limit - 1)) as Job<JobData>[];
    for (const job of jobs) {
      if (!job) continue;
      const p = (typeof job.progress === 'object' ? job.progress : undefined) as JobProgress | undefined;
      const progress = p ? `${p.label} ${p.done}/${p.total}${p.detail ? ` (${p.detail})` : ''}` : '';
      let note = '';
      if (state === 'failed') {
        // a stage failed because an earlier one did: say which, not BullMQ's key name
        const child = /child (?:bull:)?[^:]+:(\S+) failed/.exec(job.failedReason ?? '');
        note = child ? `stopped: job ${child[1]} (an earlier stage) failed` : (job.failedReason ?? '');
      } else if (state === 'waiting-children') note = 'waits for its earlier stage';
      else if (state === 'delayed' && job.attemptsMade > 0) note = `retry after: ${job.failedReason ?? ''}`;
      const artifacts = (job.returnvalue as { artifacts?: string[] } | null)?.artifacts ?? job.data?.artifacts ?? [];
      const stopped = note.startsWith('stopped:'); // never ran: no worker or attempt to show
      rows.push({
        id: job.id!,
        command: job.name,
        state,
        progress: state === 'completed' ? 'done' : progress,
        eta: state === 'active' ? fmtEta(p?.etaS) : '',
        worker: stopped ? '' : (job.processedBy ?? p?.worker ?? ''),
        attempts: `${stopped ? 0 : job.attemptsMade}/${job.opts.attempts ?? 1}`,
        artifacts,
        note,
        added: job.timestamp,
      });
    }
  }
  // in the order added; a flow's stages (added together) in the order they run
  const stage = (c: string) => JOB_COMMANDS.indexOf(c as JobCommand);
  return rows.sort((a, b) => a.added - b.added || stage(a.command) - stage(b.command) || a.id.localeCompare(b.id));
}

/** A plain table (one job a line, artifacts and notes on an indented line below), for terminals and logs alike. */
export function formatRows(rows: JobRow[]): string {
  if (!rows.length) return 'no jobs';
  const head = ['id', 'command', 'state', 'progress', 'eta', 'worker', 'attempts'];
  const cells = rows.map((r) => [r.id, r.command, r.state, r.progress, r.eta, r.worker, r.attempts]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(head)];
  rows.forEach((r, k) => {
    out.push(line(cells[k]!));
    if (r.artifacts.length) out.push(`    -> ${r.artifacts.join(', ')}`);
    if (r.note) out.push(`    ${r.note}`);
  });
  return out.join('\n');
}
