#!/usr/bin/env node
/** The `animgs` command line. Each command lives in its own file and registers itself here. */
import { Command } from 'commander';
import { firstLine, isInputError } from '../io/errors.js';
import { adoptParentTerminal, relaunchFiltered, runsCommandHere } from './launch.js';
import { registerDoctor } from './doctor.js';
import { registerDemo } from './demo.js';
import { registerRender } from './render.js';
import { registerBodyCommands } from './body.js';
import { registerPrep } from './prep.js';
import { registerSynth } from './synth.js';
import { registerTrain } from './train.js';
import { registerAnimate } from './animate.js';
import { registerEval } from './eval.js';
import { registerTemplate } from './template.js';
import { registerWeb } from './web.js';
import { registerQueue } from './queue.js';
import { attachToWorker } from '../queue/channel.js';
import { useGpuFromEnv } from './gpu.js';

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
registerTemplate(program);
registerWeb(program);
registerQueue(program);

if (runsCommandHere()) {
  adoptParentTerminal();
  attachToWorker(); // a queue job: progress to its worker; stop when the worker dies
  useGpuFromEnv(); // ANIMGS_GPU (a worker's --gpu): which adapter, on first GPU use
  process.on('unhandledRejection', (e) => fail(e));
  process.on('uncaughtException', (e) => fail(e));
  program
    .parseAsync(process.argv)
    .then(() => exitSoon())
    .catch(fail);
} else relaunchFiltered();

/**
 * One line for a user's mistake (a bad file, option or output: InputError, FormatError, ConfigError's list); an
 * internal error gets its message and where to find the stack. ANIMGS_DEBUG=1 adds the stack trace to either.
 */
function fail(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  if (isInputError(e)) console.error(`animgs: ${msg}`);
  else {
    console.error(
      `animgs: ${firstLine(msg)}` +
        (process.env.ANIMGS_DEBUG === '1' ? '' : ' (an internal error: run with ANIMGS_DEBUG=1 for the stack trace)'),
    );
  }
  if (process.env.ANIMGS_DEBUG === '1' && e instanceof Error) console.error(e.stack);
  process.exitCode = process.exitCode || 1;
  exitSoon();
}

/** Dawn keeps worker threads alive; leave once the command is done and stdout has drained. */
function exitSoon(): void {
  process.stdout.write('', () => process.exit());
}
