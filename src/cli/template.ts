/** `animgs template -c template.yaml`: fit the learned template (flags only; the fit is src/prep/template/fit.ts). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../io/errors.js';
import { loadTemplateConfig } from '../prep/template/config.js';
import type { TemplateFrameChoice } from '../prep/template/frame.js';
import { fitTemplate, type TemplateProgress } from '../prep/template/fit.js';
import { intOption } from './options.js';
import { progress } from './progress.js';

interface TemplateFlags {
  config: string;
  frame?: string;
  steps?: string;
  resume?: boolean;
  force?: boolean;
}

/** `--frame`: auto, first or a frame id. */
export function frameFlag(v: string): TemplateFrameChoice {
  if (v === 'auto' || v === 'first') return v;
  if (!/^\d+$/.test(v.trim()))
    throw new InputError(`--frame '${v}': expected auto, first or a frame id (an integer >= 0)`);
  return intOption(v, '--frame', { min: 0 })!;
}

export function registerTemplate(program: Command): void {
  program
    .command('template')
    .description(
      'fit the learned template for loose clothes on one near-A-pose frame (SDF + colour by volume rendering), ' +
        'then marching cubes to <data_dir>/template.ply; makes cano_weight_volume.npz first when absent',
    )
    .requiredOption('-c, --config <yaml>', "a reference-style template.yaml (the original's keys)")
    .option(
      '--frame <f>',
      'the frame to fit: auto (the one closest to the canonical pose), first, or an id (default train.frame)',
    )
    .option('--steps <n>', 'fitting steps (default train.iterations, else end_epoch x cameras, at most 150000)')
    .option('--resume', 'continue from the latest checkpoint in train.net_ckpt_dir')
    .option('--force', 'start afresh even where train.net_ckpt_dir holds a fit')
    .action(async (flags: TemplateFlags) => {
      if (flags.resume && flags.force) throw new InputError('--resume and --force: choose one');
      const steps = intOption(flags.steps, '--steps', { min: 1 });
      let text: string;
      try {
        text = readFileSync(flags.config, 'utf8');
      } catch {
        throw new InputError(`cannot read ${flags.config}`);
      }
      const cfg = loadTemplateConfig(flags.config, text);
      if (flags.frame !== undefined) cfg.frame = frameFlag(flags.frame);
      let stop = false;
      const onSigint = () => {
        if (stop) process.exit(130);
        stop = true;
        console.log('\ntemplate: stopping after this step with a checkpoint (Ctrl-C again to leave at once)');
      };
      process.on('SIGINT', onSigint);
      const bar = progress({ prefix: 'template' });
      let started = false;
      try {
        const r = await fitTemplate(cfg, {
          ...(steps ? { iterations: steps } : {}),
          resume: !!flags.resume,
          force: !!flags.force,
          shouldStop: () => stop,
          log: (line) => {
            if (started) bar.stop();
            started = false;
            console.log(`template: ${line}`);
          },
          onStep: (p: TemplateProgress) => {
            if (!started) bar.start('fit', p.total, p.iteration - 1);
            started = true;
            bar.update(p.iteration);
            if (p.iteration % 500 === 0 || p.iteration === p.total) {
              bar.stop();
              started = false;
              const l = p.losses;
              console.log(
                `template: step ${p.iteration}/${p.total}: color ${l.color.toFixed(4)}, mask ${l.mask.toFixed(4)}, ` +
                  `eikonal ${l.eikonal.toFixed(4)}; lr ${p.lr.toExponential(2)}; beta ${p.beta.toExponential(2)}`,
              );
            }
          },
        });
        bar.stop();
        console.log(
          `template: ${r.stopped ? 'stopped' : 'done'} at step ${r.iterations}; checkpoint ${r.checkpoint}` +
            (r.templatePath ? `; ${r.templatePath} (${r.vertices} vertices, ${r.faces} triangles)` : ''),
        );
        if (r.stopped) process.exitCode = 130;
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
      }
    });
}
