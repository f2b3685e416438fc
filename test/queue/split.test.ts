/**
 * A split animation through the queue (issue 23): `queue add animate --split 2` becomes a flow of two part jobs
 * (`animate --part`) and a join; two worker processes render the parts, and the joined output folder must equal a
 * direct, unsplit animate run's byte for byte (frames, alpha, the video through an ffmpeg stand-in that keeps the
 * raw frames it is piped) with the same summary apart from timings; an existing animation is refused without
 * --force. The avatar is the animation tests' tiny fixture (untrained 4-channel networks on a 40×32 capture).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME } from '../../src/queue/jobs.js';
import { joinAnimation, partArgs, splitFlow, splitRanges } from '../../src/queue/split.js';
import { makeFixture, writeCheckpoint, type AnimFixture } from '../animate/fixture.js';
import { NO_REDIS, redisServerPath, startRedis, type TestRedis } from './redis.js';
import { CLI_ARGV, fileTree, runCli } from './cli.js';

const bin = redisServerPath();
if (!bin) console.warn(NO_REDIS);
const root = mkdtempSync(join(tmpdir(), 'animgs-queue-split-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
  ANIMGS_NO_FILTER: '1',
  ANIMGS_FFMPEG: join(root, 'ffmpeg'),
  // the child processes' own shader cache, empty at the start (even when the suite runs with the cache disabled, for a
  // cold run): the direct run compiles the kernels, the parts and the join reuse them
  MESA_SHADER_CACHE_DIR: join(root, 'mesa-shader-cache'),
  MESA_SHADER_CACHE_DISABLE: 'false',
};
let redis: TestRedis;
let fx: AnimFixture;
const yaml = join(root, 'avatar.yaml');

const cli = (args: string[]) => runCli(args, { cwd: root, env });
/** Every file under `dir` by hash, the summary (timings) left out. */
const tree = (dir: string) => fileTree(dir, (n) => n === 'animation.json');

/** A summary without what differs between runs (timings) or marks the split. */
function summaryOf(dir: string): Record<string, unknown> {
  const {
    fps: _f,
    seconds: _s,
    writtenAt: _w,
    split: _p,
    ...rest
  } = JSON.parse(readFileSync(join(dir, 'animation.json'), 'utf8')) as Record<string, unknown>;
  return rest;
}

