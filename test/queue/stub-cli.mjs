// A stand-in for the `animgs` CLI in the queue tests (the worker runs it through ANIMGS_QUEUE_CLI): the same
// command line, a job of a few short steps instead of GPU work. Like `animgs train` it reports progress to its worker
// through the real channel (src/queue/channel.ts), checkpoints after every step (written atomically), stops on SIGINT
// after the current step with exit 130, resumes with --resume, and stops when its worker dies. Every start, step,
// stop and end is appended to events.log beside the config, so a test can see what ran where, in what order.
// Flags: --steps N (5), --step-ms M (100), --fail input|crash|crash-once.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { attachToWorker, reportProgress } from '../../src/queue/channel.js';

const [command, ...args] = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const config = flag('-c') ?? flag('--config');
const dir = dirname(config);
const steps = Number(flag('--steps', '5'));
const stepMs = Number(flag('--step-ms', '100'));
const fail = flag('--fail');
const job = process.env.ANIMGS_QUEUE_JOB ?? '-';
const ckpt = join(dir, `${command}.ckpt`);
const event = (what) =>
  appendFileSync(join(dir, 'events.log'), `${Date.now()} ${job} ${command} ${process.pid} ${what}\n`);

attachToWorker();
let stop = false;
process.on('SIGINT', () => (stop = true));

let step = 0;
let sum = 0; // the job's "result": depends on every step having run exactly once, in order
if (args.includes('--resume') && existsSync(ckpt)) ({ step, sum } = JSON.parse(readFileSync(ckpt, 'utf8')));
event(`start ${step} ${args.includes('--resume') ? 'resume' : 'fresh'}`);
if (fail === 'input') {
  console.error(`animgs: ${config}: train.dataset: missing (required)`);
  event('fail-input');
  process.exit(1);
}
const onceMarker = join(dir, `${command}.crashed-once`);
if (fail === 'crash' || (fail === 'crash-once' && !existsSync(onceMarker))) {
  writeFileSync(onceMarker, '');
  console.error('animgs: device lost (an internal error: run with ANIMGS_DEBUG=1 for the stack trace)');
  event('fail-crash');
  process.exit(1);
}
while (step < steps) {
  await new Promise((r) => setTimeout(r, stepMs));
  step++;
  sum = (sum * 31 + step) % 1_000_003;
  writeFileSync(`${ckpt}.tmp`, JSON.stringify({ step, sum }));
  renameSync(`${ckpt}.tmp`, ckpt);
  reportProgress(command, step, steps, `sum ${sum}`);
  event(`step ${step}`);
  if (stop && step < steps) {
    event(`interrupted ${step}`);
    console.log(`${command}: stopped at step ${step} with a checkpoint`);
    process.exit(130);
  }
}
writeFileSync(join(dir, `${command}.out`), `${sum}\n`);
event(`done ${sum}`);
console.log(`${command}: done, result ${sum}`);
process.exitCode = 0; // no exit(): the last progress message still goes out
