/** `animgs train -c avatar.yaml`: train an avatar (flags only; the run is src/train/trainer.ts). */
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { loadTrainConfig } from '../avatar/config-file.js';
import { trainAvatar, type StepReport } from '../train/trainer.js';
import { intOption } from './options.js';
import { reportProgress } from '../queue/channel.js';

interface TrainFlags {
  config: string;
  preset?: string;
  steps?: string;
  resume?: boolean;
  force?: boolean;
}

/** A progress bar on a terminal (it draws on stderr); a plain line every ~10 s otherwise (logs, CI). */
function progress(): { onStep: (s: StepReport) => void; log: (line: string) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      { format: '{stage} [{bar}] {value}/{total} | loss {loss} | {rate} steps/s | ETA {eta_formatted}', etaBuffer: 50 },
      Presets.shades_classic,
    );
    let stage = '';
    let t0 = performance.now();
    let n0 = 0;
    return {
      onStep: (s) => {
        if (s.stage !== stage) {
          bar.stop();
          stage = s.stage;
          n0 = s.iteration - 1;
          t0 = performance.now();
          bar.start(s.total, s.iteration, { stage, loss: '-', rate: '-' });
        }
        const rate = ((s.iteration - n0) / (performance.now() - t0)) * 1000;
        bar.update(s.iteration, { loss: s.losses ? s.losses.total!.toFixed(4) : '-', rate: rate.toFixed(2) });
      },
      // a message ends the bar's line; the next step starts a new bar where it left off
      log: (line) => {
        bar.stop();
        stage = '';
        console.log(line);
      },
      stop: () => bar.stop(),
    };
  }
  return { onStep: plainProgress(console.log), log: (line) => console.log(line), stop: () => undefined };
}

/**
 * Plain progress lines (stdout not a terminal): a stage's first step, then one every ~10 s and the last; the rate is
 * counted within the stage since the line before ("-" on a stage's first line).
 */
export function plainProgress(
  print: (line: string) => void,
  now: () => number = () => performance.now(),
): (s: StepReport) => void {
  let last = 0;
  let lastIt = 0;
  let lastStage = '';
  return (s) => {
    const t = now();
    if (s.stage !== lastStage) {
      // a new stage counts its own steps from 1: its first line has no rate yet
      lastStage = s.stage;
      last = 0;
    }
    if (last && t - last < 10_000 && s.iteration !== s.total) return;
    const rate = last ? (((s.iteration - lastIt) / (t - last)) * 1000).toFixed(2) : '-';
    const loss = s.losses
      ? Object.entries(s.losses)
          .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
          .join(', ')
      : '-';
    print(`${s.stage} ${s.iteration}/${s.total}: ${loss}; lr ${s.lr.toExponential(2)}; ${rate} steps/s`);
    last = t;
    lastIt = s.iteration;
  };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'train an avatar from a prepared capture (animgs prep first): pretraining, then the main loop; checkpoints, ' +
        'a JSONL log and held-out previews go to train.net_ckpt_dir',
    )
    .requiredOption('-c, --config <yaml>', "a reference-style avatar.yaml (the original's keys)")
    .option('--preset <name>', 'network sizes: full (the reference), small (CPUs, the demo) or tiny (smoke tests)')
    .option('--steps <n>', 'main training steps (default train.iterations, 800000)')
    .option('--resume', 'continue from the latest checkpoint in train.net_ckpt_dir')
    .option('--force', 'start afresh even where train.net_ckpt_dir holds checkpoints')
    .action(async (flags: TrainFlags) => {
      if (flags.resume && flags.force) throw new Error('--resume and --force: choose one');
      const steps = intOption(flags.steps, '--steps', { min: 1 });
      const config = loadTrainConfig(flags.config, {
        ...(flags.preset ? { preset: flags.preset } : {}),
        ...(steps ? { steps } : {}),
      });
      let stop = false;
      const onSigint = () => {
        if (stop) process.exit(130); // a second Ctrl-C: leave now
        stop = true;
        console.log('\ntrain: stopping after this step with a checkpoint (Ctrl-C again to leave at once)');
      };
      process.on('SIGINT', onSigint);
      const p = progress();
      try {
        const r = await trainAvatar({
          config,
          resume: !!flags.resume,
          force: !!flags.force,
          onStep: (s) => {
            p.onStep(s);
            // a queue job also reports each step to its worker (a no-op outside one)
            reportProgress(s.stage, s.iteration, s.total, s.losses ? `loss ${s.losses.total!.toFixed(4)}` : undefined);
          },
          shouldStop: () => stop,
          log: p.log,
        });
        p.stop();
        console.log(
          `train: ${r.stopped === 'done' ? 'done' : 'stopped'} at ${r.stage} step ${r.iteration}; ` +
            `checkpoint ${r.checkpoint}${r.previews.length ? `; previews ${r.previews.slice(-2).join(', ')}` : ''}`,
        );
        if (r.stopped === 'interrupted') process.exitCode = 130;
      } finally {
        p.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
