/**
 * MP4 (H.264) from the rendered frames through an ffmpeg binary, when one is available: `$ANIMGS_FFMPEG`, an
 * ffmpeg shipped in an installed npm package (`ffmpeg-static`, `@ffmpeg-installer/ffmpeg`; neither is a dependency
 * of ours), or the system's `ffmpeg` on PATH. Frames are piped as raw RGB while the animation runs (nothing is read
 * back from the PNGs); the file is written under a temporary name and renamed when ffmpeg has finished, so an
 * interrupted run never leaves a truncated video under the final name. Without an encoder (or without libx264 in
 * it) the caller says so once and keeps the PNG frames.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

export interface VideoEncoderInfo {
  /** The ffmpeg binary. */
  path: string;
  /** Where it was found: 'ANIMGS_FFMPEG', an npm package name, or 'PATH'. */
  from: string;
}

/** Why no encoder was found (one line), or the encoder. */
export type EncoderLookup = { ok: true; encoder: VideoEncoderInfo } | { ok: false; reason: string };

function probe(path: string): 'ok' | 'no-h264' | 'missing' {
  const v = spawnSync(path, ['-hide_banner', '-encoders'], { encoding: 'utf8', timeout: 10_000 });
  if (v.error || v.status !== 0) return 'missing';
  return /\blibx264\b/.test(v.stdout) ? 'ok' : 'no-h264';
}

async function packagePath(name: string): Promise<string | null> {
  try {
    const mod = (await import(name)) as { default?: unknown; path?: unknown };
    const d = mod.default as { path?: unknown } | string | undefined;
    const p = typeof d === 'string' ? d : typeof d?.path === 'string' ? d.path : mod.path;
    return typeof p === 'string' ? p : null;
  } catch {
    return null;
  }
}

/** Find an ffmpeg with an H.264 encoder (libx264). */
export async function findVideoEncoder(env: Record<string, string | undefined> = process.env): Promise<EncoderLookup> {
  const candidates: Array<[string | null, string]> = [];
  if (env.ANIMGS_FFMPEG) candidates.push([env.ANIMGS_FFMPEG, 'ANIMGS_FFMPEG']);
  for (const pkg of ['ffmpeg-static', '@ffmpeg-installer/ffmpeg']) candidates.push([await packagePath(pkg), pkg]);
  candidates.push(['ffmpeg', 'PATH']);
  let noH264: string | null = null;
  for (const [path, from] of candidates) {
    if (!path) continue;
    const r = probe(path);
    if (r === 'ok') return { ok: true, encoder: { path, from } };
    if (r === 'no-h264') noH264 ??= `${path} (${from}) has no libx264 encoder`;
    else if (from === 'ANIMGS_FFMPEG') noH264 ??= `ANIMGS_FFMPEG=${path} does not run`;
  }
  return {
    ok: false,
    reason:
      noH264 ??
      'no ffmpeg found (install one on PATH, `npm install ffmpeg-static`, or set ANIMGS_FFMPEG=/path/to/ffmpeg)',
  };
}

/** An H.264 MP4 being written: `frame()` pipes one RGB frame, `finish()` closes and renames, `abort()` removes. */
export class VideoWriter {
  private readonly proc: ChildProcessByStdio<Writable, null, Readable>;
  private readonly tmp: string;
  private stderr = '';
  private failed: Error | null = null;
  private readonly exited: Promise<number | null>;
  frames = 0;

  constructor(
    encoder: VideoEncoderInfo,
    readonly path: string,
    readonly width: number,
    readonly height: number,
    fps: number,
  ) {
    this.tmp = `${path}.tmp-${process.pid}`;
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${width}x${height}`,
      '-r',
      String(fps),
      '-i',
      '-',
      '-an',
      '-vf',
      'pad=ceil(iw/2)*2:ceil(ih/2)*2',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-crf',
      '18',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      this.tmp,
    ];
    this.proc = spawn(encoder.path, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      if (this.stderr.length < 4000) this.stderr += d;
    });
    this.proc.stdin.on('error', (e) => {
      this.failed ??= e;
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (e) => {
        this.failed ??= e;
        resolve(null);
      });
      this.proc.on('close', (code) => resolve(code));
    });
  }

  /** The encoder's failure so far (then the caller stops feeding it), as one line. */
  get error(): string | null {
    if (!this.failed) return null;
    const why = this.stderr.trim().split('\n').pop() || this.failed.message;
    return `ffmpeg failed: ${why}`;
  }

  /** Pipe one frame (W·H·3 interleaved RGB bytes), waiting while ffmpeg's input is full. */
  async frame(rgb: Uint8Array): Promise<void> {
    if (this.failed) return;
    if (rgb.length !== this.width * this.height * 3)
      throw new Error(`video frame of ${rgb.length} bytes, expected ${this.width}×${this.height}×3`);
    this.frames++;
    if (!this.proc.stdin.write(rgb)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.proc.stdin.off('drain', done);
          this.proc.off('close', done);
          resolve();
        };
        this.proc.stdin.on('drain', done);
        this.proc.on('close', done);
      });
    }
  }

  /** Close the input, wait for ffmpeg and move the file into place. Throws (one line) if ffmpeg failed. */
  async finish(): Promise<void> {
    this.proc.stdin.end();
    const code = await this.exited;
    if (code !== 0 || this.failed) {
      rmSync(this.tmp, { force: true });
      const why = this.stderr.trim().split('\n').pop() || this.failed?.message || `exit code ${code}`;
      throw new Error(`ffmpeg failed: ${why}`);
    }
    renameSync(this.tmp, this.path);
  }

  /** Stop ffmpeg and remove the partial file. */
  async abort(): Promise<void> {
    this.proc.stdin.destroy();
    this.proc.kill('SIGKILL');
    await this.exited;
    rmSync(this.tmp, { force: true });
  }
}
