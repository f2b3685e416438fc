/**
 * What a queue job is: one `animgs` command with its arguments, run in a folder of shared storage (every machine
 * sees the config, the capture and the outputs under the same paths), and the dependencies of a subject's stages as
 * a BullMQ flow.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { FlowJob, JobsOptions } from 'bullmq';
import { parse } from 'yaml';
import { InputError } from '../io/errors.js';

/** The one queue all commands share (a worker runs whichever comes next; dependencies are flows). */
export const QUEUE_NAME = 'animgs';

export const JOB_COMMANDS = ['prep', 'template', 'train', 'animate', 'eval'] as const;
export type JobCommand = (typeof JOB_COMMANDS)[number];

/** The parent job of a split animation (split.ts): `animgs queue join <split folder>`, not one of the commands. */
export const JOIN_COMMAND = 'animate-join';

/** The CLI arguments that run a job's command (before its own arguments). */
export function commandArgv(command: JobData['command']): string[] {
  return command === JOIN_COMMAND ? ['queue', 'join'] : [command];
}

export interface JobData {
  command: JobCommand | typeof JOIN_COMMAND;
  /** The command's arguments (after its name), config path included, paths absolute. */
  args: string[];
  /** The folder the command runs in (relative paths inside the config resolve from it). */
  cwd: string;
  /** Where the results go, as far as the config and flags say (shown by `queue status`). */
  artifacts: string[];
}

/**
 * Retries for transient failures (a lost GPU, a machine shutting down, an internal error): three attempts, 10 s then
 * 20 s apart. A user's mistake (a bad config or input) fails at once instead: the worker marks it unrecoverable.
 */
export function jobOptions(attempts = 3, backoffMs = 10_000): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    // keep finished jobs for `queue status` (and their logs), but not forever
    removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 1000 },
  };
}

export function isJobCommand(s: string): s is JobCommand {
  return (JOB_COMMANDS as readonly string[]).includes(s);
}

/** The job of `animgs <command> -c CONFIG <extra...>` run in `cwd`. */
export function jobData(command: JobCommand, config: string, extra: string[] = [], cwd = process.cwd()): JobData {
  const cfg = resolve(cwd, config);
  // prep takes the capture and its output folder from the config through --config; the others through -c
  const args = [command === 'prep' ? '--config' : '-c', cfg, ...extra];
  return { command, args, cwd, artifacts: artifactsOf(command, cfg, extra, cwd) };
}

/** Best-effort output paths of a job, from its flags and config (a config it cannot read gives none). */
export function artifactsOf(command: JobCommand, config: string, extra: string[], cwd: string): string[] {
  const flag = (name: string) => {
    const i = extra.indexOf(name);
    return i >= 0 && i + 1 < extra.length ? resolve(cwd, extra[i + 1]!) : undefined;
  };
  let train: Record<string, unknown> = {};
  try {
    const doc = parse(readFileSync(config, 'utf8')) as { train?: Record<string, unknown> } | null;
    train = doc?.train ?? {};
  } catch {
    return flag('--out') ? [flag('--out')!] : [];
  }
  const data = (train.data ?? {}) as Record<string, unknown>;
  const path = (v: unknown) => (typeof v === 'string' ? (isAbsolute(v) ? v : resolve(cwd, v)) : undefined);
  const dataDir = path(data.data_dir);
  const ckpt = path(train.net_ckpt_dir);
  const posMaps = path(data.smpl_pos_map_dir) ?? (dataDir ? resolve(dataDir, 'smpl_pos_map') : undefined);
  const out = flag('--out');
  const pick = (...p: (string | undefined)[]) => p.filter((x): x is string => !!x);
  switch (command) {
    case 'prep':
      return pick(out ?? posMaps);
    case 'template':
      return pick(dataDir ? resolve(dataDir, 'template.ply') : undefined, ckpt);
    case 'train':
      return pick(ckpt);
    case 'animate':
      return pick(out ?? (ckpt ? resolve(ckpt, 'animations') : undefined));
    case 'eval':
      return pick(out ?? (ckpt ? resolve(ckpt, 'eval') : undefined));
  }
}

export interface FlowRequest {
  /** The avatar config (prep, train, animate, eval). */
  config: string;
  /** The template config (a reference-style template.yaml), needed when the stages include `template`. */
  templateConfig?: string;
  /** In order; default prep, train, animate, eval. */
  stages: JobCommand[];
  /** Extra arguments per stage. */
  extra?: Partial<Record<JobCommand, string[]>>;
  /** Job ids are `<id>-<stage>` (readable in `queue status`; BullMQ makes UUIDs otherwise). */
  id?: string;
  cwd?: string;
  opts?: JobsOptions;
}

/**
 * A subject's stages as one BullMQ flow. A flow is a tree in which children complete before their parent, and a job
 * has one parent, so the stages form a chain, the last stage at the root: prep ← template ← train ← animate ←
 * eval (animate and eval, which both need only the trained avatar, run one after the other). Each child fails its
 * parent when it fails for good (after its retries), so a failed stage leaves every later one failed with the reason
 * naming it, instead of waiting for children forever.
 */
export function flowOf(req: FlowRequest): FlowJob {
  const order = JOB_COMMANDS.filter((c) => req.stages.includes(c));
  const ordered = [
    ...order.filter((c) => c !== 'animate' && c !== 'eval'),
    ...order.filter((c) => c === 'animate'),
    ...order.filter((c) => c === 'eval'),
  ];
  if (!ordered.length)
    throw new InputError('queue add flow: no stages (choose from prep, template, train, animate, eval)');
  const cwd = req.cwd ?? process.cwd();
  let node: FlowJob | undefined;
  for (const command of ordered) {
    const config = command === 'template' ? req.templateConfig : req.config;
    if (!config) throw new InputError('queue add flow: the template stage needs --template-config template.yaml');
    const data = jobData(command, config, req.extra?.[command] ?? [], cwd);
    const next: FlowJob = {
      name: command,
      queueName: QUEUE_NAME,
      data,
      opts: {
        ...jobOptions(),
        ...req.opts,
        failParentOnFailure: true,
        ...(req.id ? { jobId: `${req.id}-${command}` } : {}),
      },
      ...(node ? { children: [node] } : {}),
    };
    node = next;
  }
  return node!;
}