beforeAll(async () => {
  if (!bin) return;
  redis = await startRedis(bin);
  env.ANIMGS_REDIS_URL = redis.url;
  fx = await makeFixture(root);
  await writeCheckpoint(fx, join(root, 'results'));
  writeFileSync(
    yaml,
    `mode: test
train:
  dataset: MvRgbDatasetTHuman4
  data: {data_dir: ${fx.data}, frame_range: [0, 3]}
  net_ckpt_dir: ${join(root, 'results')}
model: {with_viewdirs: true, random_style: false, preset: small}
test:
  pose_data: {data_path: ${join(fx.data, 'poses_test.npz')}, frame_range: [0, 4]}
  view_setting: free
  n_pca: 2
`,
  );
  // the ffmpeg stand-in of test/animate: lists libx264, keeps the raw frames it is piped
  writeFileSync(
    env.ANIMGS_FFMPEG!,
    '#!/bin/sh\nfor a in "$@"; do last="$a"; done\ncase "$*" in *-encoders*) echo " V..... libx264 H.264"; exit 0;; esac\ncat > "$last"\n',
  );
  chmodSync(env.ANIMGS_FFMPEG!, 0o755);
}, 60_000);
afterAll(async () => {
  fx?.net.dispose();
  if (fx) for (const t of Object.values(fx.canonical)) t.dispose();
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('split ranges', () => {
  it('near-equal parts or fixed chunks, covering every frame once; the parts get their own --out', () => {
    expect(splitRanges(10, { split: 3 })).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(splitRanges(2, { split: 5 })).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(splitRanges(10, { chunk: 4 })).toEqual([
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
    expect(partArgs(['--view', 'free', '--out', 'x', '--force', '--out=y', '--size', '8'])).toEqual([
      '--view',
      'free',
      '--size',
      '8',
    ]);
  });
});

describe('the join', () => {
  it('moves the parts into place with one summary; a second run finds it joined; a taken output is refused', async () => {
    const out = join(root, 'join-only');
    const make = (id: string, force: boolean) => {
      const { dir, manifest, flow } = splitFlow({
        id,
        config: yaml,
        args: ['--out', out, '--view', 'front'],
        out,
        force,
        video: false,
        fps: 30,
        ranges: [
          [0, 2],
          [2, 3],
        ],
      });
      expect(flow.children!.map((c) => c.data.args.slice(-5))).toEqual([
        ['--out', manifest.parts[0]!.dir, '--part', '0:2', '--force'],
        ['--out', manifest.parts[1]!.dir, '--part', '2:3', '--force'],
      ]);
      expect(flow.data.args).toEqual([dir]);
      // what two `animate --part` runs leave (stand-in frames: no video, so the join does not decode them)
      for (const p of manifest.parts) {
        mkdirSync(join(p.dir, 'rgb'), { recursive: true });
        mkdirSync(join(p.dir, 'alpha'), { recursive: true });
        const frames = [];
        for (let i = p.start; i < p.end; i++) {
          const n = `${String(i).padStart(8, '0')}.png`;
          writeFileSync(join(p.dir, 'rgb', n), `rgb ${id} ${i}`);
          writeFileSync(join(p.dir, 'alpha', n), `alpha ${id} ${i}`);
          frames.push({ index: i, poseFrame: 10 + i, projected: true });
        }
        const summary = {
          complete: true,
          size: [8, 8],
          part: { start: p.start, end: p.end, of: 3 },
          frames,
          outputs: { rgb: 'rgb', alpha: 'alpha', ply: null, texMaps: null, video: null, noVideo: 'part' },
          fps: 1,
          seconds: p.end - p.start,
          writtenAt: '',
        };
        writeFileSync(join(p.dir, 'animation.json'), JSON.stringify(summary));
      }
      return dir;
    };
    const r = await joinAnimation(make('t1', false));
    expect(r).toMatchObject({ frames: 3, video: null, already: false });
    expect(readdirSync(out)).toEqual(['alpha', 'animation.json', 'rgb']);
    expect(readFileSync(join(out, 'rgb', '00000002.png'), 'utf8')).toBe('rgb t1 2');
    const s = JSON.parse(readFileSync(join(out, 'animation.json'), 'utf8'));
    expect(s.part).toBeUndefined();
    expect(s).toMatchObject({
      complete: true,
      seconds: 3,
      outputs: { video: null, noVideo: 'video off (--no-video)' },
    });
    expect(s.frames.map((f: { poseFrame: number }) => f.poseFrame)).toEqual([10, 11, 12]);
    // a join run again after it finished (a retry after its clean-up): nothing to do, nothing changed
    expect((await joinAnimation(make('t1', false))).already).toBe(true);
    expect(readdirSync(out)).toEqual(['alpha', 'animation.json', 'rgb']);
    // another split into the same folder without --force: refused in one line, the earlier animation kept
    await expect(joinAnimation(make('t2', false))).rejects.toThrow(
      /^--out .* holds an earlier animation .*queue again with --force$/,
    );
    expect(readFileSync(join(out, 'rgb', '00000000.png'), 'utf8')).toBe('rgb t1 0');
    // with --force it replaces it; a part that is missing is named
    await joinAnimation(make('t3', true));
    expect(readFileSync(join(out, 'rgb', '00000000.png'), 'utf8')).toBe('rgb t3 0');
    const broken = make('t4', true);
    rmSync(join(broken, 'part-01', 'animation.json'));
    await expect(joinAnimation(broken)).rejects.toThrow(/part-01\/animation\.json: missing \(part 1, frames 2:3\)/);
  });
});

describe.skipIf(!bin)('a split animation through the queue', () => {
  const flags = ['--size', '24x20', '--ply', 'dc'];
  const direct = join(root, 'direct');
  const out = join(root, 'split');
  let unsplitMs = 0;

  // The unsplit run, through the CLI as well: it compiles the kernels into the children's shader cache, from which
  // the two parts then load them (run in this process instead, it would leave both parts to compile every kernel
  // side by side: this process's shader cache is not theirs). Its own test, as it compiles every kernel.
  it('an unsplit animate run, and the split queued (no worker yet)', async () => {
    const t0 = Date.now();
    const [unsplit, added] = await Promise.all([
      cli(['animate', '-c', yaml, ...flags, '--out', direct]),
      cli(['queue', 'add', 'animate', '-c', yaml, '--split', '2', '--', ...flags, '--out', out]),
    ]);
    expect(unsplit.code, unsplit.stderr).toBe(0);
    expect(unsplit.stdout).toMatch(/; video .*video\.mp4/);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^queued split animation s1: 4 frames as 2 parts \(0:2, 2:4; jobs s1-part0\.\.1\)/);
    unsplitMs = Date.now() - t0;
  }, 120_000);

  it('two workers render the parts; the join equals the unsplit run byte for byte', async () => {
    expect(existsSync(join(direct, 'animation.json')), 'the unsplit run (the test before)').toBe(true);
    const t1 = Date.now();
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: conn });
    const workers: ChildProcess[] = [];
    try {
      for (let k = 0; k < 2; k++)
        workers.push(spawn(process.execPath, [...CLI_ARGV, 'worker'], { cwd: root, env, stdio: 'ignore' }));
      for (;;) {
        const state = await (await queue.getJob('s1-join'))!.getState();
        if (state === 'completed' || state === 'failed') break;
        if (Date.now() - t1 > 90_000) throw new Error(`join still ${state}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const join_ = (await queue.getJob('s1-join'))!;
      expect(join_.failedReason ?? '').toBe('');
      const parts = await Promise.all([0, 1].map(async (k) => (await queue.getJob(`s1-part${k}`))!));
      const who = parts.map((p) => (p.progress as { worker?: string }).worker);
      // each part's own frame count, through the channel
      expect(parts.map((p) => p.progress)).toMatchObject([
        { label: 'animate: frames', done: 2, total: 2 },
        { label: 'animate: frames', done: 2, total: 2 },
      ]);
      console.log(
        `split animation: the unsplit run ${unsplitMs} ms, the split ${Date.now() - t1} ms from the workers' start; ` +
          `parts on ${who.join(', ')}; join log: ` +
          (await queue.getJobLogs('s1-join')).logs.join(' | '),
      );
      // the frames (rgb, alpha, .ply) and the video: the unsplit run's bytes
      const a = tree(direct);
      expect(Object.keys(a)).toContain('video.mp4');
      expect(Object.keys(a).filter((f) => f.startsWith('rgb/')).length).toBe(4);
      expect(tree(out)).toEqual(a);
      expect(summaryOf(out)).toEqual(summaryOf(direct));
      const s = JSON.parse(readFileSync(join(out, 'animation.json'), 'utf8'));
      expect(s.split.parts.map((p: { frames: number[] }) => p.frames)).toEqual([
        [0, 2],
        [2, 4],
      ]);
      expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]); // the parts' folder is gone
      // once more without --force: refused at once, one line, nothing queued
      const again = await cli(['queue', 'add', 'animate', '-c', yaml, '--split', '2', '--', ...flags, '--out', out]);
      expect(again.code).toBe(1);
      expect(again.stderr.trim()).toMatch(/^animgs: --out .*split holds an earlier animation .*pass --force/);
      expect(existsSync(join(out, 'animation.json'))).toBe(true);
    } finally {
      for (const w of workers) w.kill('SIGKILL');
      await queue.close();
      conn.disconnect();
    }
  }, 120_000);
});
