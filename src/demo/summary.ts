/**
 * The demo's last words: the side-by-side image (captured photo | avatar for each held-out view, one row per
 * held-out camera, composed from the evaluation's saved views) and the report printed at the end.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { writeAtomicWith } from '../io/node/atomic.js';
import type { DemoPlan } from './plan.js';
import type { DemoResult } from './result.js';

const GAP = 4;

/**
 * Compose `<viewsDir>/<frame>_<cam>.png` (eval --save-images: photo | avatar | baselines, each W wide) into one
 * image: a row per camera, a (photo | avatar) pair per frame (`width`: a view's width). Returns the file, or null
 * when no view is there.
 */
export async function sideBySide(
  viewsDir: string,
  file: string,
  sel: { frames: readonly number[]; cams: readonly string[]; width: number },
): Promise<string | null> {
  const name = (f: number, c: string) => join(viewsDir, `${String(f).padStart(8, '0')}_${c}.png`);
  const first = sel.cams.flatMap((c) => sel.frames.map((f) => name(f, c))).find((p) => existsSync(p));
  if (!first) return null;
  const H = (await sharp(first).metadata()).height!;
  const cellW = 2 * sel.width;
  const width = sel.frames.length * cellW + (sel.frames.length - 1) * GAP;
  const height = sel.cams.length * H + (sel.cams.length - 1) * GAP;
  const parts: OverlayOptions[] = [];
  for (const [r, c] of sel.cams.entries()) {
    for (const [k, f] of sel.frames.entries()) {
      const p = name(f, c);
      if (!existsSync(p)) continue;
      const pair = await sharp(p).extract({ left: 0, top: 0, width: cellW, height: H }).png().toBuffer();
      parts.push({ input: pair, left: k * (cellW + GAP), top: r * (H + GAP) });
    }
  }
  await writeAtomicWith(file, (tmp) =>
    sharp({ create: { width, height, channels: 3, background: { r: 160, g: 160, b: 160 } } })
      .composite(parts)
      .png()
      .toFile(tmp),
  );
  return file;
}

/** The PNG frames of `dir` (in name order) as a looping animated GIF at `fps`. */
export async function animatedGif(dir: string, file: string, fps: number): Promise<string | null> {
  const frames = readdirSync(dir)
    .filter((f) => /^\d{8}\.png$/.test(f))
    .sort()
    .map((f) => join(dir, f));
  if (!frames.length) return null;
  // sharp joins two or more images into an animation; a single frame is a still GIF
  const input = frames.length > 1 ? sharp(frames, { join: { animated: true } }) : sharp(frames[0]);
  await writeAtomicWith(file, (tmp) => input.gif({ delay: Math.round(1000 / fps), loop: 0, effort: 1 }).toFile(tmp));
  return file;
}

const db = (v: number) => `${v.toFixed(2)} dB`;

/** The report printed at the end (a few lines). */
export function demoReport(r: DemoResult, plan: DemoPlan): string[] {
  const lines: string[] = [];
  const m = r.metrics;
  if (m) {
    const views = `${plan.evalFrames.length} held-out frames × ${plan.evalCams.length} held-out cameras`;
    lines.push(`Held-out views (${views}: poses and viewpoints training never saw), PSNR / SSIM on white:`);
    const row = (label: string, s: { psnr: number; ssim: number }) =>
      `  ${label.padEnd(62)} ${db(s.psnr).padStart(9)}  ${s.ssim.toFixed(4)}`;
    lines.push(row(`the avatar (${r.trainSteps ?? '?'} training steps)`, m.avatar));
    lines.push(row("fair baseline: the untrained avatar's silhouette, mean colour", m.fairBaseline));
    lines.push(row("oracle baseline: the photo's own silhouette, mean colour", m.oracleBaseline));
    const dFair = m.avatar.psnr - m.fairBaseline.psnr;
    const dOracle = m.avatar.psnr - m.oracleBaseline.psnr;
    lines.push(
      `  the avatar is ${db(Math.abs(dFair))} ${dFair >= 0 ? 'above' : 'below'} the fair baseline and ` +
        `${db(Math.abs(dOracle))} ${dOracle >= 0 ? 'above' : 'below'} the oracle (which knows the true outline)`,
    );
  }
  if (r.curve.length) {
    lines.push(
      `Held-out PSNR while training (frame ${plan.evalFrames[0]}, camera ${plan.evalCams[0]}): ` +
        r.curve.map(([s, v]) => `step ${s} ${v.toFixed(2)}`).join(', ') +
        ' dB',
    );
  }
  const f = r.files;
  if (f.video) lines.push(`Video (the held-out motion from an orbiting camera): ${f.video}`);
  if (f.gif) lines.push(`${f.video ? 'The same as' : 'The held-out motion from an orbiting camera:'} GIF ${f.gif}`);
  if (f.frames) lines.push(`Frames: ${f.frames}/%08d.png${f.video ? '' : ' (no MP4: no ffmpeg with libx264 found)'}`);
  if (f.sideBySide)
    lines.push(
      `Side by side (captured photo | avatar; a column pair per held-out frame, a row per held-out camera): ${f.sideBySide}`,
    );
  if (f.metrics) lines.push(`Metrics per view: ${f.metrics}; everything: ${r.out}`);
  const timed = r.stages.filter((s) => s.outcome !== 'skipped');
  if (timed.length) {
    const wall = timed.reduce((a, s) => a + s.wallSeconds, 0);
    const cpu = timed.reduce((a, s) => a + s.cpuSeconds, 0);
    lines.push(
      `Time (wall / CPU): ` +
        timed.map((s) => `${s.stage} ${s.wallSeconds.toFixed(0)}/${s.cpuSeconds.toFixed(0)} s`).join(', ') +
        `; total ${wall.toFixed(0)}/${cpu.toFixed(0)} s`,
    );
  }
  return lines;
}
