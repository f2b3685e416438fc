/**
 * A long animation split into frame ranges (issue 23): one BullMQ flow whose children each run `animgs animate
 * --part a:b` into a folder of their own, and whose parent (which BullMQ runs once every child has completed) joins
 * the parts into the output folder, with the video and one summary, as `animgs animate` alone would have written
 * them.
 *
 * A part renders its frames under the whole sequence's numbers and views (animate's `--part`), so the joined frames
 * are the unsplit run's byte for byte. The parts live in `<out>/.animgs-split-<id>/part-NN` (next to the final
 * output, so that moving them is a rename on the same file system, and hidden from animate's own "earlier
 * animation" check), with `split.json` describing the split. Each part is a job of its own: a retried part renders
 * only its range again (`--force` inside its own folder). The join links the frames into `joined/`, encodes the
 * video from them through animate's VideoWriter, writes the summary, then renames each output into place, the
 * summary last (as animate does: its presence marks a complete animation); a retried join picks up where it stopped.
 */
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { FlowJob, JobsOptions } from 'bullmq';
import sharp from 'sharp';
import { ANIMATION_OUTPUTS } from '../animate/animate.js';
import { findVideoEncoder, VideoWriter } from '../animate/video.js';
import { InputError } from '../io/errors.js';
import { reportProgress } from './channel.js';
import { JOIN_COMMAND, QUEUE_NAME, jobData, jobOptions, type JobData } from './jobs.js';

/** What the join needs, written by `queue add` into the split folder (shared storage, like the output). */
export interface SplitManifest {
  format: 'animgs split animation v1';
  id: string;
  /** The final output folder. */
  out: string;
  /** Replace an earlier animation there (the user passed --force). */
  force: boolean;
  /** Encode the video (unless --no-video), at this rate. */
  video: boolean;
  fps: number;
  frames: number;
  parts: Array<{ dir: string; start: number; end: number }>;
}

/** Frame ranges [a, b) covering `total` frames: `split` near-equal parts, or parts of `chunk` frames. */
export function splitRanges(total: number, by: { split?: number; chunk?: number }): Array<[number, number]> {
  const n = by.chunk ? Math.ceil(total / by.chunk) : Math.min(by.split ?? 1, total);
  const out: Array<[number, number]> = [];
  for (let k = 0; k < n; k++) {
    const a = by.chunk ? k * by.chunk : Math.floor((k * total) / n);
    const b = by.chunk ? Math.min(total, a + by.chunk) : Math.floor(((k + 1) * total) / n);
    out.push([a, b]);
  }
  return out;
}

/** The user's animate arguments without the output folder and --force (each part gets its own folder). */
export function partArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--out') i++;
    else if (a.startsWith('--out=') || a === '--force') continue;
    else out.push(a);
  }
  return out;
}

const partName = (k: number) => `part-${String(k).padStart(2, '0')}`;

/**
 * Write the split folder's manifest and return the flow: the join at the root, one child per range. `args` are the
 * user's animate arguments (after --), `out` the planned output folder (absolute).
 */
export function splitFlow(req: {
  id: string;
  config: string;
  args: string[];
  out: string;
  force: boolean;
  video: boolean;
  fps: number;
  ranges: Array<[number, number]>;
  cwd?: string;
  opts?: JobsOptions;
}): { flow: FlowJob; manifest: SplitManifest; dir: string } {
  const cwd = req.cwd ?? process.cwd();
  // the time in the name: a Redis started afresh counts splits from 1 again, and must not meet an old folder
  const dir = join(req.out, `.animgs-split-${req.id}-${Date.now().toString(36)}`);
  const manifest: SplitManifest = {
    format: 'animgs split animation v1',
    id: req.id,
    out: req.out,
    force: req.force,
    video: req.video,
    fps: req.fps,
    frames: req.ranges.at(-1)![1],
    parts: req.ranges.map(([start, end], k) => ({ dir: join(dir, partName(k)), start, end })),
  };
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'split.json'), JSON.stringify(manifest, null, 1) + '\n');
  const opts = { ...jobOptions(), ...req.opts };
  const rest = partArgs(req.args);
  const children: FlowJob[] = manifest.parts.map((p, k) => ({
    name: 'animate',
    queueName: QUEUE_NAME,
    // --force: a retried part replaces its own earlier attempt, and nothing else
    data: jobData('animate', req.config, [...rest, '--out', p.dir, '--part', `${p.start}:${p.end}`, '--force'], cwd),
    // a part that fails for good fails the join, naming it (instead of a join waiting forever)
    opts: { ...opts, failParentOnFailure: true, jobId: `${req.id}-part${k}` },
  }));
  const join_: JobData = {
    command: JOIN_COMMAND,
    args: [dir],
    cwd,
    artifacts: [req.out],
  };
  return {
    flow: {
      name: JOIN_COMMAND,
      queueName: QUEUE_NAME,
      data: join_,
      opts: { ...opts, jobId: `${req.id}-join` },
      children,
    },
    manifest,
    dir,
  };
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function readJson<T>(path: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError(`${path}: missing (${what}); queue the split animation again`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InputError(`${path}: not JSON (${(e as Error).message}); queue the split animation again`);
  }
}

