/**
 * Interruption test of `animgs train` (issue 19), as the real CLI in its own process group on the tiny fixture
 * capture (13×11 images, the `tiny` preset, a checkpoint after every step): SIGKILL a seeded few milliseconds after
 * a checkpoint starts being written (so mostly in the middle of writing it), then `--resume`, which must start from
 * the last complete checkpoint, and Ctrl-C (SIGINT) once it has written one more, which must stop with a checkpoint
 * (exit 130). After each: every checkpoint folder present is complete and loads, latest.json names the newest
 * (where the next --resume starts), the log's lines and the previews are whole, and only a killed run leaves
 * temporaries (which the next run removes). Two child processes (each compiles the kernels), sharing a Mesa shader
 * cache of their own (empty at the start, as a user's first run).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST, findLatestCheckpoint, loadCheckpoint } from '../../src/avatar/checkpoint-read.js';
import { AVATAR_PRESETS } from '../../src/avatar/config.js';
import { seededRandom } from '../../src/tensor/rng.js';
import { fixtureYaml, writeTrainingCapture } from '../train/capture-fixture.js';
import { CLI_ARGV } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-interrupt-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const env = {
  ...process.env,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  MESA_SHADER_CACHE_DIR: join(root, 'mesa-shader-cache'),
  MESA_SHADER_CACHE_DISABLE: 'false',
  ANIMGS_NO_FILTER: '1', // the command in this one process (no stderr-filtering parent): the signals reach it
};

const STEPS = 6;
const cap = join(root, 'capture');
const ckptDir = join(cap, 'results');
const yaml = join(root, 'avatar.yaml');

beforeAll(async () => {
  await writeTrainingCapture(cap, AVATAR_PRESETS.tiny.mapSize);
  const train = `  pretrain_iterations: 0\n  iterations: ${STEPS}\n  ckpt_interval: {epoch: 10, batch: 1}\n  eval_interval: 100000\n`;
  // no view CNN: fewer kernels to compile; the training test covers it
  const text = fixtureYaml(cap, train).replace('  with_viewdirs: true\n', '  preset: tiny\n  with_viewdirs: false\n');
  writeFileSync(yaml, text);
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `animgs train -c avatar.yaml ...args`; `signal` goes to its process group `delayMs` after `when()` first holds. */
function train(
  args: string[],
  interrupt?: { when: () => boolean; delayMs: number; signal: NodeJS.Signals },
): Promise<Run> {
  const child = spawn(process.execPath, [...CLI_ARGV, 'train', '-c', yaml, ...args], {
    cwd: root,
    detached: true,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let timer: NodeJS.Timeout | undefined;
  if (interrupt) {
    const send = () => {
      try {
        process.kill(-child.pid!, interrupt.signal);
      } catch {
        // already gone
      }
    };
    const poll = () => {
      if (interrupt.when()) timer = setTimeout(send, interrupt.delayMs);
      else timer = setTimeout(poll, 5);
    };
    poll();
  }
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const TEMP = /\.tmp-\d+/;
const CKPT = /^(batch|pretrain)_(\d{8})$/;

/**
 * Check everything under the checkpoint folder: each checkpoint folder is complete (state, weights and moments
 * load, its name matches its state), latest.json names a complete one (the newest, or after a kill between the
 * newest's rename and its own, the one before), the newest is where a resume starts, every log line is JSON, every
 * preview decodes; temporaries only where `tempsAllowed`. Returns the newest's (stage, iteration).
 */
async function checkOutputs(tempsAllowed: boolean): Promise<{ stage: string; iteration: number }> {
  const names = readdirSync(ckptDir);
  const temps = [...names, ...(existsSync(join(ckptDir, 'previews')) ? readdirSync(join(ckptDir, 'previews')) : [])];
  if (!tempsAllowed)
    expect(
      temps.filter((n) => TEMP.test(n)),
      'temporaries left behind',
    ).toEqual([]);
  const unknown = names.filter((n) => !TEMP.test(n) && !CKPT.test(n));
  expect(unknown.sort()).toEqual([LATEST, ...(unknown.includes('previews') ? ['previews'] : []), 'train_log.jsonl']);
  // oldest first: pretraining's before training's, then by iteration
  const rank = (n: string) => (n.startsWith('batch') ? 1e9 : 0) + Number(CKPT.exec(n)![2]);
  const ckpts = names.filter((n) => CKPT.test(n)).sort((a, b) => rank(a) - rank(b));
  expect(ckpts.length, 'a complete checkpoint').toBeGreaterThan(0);
  for (const n of ckpts) {
    const ck = loadCheckpoint(join(ckptDir, n));
    expect(
      `${ck.state.stage === 'pretrain' ? 'pretrain' : 'batch'}_${String(ck.state.iteration).padStart(8, '0')}`,
    ).toBe(n);
    expect(ck.weights.size).toBeGreaterThan(0);
  }
  const newest = ckpts.at(-1)!;
  const named = (JSON.parse(readFileSync(join(ckptDir, LATEST), 'utf8')) as { checkpoint: string }).checkpoint;
  expect(ckpts.slice(-2)).toContain(named);
  if (!tempsAllowed) expect(named).toBe(newest);
  expect(findLatestCheckpoint(ckptDir)).toBe(join(ckptDir, newest));
  for (const line of readFileSync(join(ckptDir, 'train_log.jsonl'), 'utf8').trim().split('\n')) JSON.parse(line);
  if (existsSync(join(ckptDir, 'previews'))) {
    for (const n of readdirSync(join(ckptDir, 'previews')).filter((f) => !TEMP.test(f))) {
      const meta = await sharp(join(ckptDir, 'previews', n)).metadata();
      expect(meta.format).toBe('png');
    }
  }
  const m = CKPT.exec(newest)!;
  return { stage: m[1] === 'batch' ? 'train' : 'pretrain', iteration: Number(m[2]) };
}

const checkpointAt = (stage: string, it: number) =>
  existsSync(join(ckptDir, `${stage}_${String(it).padStart(8, '0')}`, 'state.json'));

describe('animgs train interrupted', () => {
  // two steps, each its own test (the first compiles the kernels into the children's cache, the second loads them):
  // the second starts from what the first left
  const r = seededRandom(20);
  let from = -1;
  let temps = 0;
  let delay = 0;
  let firstS = 0;

  it('SIGKILL while a checkpoint is written leaves complete checkpoints only (and its temporaries)', async () => {
    const t0 = performance.now();
    // killed a seeded 0-10 ms after a checkpoint's temporary folder appears (after main training's first one): in
    // the middle of writing it, or just after (or at the third checkpoint, should every write be quicker than the
    // 5 ms poll)
    delay = Math.round(10 * r());
    const writing = () => readdirSync(ckptDir).some((n) => /^\.batch_\d{8}\.tmp-\d+$/.test(n));
    const killed = await train([], {
      when: () => (checkpointAt('batch', 1) && writing()) || checkpointAt('batch', 3),
      delayMs: delay,
      signal: 'SIGKILL',
    });
    expect(killed.signal, `train ended before the kill:\n${killed.stdout}\n${killed.stderr}`).toBe('SIGKILL');
    const afterKill = await checkOutputs(true);
    temps = readdirSync(ckptDir).filter((n) => TEMP.test(n)).length;
    expect(afterKill.stage).toBe('train');
    expect(afterKill.iteration).toBeGreaterThanOrEqual(1);
    from = afterKill.iteration;
    firstS = (performance.now() - t0) / 1000;
  }, 120_000);

  it('--resume continues from the last complete checkpoint; SIGINT stops with one more', async () => {
    expect(from, 'the killed run (the test before) left a checkpoint').toBeGreaterThanOrEqual(1);
    const t1 = performance.now();
    expect(from, 'killed before the last steps').toBeLessThan(STEPS - 1);
    const stopAt = from + 1;
    const stopped = await train(['--resume'], {
      when: () => checkpointAt('batch', stopAt),
      delayMs: 0,
      signal: 'SIGINT',
    });
    expect(stopped.stdout).toContain(`train: resuming train at iteration ${from} from ${join(ckptDir, 'batch_')}`);
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stdout).toMatch(/stopping after this step with a checkpoint/);
    // the killed run's temporaries are gone too; the next --resume starts from this checkpoint (latest.json)
    const afterStop = await checkOutputs(false);
    expect(afterStop.iteration).toBeGreaterThanOrEqual(stopAt);
    expect(afterStop.iteration).toBeLessThan(STEPS);
    expect(stopped.stdout).toContain(`train: stopped at train step ${afterStop.iteration}; checkpoint`);
    console.log(
      `train interrupted: SIGKILL ${delay} ms into a checkpoint's write (the last complete one: ${from}), ` +
        `${temps} temporaries left; SIGINT at ${afterStop.iteration}; runs ${firstS.toFixed(1)} + ` +
        `${((performance.now() - t1) / 1000).toFixed(1)} s`,
    );
  }, 120_000);
});
