/**
 * `animgs animate` through its library entry (the CLI file only parses flags): everything is checked before any GPU
 * work, with one-line errors; a run writes the frames, alpha, .ply, colour maps, the video through an ffmpeg stand-in
 * and a summary, atomically; its replayed frames equal eager ones; an earlier animation is kept unless --force, which
 * replaces it without leaving stale frames.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrainConfig } from '../../src/avatar/config-file.js';
import { planAnimation, runAnimation, type AnimateRequest } from '../../src/animate/animate.js';
import { readGray, readRgb } from '../../src/io/node/image.js';
import { readPly } from '../../src/splat/node/ply.js';
import { makeFixture, writeCheckpoint, type AnimFixture } from './fixture.js';

let root: string;
let fx: AnimFixture;
let yaml: string;
const quiet = { log: () => undefined };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'animgs-animate-cli-'));
  fx = await makeFixture(root);
  await writeCheckpoint(fx, join(root, 'results'));
  yaml = join(root, 'avatar.yaml');
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
  // an ffmpeg stand-in: lists libx264, and copies the raw frames it is piped into the output file
  const bin = join(root, 'ffmpeg');
  writeFileSync(
    bin,
    '#!/bin/sh\nfor a in "$@"; do last="$a"; done\ncase "$*" in *-encoders*) echo " V..... libx264 H.264"; exit 0;; esac\ncat > "$last"\n',
  );
  chmodSync(bin, 0o755);
});

afterAll(() => {
  fx?.net.dispose();
  if (fx) for (const t of Object.values(fx.canonical)) t.dispose();
  delete process.env.ANIMGS_FFMPEG;
  rmSync(root, { recursive: true, force: true });
});

const request = (over: Partial<AnimateRequest> = {}): AnimateRequest => ({
  config: loadTrainConfig(yaml),
  size: '24x20',
  video: false,
  ...quiet,
  ...over,
});

describe('animgs animate', () => {
  it('checks every input before any work, with one-line errors', async () => {
    const plan = await planAnimation(request({ out: join(root, 'plan') }));
    expect(plan.poses.count).toBe(4);
    expect(plan.project).toEqual([true, true, true, true]); // a held-out motion: projected
    expect(plan.pca?.path).toMatch(/pca_2\.safetensors$/);
    expect([plan.width, plan.height]).toEqual([24, 20]);
    // the capture's own poses: training frames are not projected, the others are
    const own = await planAnimation(
      request({ poses: join(fx.data, 'smpl_params.npz'), frames: '1:3', out: join(root, 'plan') }),
    );
    expect(own.project).toEqual([false, false]);
    const bad: Array<[Partial<AnimateRequest>, RegExp]> = [
      [{ view: 'orbit' }, /^--view 'orbit': expected one of/],
      [{ view: 'camera:7' }, /^--view camera:7: the capture has 2 cameras/],
      [{ frames: '5:2' }, /^--frames '5:2': the end \(2\) must be greater than the start \(5\)/],
      [{ frames: '0:40' }, /poses_test\.npz: frame range \[0, 40\] goes past the file's 4 frames/],
      [{ poses: join(root, 'nope.npz') }, /^pose file .*nope\.npz does not exist/],
      [{ poses: yaml }, /not a pose file/],
      [{ size: '0x10' }, /^--size '0x10'/],
      [{ background: 'blue' }, /^--bg 'blue'/],
      [{ pca: 'maybe' as never }, /^--pca 'maybe'/],
      [{ checkpoint: join(root, 'nothing') }, /does not exist/],
      [{ out: join(yaml, 'sub') }, /^--out .*cannot create the folder|^--out .*not a folder/],
    ];
    for (const [over, re] of bad) {
      const e = await planAnimation(request({ out: join(root, 'plan'), ...over })).then(
        () => null,
        (x: Error) => x,
      );
      expect(e?.message, JSON.stringify(over)).toMatch(re);
      expect(e!.message.includes('\n')).toBe(false);
    }
    // a PCA of another size than the config asks for
    const cfg = loadTrainConfig(yaml);
    cfg.test!.nPca = 5;
    await expect(planAnimation({ ...request({ out: join(root, 'plan') }), config: cfg })).rejects.toThrow(
      /needs the pose PCA, and .* has none of 5 components: run `animgs prep/,
    );
    cfg.test!.nPca = 0; // the reference's switch: no projection, no PCA needed
    expect((await planAnimation({ ...request({ out: join(root, 'plan') }), config: cfg })).pca).toBeNull();
  });

  it('writes frames, alpha, .ply, colour maps, the video and a summary; replayed frames equal eager ones', async () => {
    process.env.ANIMGS_FFMPEG = join(root, 'ffmpeg');
    const out = join(root, 'anim');
    const lines: string[] = [];
    const plan = await planAnimation(request({ out, ply: 'dc', texMaps: true, video: true, frames: '0:3' }));
    expect(plan.encoder?.from).toBe('ANIMGS_FFMPEG');
    const r = await runAnimation(plan, { log: (l) => lines.push(l) });
    expect(r).toMatchObject({ frames: 3, stopped: false, projected: 3 });
    // the start-up's log: the avatar's load by step, then when the first frame was done
    const n = String.raw`\d+\.\d`;
    const loadLine = new RegExp(
      String.raw`^avatar: train step 1 from .*batch_00000001 \(\d+ Gaussians; loaded in ${n} s: ` +
        `maps ${n}, SMPL-X ${n}, device ${n}, canonical ${n}, checkpoint ${n}, networks ${n}\\)$`,
    );
    expect(lines.filter((l) => loadLine.test(l)).length, lines.join('\n')).toBe(1);
    const firstLine = new RegExp(
      String.raw`^animate: first frame ${n} s after the start \(the avatar loaded in ${n} s\)$`,
    );
    expect(lines.filter((l) => firstLine.test(l)).length, lines.join('\n')).toBe(1);
    expect(readdirSync(join(out, 'rgb'))).toEqual(['00000000.png', '00000001.png', '00000002.png']);
    expect(readdirSync(join(out, 'alpha')).length).toBe(3);
    expect(readdirSync(join(out, 'cano_tex')).length).toBe(3);
    expect(readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(statSync(join(out, 'video.mp4')).size).toBe(3 * 24 * 20 * 3); // the stand-in keeps the raw frames
    const ply = readPly(join(out, 'posed_gaussians', '00000001.ply'));
    expect(ply.count).toBe(fx.maps.pixels.length);
    const summary = JSON.parse(readFileSync(join(out, 'animation.json'), 'utf8'));
    expect(summary).toMatchObject({ complete: true, view: 'free', size: [24, 20], outputs: { video: 'video.mp4' } });
    expect(summary.frames.map((f: { poseFrame: number }) => f.poseFrame)).toEqual([0, 1, 2]);
    const alpha = await readGray(join(out, 'alpha', '00000002.png'));
    expect(Math.max(...alpha.data)).toBeGreaterThan(20); // the subject is in view
    // the same frames rendered eagerly, one by one
    const eagerOut = join(root, 'anim-eager');
    await runAnimation(await planAnimation(request({ out: eagerOut, frames: '0:3' })), { eager: true });
    for (const f of ['00000000.png', '00000002.png']) {
      const [a, b] = [await readRgb(join(out, 'rgb', f)), await readRgb(join(eagerOut, 'rgb', f))];
      expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer)), f).toBe(true);
    }
    expect(existsSync(join(eagerOut, 'video.mp4'))).toBe(false);
    // an earlier animation is kept unless --force, which replaces it (no stale frames of the longer run)
    await expect(planAnimation(request({ out, frames: '0:2' }))).rejects.toThrow(
      /holds an earlier animation .*--force/,
    );
    const r2 = await runAnimation(await planAnimation(request({ out, frames: '0:2', force: true, view: 'back' })));
    expect(r2.frames).toBe(2);
    expect(readdirSync(join(out, 'rgb'))).toEqual(['00000000.png', '00000001.png']);
    expect(existsSync(join(out, 'posed_gaussians'))).toBe(false);
    expect(existsSync(join(out, 'video.mp4'))).toBe(false);
    // stopped (Ctrl-C) after the first frame: the frames done (and the one already rendering) are kept, the summary
    // says the run is incomplete
    let frames = 0;
    const stopped = await runAnimation(await planAnimation(request({ out, force: true })), {
      onFrame: () => frames++,
      shouldStop: () => frames > 0,
    });
    expect(stopped).toMatchObject({ frames: 2, stopped: true });
    expect(readdirSync(join(out, 'rgb'))).toEqual(['00000000.png', '00000001.png']);
    expect(JSON.parse(readFileSync(join(out, 'animation.json'), 'utf8')).complete).toBe(false);
  });

  it('names a broken checkpoint file when the avatar loads (its weights are read while the maps decode)', async () => {
    const ckDir = join(root, 'results-broken');
    cpSync(join(root, 'results'), ckDir, { recursive: true });
    const net = join(ckDir, 'batch_00000001', 'net.safetensors');
    truncateSync(net, statSync(net).size - 8);
    const plan = await planAnimation(request({ out: join(root, 'anim-broken'), checkpoint: ckDir, frames: '0:1' }));
    await expect(runAnimation(plan)).rejects.toThrow(/batch_00000001 \(given\): .*net\.safetensors.*truncated file/);
    rmSync(net);
    await expect(runAnimation(plan)).rejects.toThrow(/batch_00000001 \(given\): cannot read .*net\.safetensors/);
  });
});
