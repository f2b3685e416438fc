/**
 * `animgs queue add|status` and `animgs worker`: the commands of the job queue (flags only; the queue is
 * src/queue/). Jobs name their config and inputs by path: every machine must see them under the same path
 * (shared storage), as it must see the outputs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { planAnimation } from '../animate/animate.js';
import { loadTrainConfig } from '../avatar/config-file.js';
import { InputError } from '../io/errors.js';
import { animateOptions, animateRequest, type AnimateFlags } from './animate.js';
import { JOB_COMMANDS, QUEUE_NAME, flowOf, isJobCommand, jobData, jobOptions, type JobCommand } from '../queue/jobs.js';
import { formatRows, jobRows } from '../queue/status.js';
import { chooseGpu } from './gpu.js';
import { intOption } from './options.js';

/**
 * The queue's packages (bullmq, ioredis; sharp through the join), loaded when a queue command runs: importing them
 * costs ~0.6 s, which every other command (each queue job's own process among them) would otherwise pay at start.
 */
async function queueRuntime() {
  const [bullmq, split, connection, worker] = await Promise.all([
    import('bullmq'),
    import('../queue/split.js'),
    import('../queue/connection.js'),
    import('../queue/worker.js'),
  ]);
  return { ...bullmq, ...split, ...connection, ...worker };
}

interface AddFlags {
  config: string;
  redis?: string;
  attempts?: string;
  backoffMs?: string;
  templateConfig?: string;
  stages?: string;
  prepArgs?: string;
  templateArgs?: string;
  trainArgs?: string;
  animateArgs?: string;
  evalArgs?: string;
  split?: string;
  chunk?: string;
}

/**
 * The plan of `animate -c CONFIG ARGS` (the same flags, parsed by animate's own option list), checked now: a split
 * needs the number of frames, and a mistake is better refused here than by every part on a worker.
 */
async function planOf(config: string, args: string[]) {
  const cmd = animateOptions(new Command('animate'))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    cmd.parse(['-c', config, ...args], { from: 'user' });
  } catch (e) {
    throw new InputError(
      `queue add animate: ${(e as Error).message.replace(/^error: /, '')} (the animate flags after --)`,
    );
  }
  const flags = cmd.opts<AnimateFlags>();
  if (flags.part !== undefined) throw new InputError('queue add animate: --part is chosen by --split or --chunk');
  try {
    return {
      flags,
      plan: await planAnimation(animateRequest(loadTrainConfig(resolve(config)), flags, () => undefined)),
    };
  } catch (e) {
    throw e instanceof InputError ? e : new InputError((e as Error).message.split('\n')[0]!);
  }
}

const splitArgs = (s: string | undefined) => (s ? s.trim().split(/\s+/).filter(Boolean) : []);