const frameName = (i: number, ext: string) => `${String(i).padStart(8, '0')}.${ext}`;

/** A part's or the whole's animation.json (the fields the join reads or rewrites). */
interface Summary {
  complete: boolean;
  size: [number, number];
  part?: { start: number; end: number; of: number };
  frames: Array<{ index: number }>;
  outputs: Record<string, string | null>;
  fps: number;
  seconds: number;
  writtenAt: string;
  split?: unknown;
}

export interface JoinResult {
  out: string;
  frames: number;
  video: string | null;
  /** Already joined by an earlier run of this job. */
  already: boolean;
}

/** Join a split animation's parts into its output folder (the parent job: `animgs queue join DIR`). */
export async function joinAnimation(
  dirArg: string,
  log: (line: string) => void = () => undefined,
): Promise<JoinResult> {
  const dir = resolve(dirArg);
  const m = readJson<SplitManifest>(join(dir, 'split.json'), 'the split animation’s manifest');
  const finalSummary = join(m.out, ANIMATION_OUTPUTS.summary);
  // a join that completed its renames but not its clean-up (or ran twice): done
  if (existsSync(finalSummary)) {
    const s = readJson<Summary & { split?: { id?: string } }>(finalSummary, 'the joined summary');
    if (s.split?.id === m.id) {
      rmSync(dir, { recursive: true, force: true });
      return {
        out: m.out,
        frames: s.frames.length,
        video: s.outputs.video ? join(m.out, s.outputs.video) : null,
        already: true,
      };
    }
  }
  const parts = m.parts.map((p, k) => {
    const s = readJson<Summary>(join(p.dir, ANIMATION_OUTPUTS.summary), `part ${k}, frames ${p.start}:${p.end}`);
    if (!s.complete || s.part?.start !== p.start || s.part?.end !== p.end || s.frames.length !== p.end - p.start) {
      throw new InputError(
        `${join(p.dir, ANIMATION_OUTPUTS.summary)}: part ${k} is not frames ${p.start}:${p.end} complete; queue the split animation again`,
      );
    }
    return { ...p, summary: s };
  });
  const staging = join(dir, 'joined');
  const moving = join(dir, 'moving');
  const [W, H] = parts[0]!.summary.size;
  const entries = (['rgb', 'alpha', 'ply', 'tex'] as const).filter(
    (e) => (parts[0]!.summary.outputs[e === 'ply' ? 'ply' : e === 'tex' ? 'texMaps' : e] ?? null) !== null,
  );
  const ext = (e: string) => (e === 'ply' ? 'ply' : 'png');

  if (!existsSync(moving)) {
    // 1. the frames, linked (no copy: the same file system) under their final names
    let linked = 0;
    for (const e of entries) {
      const to = join(staging, ANIMATION_OUTPUTS[e]);
      mkdirSync(to, { recursive: true });
      for (const p of parts) {
        for (let i = p.start; i < p.end; i++) {
          const name = frameName(i, ext(e));
          const src = join(p.dir, ANIMATION_OUTPUTS[e], name);
          const dst = join(to, name);
          if (existsSync(dst)) continue;
          if (!existsSync(src))
            throw new InputError(`${src}: missing frame of part ${p.dir}; queue the split animation again`);
          try {
            linkSync(src, dst);
          } catch {
            copyFileSync(src, `${dst}.tmp-${process.pid}`); // another file system after all: copy, then rename
            renameSync(`${dst}.tmp-${process.pid}`, dst);
          }
          reportProgress('join: frames', ++linked, entries.length * m.frames);
        }
      }
    }
    // 2. the video, from the joined PNGs, through the same writer (and settings) animate uses
    let video: string | null = null;
    let noVideo: string | null = null;
    const videoPath = join(staging, ANIMATION_OUTPUTS.video);
    if (!m.video) noVideo = 'video off (--no-video)';
    else if (existsSync(videoPath)) video = videoPath;
    else {
      const e = await findVideoEncoder();
      if (!e.ok) noVideo = e.reason;
      else {
        log(`join: encoding ${ANIMATION_OUTPUTS.video} with ${e.encoder.path} (${e.encoder.from})`);
        const v = new VideoWriter(e.encoder, videoPath, W, H, m.fps);
        try {
          for (let i = 0; i < m.frames; i++) {
            const png = join(staging, ANIMATION_OUTPUTS.rgb, frameName(i, 'png'));
            const raw = await sharp(png).removeAlpha().toColourspace('srgb').raw().toBuffer();
            await v.frame(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
            if (v.error) break;
            reportProgress('join: video', i + 1, m.frames);
          }
          if (v.error) {
            noVideo = v.error;
            await v.abort();
          } else {
            await v.finish();
            video = videoPath;
          }
        } catch (err) {
          await v.abort();
          throw err;
        }
        if (noVideo) log(`join: ${noVideo}; the PNG frames are kept`);
      }
    }
    // 3. the summary of the whole: the parts' frames in order, the render time summed over the workers
    const seconds = parts.reduce((s, p) => s + p.summary.seconds, 0);
    const { part: _part, ...base } = parts[0]!.summary;
    const summary: Summary = {
      ...base,
      complete: true,
      frames: parts.flatMap((p) => p.summary.frames),
      outputs: { ...base.outputs, video: video ? ANIMATION_OUTPUTS.video : null, noVideo: video ? null : noVideo },
      fps: seconds > 0 ? m.frames / seconds : 0,
      seconds,
      writtenAt: new Date().toISOString(),
      split: {
        id: m.id,
        parts: parts.map((p) => ({ frames: [p.start, p.end], seconds: p.summary.seconds, fps: p.summary.fps })),
      },
    };
    writeAtomic(join(staging, ANIMATION_OUTPUTS.summary), JSON.stringify(summary, null, 1) + '\n');
    // 4. the output folder must still be free (another animation may have been written there since queue add)
    const earlier = Object.values(ANIMATION_OUTPUTS).filter((n) => existsSync(join(m.out, n)));
    if (earlier.length && !m.force) {
      throw new InputError(
        `--out ${m.out} holds an earlier animation (${earlier.join(', ')}) written since the split was queued: ` +
          'remove it, or queue again with --force',
      );
    }
    writeFileSync(moving, '');
  }
  // 5. into place, entry by entry, the summary last (a retry after a crash here continues with what is left); an
  // earlier animation's outputs this one lacks (--force: its .ply, colour maps, video) go first, not to mix in
  const names = [...entries.map((e) => ANIMATION_OUTPUTS[e]), ANIMATION_OUTPUTS.video];
  for (const n of Object.values(ANIMATION_OUTPUTS))
    if (!existsSync(join(staging, n)) && !(n === ANIMATION_OUTPUTS.summary))
      rmSync(join(m.out, n), { recursive: true, force: true });
  for (const n of [...names, ANIMATION_OUTPUTS.summary]) {
    const src = join(staging, n);
    if (!existsSync(src)) continue;
    rmSync(join(m.out, n), { recursive: true, force: true });
    renameSync(src, join(m.out, n));
  }
  rmSync(dir, { recursive: true, force: true });
  const joined = readJson<Summary>(finalSummary, 'the joined summary');
  return {
    out: m.out,
    frames: joined.frames.length,
    video: joined.outputs.video ? join(m.out, ANIMATION_OUTPUTS.video) : null,
    already: false,
  };
}
