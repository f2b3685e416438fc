/**
 * Runs one job's command as a child process: the same `animgs` entry point this worker runs from (dist/ or the
 * sources under a loader, whatever started the worker), in the job's folder, with an IPC channel for structured
 * progress (channel.ts). stdout and stderr come back line by line for the job's log; Dawn's adapter warnings are
 * dropped as the CLI's own launcher drops them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { JOB_ENV, type ProgressMessage } from './channel.js';
import { commandArgv, type JobData } from './jobs.js';

const DAWN_NOISE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+/;

export interface RunOptions {
  jobId: string;
  /** Extra arguments for this run (e.g. --resume on a retry). */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: ProgressMessage) => void;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Receives the child as soon as it exists (to signal it). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of stderr (an error's message is there). */
  stderrTail: string[];
  stdoutTail: string[];
}

/**
 * argv to start the CLI again: node's own flags (a TypeScript loader in tests) and the entry script; or
 * ANIMGS_QUEUE_CLI, a script that takes the same arguments (the tests' stand-in commands, or another build).
 */
export function cliEntry(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...process.execArgv, env.ANIMGS_QUEUE_CLI || process.argv[1]!];
}

export function runJobProcess(data: JobData, opt: RunOptions): Promise<RunResult> {
  const argv = [...cliEntry(), ...commandArgv(data.command), ...data.args, ...(opt.extraArgs ?? [])];
  const child = spawn(process.execPath, argv, {
    cwd: data.cwd,
    // the command runs in this child itself (no filtering launcher in between), so signals and the channel reach it
    env: { ...process.env, ...opt.env, ANIMGS_NO_FILTER: '1', ANIMGS_CHILD: '', [JOB_ENV]: opt.jobId },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // its own process group: a terminal's Ctrl-C reaches the worker alone, which decides what each job does
    // (checkpoint or finish); a dead worker's jobs stop when their channel closes (channel.ts)
    detached: true,
  });
  opt.onSpawn?.(child);
  const tails = { stdout: [] as string[], stderr: [] as string[] };
  for (const stream of ['stdout', 'stderr'] as const) {
    let pending = '';
    child[stream]!.setEncoding('utf8');
    const emit = (raw: string) => {
      // a progress bar's redraws (\r) keep only their last state
      const line = raw.split('\r').pop()!.trimEnd();
      if (!line || DAWN_NOISE.test(line)) return;
      const t = tails[stream];
      t.push(line);
      if (t.length > 20) t.shift();
      opt.onLine?.(line, stream);
    };
    child[stream]!.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        emit(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    child[stream]!.on('end', () => pending && emit(pending));
  }
  child.on('message', (m: unknown) => {
    if (m && typeof m === 'object' && (m as ProgressMessage).type === 'animgs-progress') {
      opt.onProgress?.(m as ProgressMessage);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderrTail: tails.stderr, stdoutTail: tails.stdout }));
  });
}
