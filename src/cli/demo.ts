/**
 * `animgs demo` (npm run demo): the built-in synthetic subject end to end (src/demo/run.ts): check the adapter,
 * synthesize a capture, prepare it, train an avatar for a fixed budget, animate it with a motion it never saw from
 * an orbiting camera, and score it on held-out frames and cameras beside two baselines. Ctrl-C stops at a safe
 * point; the same command resumes from the last complete stage (a changed setting redoes that stage and the ones
 * after it). A CPU adapter gets the CPU plan (about ten minutes on 2 cores), a GPU the full preset (src/demo/plan.ts).
 */
import type { Command } from 'commander';
import { demoPlan } from '../demo/plan.js';
import { runDemo } from '../demo/run.js';
import { demoReport } from '../demo/summary.js';
import { getGpu } from '../gpu/index.js';
import { InputError } from '../io/errors.js';
import { doctor } from './doctor.js';
import { progress } from './progress.js';

interface DemoFlags {
  out: string;
  minutes?: string;
  fresh?: boolean;
  plan?: string;
}

/** The training budget in minutes (a positive number, at most a day). */
export function parseMinutes(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0 && n <= 1440)) {
    throw new InputError(`--minutes '${v}': expected the training time in minutes, a number above 0 (e.g. 5 or 2.5)`);
  }
  return n;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the synthetic subject end to end: capture, prep, train for a fixed time, animate a held-out motion from an ' +
        'orbiting camera, evaluate on held-out frames and cameras against two baselines; resumable',
    )
    .option('--out <dir>', 'folder for everything the demo writes', 'animgs-demo')
    .option(
      '--minutes <n>',
      'training time budget, pretraining included (default 6 on a CPU adapter, 10 on a GPU); changing it redoes training',
    )
    .option('--fresh', 'remove what an earlier demo wrote in --out and start again')
    .option('--plan <kind>', 'cpu or gpu sizes (default: by the adapter)')
    .action(async (flags: DemoFlags) => {
      const minutes = parseMinutes(flags.minutes);
      if (flags.plan !== undefined && flags.plan !== 'cpu' && flags.plan !== 'gpu')
        throw new InputError(`--plan '${flags.plan}': expected cpu or gpu`);
      const ok = await doctor();
      if (!ok) {
        process.exitCode = 1;
        return;
      }
      console.log('');
      const kind = (flags.plan as 'cpu' | 'gpu' | undefined) ?? (await getGpu()).info.kind;
      const plan = demoPlan(kind, minutes);
      let stop = false;
      const onSigint = () => {
        if (stop) process.exit(130); // a second Ctrl-C: leave now
        stop = true;
        console.log('\ndemo: stopping at the next safe point (Ctrl-C again to leave at once); rerun to resume');
      };
      process.on('SIGINT', onSigint);
      // off a terminal the counts print a line every few seconds and messages simply follow them: a count is not
      // ended (which would print its partial state) when a message comes
      const p = progress();
      const counts = process.stderr.isTTY ? p : { ...p, stop: () => undefined }; // the bar draws on stderr
      try {
        const r = await runDemo({
          out: flags.out,
          plan,
          fresh: !!flags.fresh,
          progress: counts,
          shouldStop: () => stop,
        });
        if (r.status === 'interrupted') {
          process.exitCode = 130;
          return;
        }
        console.log('');
        for (const line of demoReport(r, plan)) console.log(line);
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
