#!/usr/bin/env node
/** The `animgs` command line. Each command lives in its own file and registers itself here. */
import { Command } from 'commander';
import { registerDoctor } from './doctor.js';
import { registerDemo } from './demo.js';
import { registerRender } from './render.js';
import { registerBodyCommands } from './body.js';
import { registerPrep } from './prep.js';
import { registerSynth } from './synth.js';
import { registerTrain } from './train.js';
import { registerAnimate } from './animate.js';
import { registerEval } from './eval.js';

const program = new Command();
program
  .name('animgs')
  .description('Animatable Gaussians on WebGPU: train and animate Gaussian-map avatars from multi-view video')
  .version('0.1.0');

registerDoctor(program);
registerDemo(program);
registerRender(program);
registerBodyCommands(program);
registerSynth(program);
registerPrep(program);
registerTrain(program);
registerAnimate(program);
registerEval(program);

program
  .parseAsync(process.argv)
  .then(() => exitSoon())
  .catch((e: unknown) => {
    console.error(`animgs: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.ANIMGS_DEBUG && e instanceof Error) console.error(e.stack);
    process.exitCode = process.exitCode || 1;
    exitSoon();
  });

/** Dawn keeps worker threads alive; leave once the command is done and stdout has drained. */
function exitSoon(): void {
  process.stdout.write('', () => process.exit());
}
