/**
 * Progress of long work: a bar with an ETA on a terminal, plain lines (at most one every few seconds, plus the
 * last) when the output goes to a log file or another program.
 */
import { Presets, SingleBar } from 'cli-progress';
import { reportProgress } from '../queue/channel.js';

export interface Progress {
  /** Start (or restart with a new label) a count to `total`. */
  start(label: string, total: number, done?: number): void;
  update(done: number): void;
  /** End the current count (the bar's line stays). */
  stop(): void;
}

export function progress(
  opt: { tty?: boolean; intervalMs?: number; log?: (line: string) => void; prefix?: string } = {},
): Progress {
  // a queue job also reports every count to its worker (a no-op outside one)
  const p = display(opt);
  const label0 = opt.prefix ? `${opt.prefix}: ` : '';
  let label = '';
  let total = 0;
  return {
    start(l, n, done = 0) {
      label = l;
      total = n;
      p.start(l, n, done);
      reportProgress(label0 + label, done, total);
    },
    update(done) {
      p.update(done);
      reportProgress(label0 + label, done, total);
    },
    stop: () => p.stop(),
  };
}

function display(
  opt: { tty?: boolean; intervalMs?: number; log?: (line: string) => void; prefix?: string } = {},
): Progress {
  const tty = opt.tty ?? !!process.stderr.isTTY; // the bar draws on stderr
  const prefix = opt.prefix ? `${opt.prefix}: ` : '';
  if (tty) {
    const bar = new SingleBar(
      { format: `  {label} [{bar}] {value}/{total} | {eta_formatted} left`, etaBuffer: 20 },
      Presets.shades_classic,
    );
    let running = false;
    return {
      start(label, total, done = 0) {
        if (running) bar.stop();
        bar.start(total, done, { label });
        running = true;
      },
      update: (done) => bar.update(done),
      stop() {
        if (running) bar.stop();
        running = false;
      },
    };
  }
  const log = opt.log ?? ((l: string) => console.log(l));
  const every = opt.intervalMs ?? 5000;
  let label = '';
  let total = 0;
  let last = 0;
  let t0 = 0;
  let first = 0;
  let current = -1;
  return {
    start(l, n, done = 0) {
      label = l;
      total = n;
      t0 = performance.now();
      first = done;
      last = t0;
      current = done;
    },
    update(done) {
      current = done;
      const now = performance.now();
      if (done < total && now - last < every) return;
      last = now;
      const rate = (done - first) / Math.max(1e-3, (now - t0) / 1000);
      const eta = done < total && rate > 0 ? `, ~${Math.ceil((total - done) / rate)} s left` : '';
      log(`${prefix}${label} ${done}/${total}${eta}`);
    },
    stop() {
      if (current >= 0 && current < total) log(`${prefix}${label} ${current}/${total}`);
      current = -1;
    },
  };
}