export function registerQueue(program: Command): void {
  const queue = program
    .command('queue')
    .description('jobs on a Redis queue (BullMQ) that `animgs worker` processes run, on this machine or others');

  queue
    .command('add')
    .description(
      'queue one command (prep, template, train, animate, eval: its arguments after --), or `flow`: a ' +
        "subject's stages in order (prep → template → train → animate → eval), each starting when the one before is done",
    )
    .argument('<command>', `one of ${JOB_COMMANDS.join(', ')}, or flow`)
    .argument('[args...]', "the command's own arguments, after -- (e.g. -- --steps 1000)")
    .requiredOption('-c, --config <yaml>', 'the avatar.yaml (the template.yaml for template); a path all workers see')
    .option('--redis <url>', 'Redis server (default ANIMGS_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--attempts <n>', 'runs before a job counts as failed (transient failures; retried with backoff)', '3')
    .option('--backoff-ms <ms>', 'wait before the first retry, doubling after each', '10000')
    .option('--template-config <yaml>', 'flow: the template.yaml of the template stage')
    .option('--stages <list>', 'flow: the stages, comma-separated (default prep,train,animate,eval)')
    .option('--prep-args <args>', 'flow: extra arguments of prep (one string)')
    .option('--template-args <args>', 'flow: extra arguments of template')
    .option('--train-args <args>', 'flow: extra arguments of train')
    .option('--animate-args <args>', 'flow: extra arguments of animate')
    .option('--eval-args <args>', 'flow: extra arguments of eval')
    .option(
      '--split <n>',
      'animate: render the clip as n frame ranges, jobs any workers run at once, then one job joins them into the ' +
        'output folder (frames, video, summary: as one animate run writes them)',
    )
    .option('--chunk <frames>', 'animate: as --split, in ranges of this many frames')
    .action(async (command: string, args: string[], flags: AddFlags) => {
      const attempts = intOption(flags.attempts, '--attempts', { min: 1, max: 100 })!;
      const backoff = intOption(flags.backoffMs, '--backoff-ms', { min: 0 })!;
      if (command !== 'flow' && !isJobCommand(command)) {
        throw new InputError(`queue add ${command}: choose one of ${JOB_COMMANDS.join(', ')}, or flow`);
      }
      const split = intOption(flags.split, '--split', { min: 1, max: 1000 });
      const chunk = intOption(flags.chunk, '--chunk', { min: 1 });
      if ((split !== undefined || chunk !== undefined) && command !== 'animate')
        throw new InputError(`queue add ${command}: --split and --chunk are for animate`);
      if (split !== undefined && chunk !== undefined)
        throw new InputError('queue add animate: --split or --chunk, not both');
      // a job that cannot find its config fails on a worker much later: say so now
      for (const [flag, path] of [
        ['-c', flags.config],
        ['--template-config', flags.templateConfig],
      ] as const) {
        if (path !== undefined && !existsSync(resolve(path))) throw new InputError(`${flag} ${path}: no such file`);
      }
      const planned = split !== undefined || chunk !== undefined ? await planOf(flags.config, args) : undefined;
      const { FlowProducer, Queue, connectRedis, redisUrl, splitFlow, splitRanges } = await queueRuntime();
      const url = redisUrl(flags.redis);
      const connection = await connectRedis(url);
      try {
        if (split !== undefined || chunk !== undefined) {
          const { flags: af, plan } = planned!;
          const ranges = splitRanges(plan.poses.count, { ...(split ? { split } : {}), ...(chunk ? { chunk } : {}) });
          const id = `s${await connection.incr(`animgs:${QUEUE_NAME}:splits`)}`;
          const { flow: tree, dir } = splitFlow({
            id,
            config: flags.config,
            args,
            out: resolve(plan.out),
            force: !!af.force,
            video: af.video,
            fps: plan.fps,
            ranges,
            opts: jobOptions(attempts, backoff),
          });
          const flow = new FlowProducer({ connection });
          try {
            await flow.add(tree);
          } finally {
            await flow.close();
          }
          console.log(
            `queued split animation ${id}: ${plan.poses.count} frames as ${ranges.length} parts ` +
              `(${ranges.map(([a, b]) => `${a}:${b}`).join(', ')}; jobs ${id}-part0..${ranges.length - 1}) → join ${id}-join → ${resolve(plan.out)} (parts in ${dir})`,
          );
        } else if (command === 'flow') {
          const stages = (flags.stages ?? 'prep,train,animate,eval').split(',').map((s) => s.trim());
          for (const s of stages) {
            if (!isJobCommand(s)) throw new InputError(`--stages: '${s}' is not one of ${JOB_COMMANDS.join(', ')}`);
          }
          const extra: Partial<Record<JobCommand, string[]>> = {
            prep: splitArgs(flags.prepArgs),
            template: splitArgs(flags.templateArgs),
            train: splitArgs(flags.trainArgs),
            animate: splitArgs(flags.animateArgs),
            eval: splitArgs(flags.evalArgs),
          };
          const flow = new FlowProducer({ connection });
          const id = `f${await connection.incr(`animgs:${QUEUE_NAME}:flows`)}`;
          try {
            const tree = await flow.add(
              flowOf({
                config: flags.config,
                ...(flags.templateConfig ? { templateConfig: flags.templateConfig } : {}),
                stages: stages as JobCommand[],
                extra,
                id,
                opts: jobOptions(attempts, backoff),
              }),
            );
            // the chain from the first stage to the last
            const ids: string[] = [];
            for (let n: typeof tree | undefined = tree; n; n = n.children?.[0])
              ids.unshift(`${n.job.name} ${n.job.id}`);
            console.log(`queued flow ${id}: ${ids.join(' → ')}`);
          } finally {
            await flow.close();
          }
        } else {
          const q = new Queue(QUEUE_NAME, { connection });
          try {
            const job = await q.add(command, jobData(command, flags.config, args), jobOptions(attempts, backoff));
            console.log(`queued job ${job.id}: ${command} ${job.data.args.join(' ')}`);
          } finally {
            await q.close();
          }
        }
      } finally {
        connection.disconnect();
      }
    });

  queue
    .command('join', { hidden: true })
    .description("a split animation's last job: join its parts (queued by `queue add animate --split`)")
    .argument('<dir>', 'the split folder (<out>/.animgs-split-<id>-...)')
    .action(async (dir: string) => {
      const { joinAnimation } = await queueRuntime();
      const r = await joinAnimation(dir, (l) => console.log(l));
      console.log(
        `join: ${r.already ? 'already joined' : 'joined'} ${r.frames} frames → ${r.out}${r.video ? `; video ${r.video}` : ''}`,
      );
    });

  queue
    .command('status')
    .description('the jobs: state, progress, ETA, worker, attempts, artifact paths; why a failed one failed')
    .option('--redis <url>', 'Redis server (default ANIMGS_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--watch [seconds]', 'redraw every few seconds (default 2) until Ctrl-C')
    .option('--json', 'one JSON array (for scripts)')
    .action(async (flags: { redis?: string; watch?: string | boolean; json?: boolean }) => {
      const { Queue, connectRedis, redisUrl } = await queueRuntime();
      const url = redisUrl(flags.redis);
      const connection = await connectRedis(url);
      const q = new Queue(QUEUE_NAME, { connection });
      try {
        const show = async () => {
          const rows = await jobRows(q);
          return flags.json ? JSON.stringify(rows, null, 1) : formatRows(rows);
        };
        if (!flags.watch) {
          console.log(await show());
          return;
        }
        const every = flags.watch === true ? 2 : Number(flags.watch);
        if (!(every > 0)) throw new InputError(`--watch ${flags.watch}: seconds, a number > 0`);
        let stop = false;
        process.on('SIGINT', () => (stop = true));
        while (!stop) {
          const text = await show();
          // clear the screen on a terminal; elsewhere one snapshot after another
          process.stdout.write(process.stdout.isTTY ? `\x1b[2J\x1b[H${text}\n` : `${text}\n\n`);
          await new Promise((r) => setTimeout(r, every * 1000));
        }
      } finally {
        await q.close();
        connection.disconnect();
      }
    });

  program
    .command('worker')
    .description(
      'run queued jobs on this machine, each in a process of its own, until SIGTERM or Ctrl-C (which stop training ' +
        'with a checkpoint and put it back in the queue, and let other jobs finish); one worker per GPU',
    )
    .option('--redis <url>', 'Redis server (default ANIMGS_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--concurrency <n>', 'jobs at once (default 1: a job fills a GPU)', '1')
    .option(
      '--gpu <id>',
      "the GPU for this worker's jobs: an adapter index (0, 1, ...), a PCI address " +
        '(pci:0000:41:00.0) or a part of its name; checked at start (a wrong one lists the adapters), passed to the jobs as ANIMGS_GPU',
    )
    .option('--lock-ms <ms>', "a dead worker's job returns to the queue after this long", '30000')
    .action(async (flags: { redis?: string; concurrency: string; gpu?: string; lockMs: string }) => {
      // a GPU that is not there fails here, in one line that lists the adapters, not in every job
      if (flags.gpu !== undefined) console.log(`gpu: ${(await chooseGpu(flags.gpu)).label}`);
      const { runWorker, redisUrl } = await queueRuntime();
      await runWorker({
        url: redisUrl(flags.redis),
        concurrency: intOption(flags.concurrency, '--concurrency', { min: 1, max: 64 })!,
        lockMs: intOption(flags.lockMs, '--lock-ms', { min: 1000 })!,
        ...(flags.gpu !== undefined ? { gpu: flags.gpu } : {}),
      });
    });
}
