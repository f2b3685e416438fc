/**
 * The queue's pure parts, without Redis: a job's arguments and artifact paths from its config and flags, a flow's
 * chain of stages, and the arguments of a job's second run (training resumes instead of refusing or starting over).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowJob } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { flowOf, jobData } from '../../src/queue/jobs.js';
import { argsForRun } from '../../src/queue/worker.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-queue-jobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cfg = join(root, 'avatar.yaml');
writeFileSync(cfg, 'train:\n  data:\n    data_dir: cap\n  net_ckpt_dir: results/anna\n');

describe('queue jobs', () => {
  it('arguments with absolute paths; artifacts from the config, relative paths from the job folder', () => {
    expect(jobData('prep', 'avatar.yaml', [], root)).toEqual({
      command: 'prep',
      args: ['--config', cfg],
      cwd: root,
      artifacts: [join(root, 'cap', 'smpl_pos_map')],
    });
    expect(jobData('train', cfg, ['--steps', '9'], root).args).toEqual(['-c', cfg, '--steps', '9']);
    expect(jobData('train', cfg, [], root).artifacts).toEqual([join(root, 'results/anna')]);
    expect(jobData('animate', cfg, [], root).artifacts).toEqual([join(root, 'results/anna/animations')]);
    expect(jobData('animate', cfg, ['--out', 'clips/a'], root).artifacts).toEqual([join(root, 'clips/a')]);
    expect(jobData('eval', cfg, [], root).artifacts).toEqual([join(root, 'results/anna/eval')]);
    expect(jobData('template', cfg, [], root).artifacts).toEqual([
      join(root, 'cap/template.ply'),
      join(root, 'results/anna'),
    ]);
    // a config that cannot be read: no guesses (the command itself reports the problem when it runs)
    expect(jobData('train', join(root, 'missing.yaml'), [], root).artifacts).toEqual([]);
  });

  it('a flow is a chain, the last stage at the root, each failing its parent when it fails', () => {
    const flow = flowOf({
      config: cfg,
      templateConfig: cfg,
      stages: ['eval', 'train', 'prep', 'animate', 'template'],
      cwd: root,
      id: 'f7',
    });
    const chain: FlowJob[] = [];
    for (let n: FlowJob | undefined = flow; n; n = n.children?.[0]) chain.unshift(n);
    expect(chain.map((j) => j.name)).toEqual(['prep', 'template', 'train', 'animate', 'eval']);
    expect(chain.map((j) => j.opts?.jobId)).toEqual(['f7-prep', 'f7-template', 'f7-train', 'f7-animate', 'f7-eval']);
    expect(chain.every((j) => j.opts?.failParentOnFailure && (j.children?.length ?? 0) <= 1)).toBe(true);
    expect(() => flowOf({ config: cfg, stages: ['template', 'train'], cwd: root })).toThrow(/--template-config/);
  });

  it('a second run of training resumes (in place of --force); other commands run as they were queued', () => {
    const train = jobData('train', cfg, ['--force', '--steps', '5'], root);
    expect(argsForRun(train, 1)).toEqual({ args: train.args, extra: [] });
    expect(argsForRun(train, 2)).toEqual({ args: ['-c', cfg, '--steps', '5'], extra: ['--resume'] });
    const prep = jobData('prep', cfg, [], root);
    expect(argsForRun(prep, 3)).toEqual({ args: prep.args, extra: [] });
  });
});
