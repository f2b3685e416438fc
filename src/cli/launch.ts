/**
 * Dawn prints two lines to the process's stderr whenever it enumerates a lavapipe adapter
 * ("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ...", and the same
 * for storage buffers). They come from Dawn's adapter discovery in native code (during requestAdapter), not from
 * the limits we request (requesting the defaults changes nothing), and a Node process cannot redirect its own
 * native stderr. So the CLI runs the command in a child process whose stderr passes through this filter, which
 * drops exactly those lines and forwards everything else as it comes (progress bars included: the child learns
 * whether the real stderr is a terminal, ANIMGS_TTY, and draws its bars as it would). stdout is the terminal's or
 * the pipe's own. Ctrl-C reaches both processes (the parent waits for the child, which handles it); exit codes
 * pass through. ANIMGS_NO_FILTER=1 runs the command in this process instead.
 */
import { spawn } from 'node:child_process';

const DAWN_NOISE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+/;

/** True when this process should run the command itself (it is the child, or filtering is off). */
export function runsCommandHere(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ANIMGS_CHILD === '1' || env.ANIMGS_NO_FILTER === '1';
}

/** In the child: take the parent's terminal status for stderr (progress bars, widths). */
export function adoptParentTerminal(env: NodeJS.ProcessEnv = process.env): void {
  if (env.ANIMGS_CHILD !== '1' || env.ANIMGS_TTY !== '1') return;
  Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
  const cols = Number(env.ANIMGS_COLUMNS);
  if (cols > 0) Object.defineProperty(process.stderr, 'columns', { value: cols, configurable: true });
}

/** Could `text` (the unterminated end of the stream) still become one of Dawn's lines? */
function mayBeNoise(text: string): boolean {
  const head = 'Warning: maxDynamic';
  return head.startsWith(text) || text.startsWith(head);
}

/** Run this same command line in a child process with Dawn's noise filtered from its stderr; exits with its code. */
export function relaunchFiltered(): void {
  const env: NodeJS.ProcessEnv = { ...process.env, ANIMGS_CHILD: '1' };
  if (process.stderr.isTTY) {
    env.ANIMGS_TTY = '1';
    env.ANIMGS_COLUMNS = String(process.stderr.columns ?? 80);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env,
  });
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    pending += chunk;
    let out = '';
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!DAWN_NOISE.test(line)) out += `${line}\n`;
    }
    // a partial line (a progress bar's redraw) goes out at once unless it may be the start of Dawn's line
    if (pending && !mayBeNoise(pending)) {
      out += pending;
      pending = '';
    }
    if (out) process.stderr.write(out);
  });
  // the child handles Ctrl-C (a terminal sends it to both); other signals are passed on
  process.on('SIGINT', () => undefined);
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    console.error(`animgs: cannot start the command process: ${e.message}`);
    process.exit(1);
  });
  child.on('close', (code, signal) => {
    if (pending && !DAWN_NOISE.test(pending)) process.stderr.write(pending);
    const status = code ?? (signal === 'SIGINT' ? 130 : 1);
    process.stdout.write('', () => process.exit(status));
  });
}
