/** `animgs animate -c avatar.yaml`: drive a trained avatar with a pose sequence (flags only; see src/animate). */
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { loadTrainConfig, type TrainConfig } from '../avatar/config-file.js';
import {
  planAnimation,
  runAnimation,
  type AnimateRequest,
  type FrameReport,
  type PcaMode,
} from '../animate/animate.js';
import type { ViewOrientation } from '../animate/views.js';
import { reportProgress } from '../queue/channel.js';

export interface AnimateFlags {
  config: string;
  checkpoint?: string;
  poses?: string;
  view?: string;
  frames?: string;
  out?: string;
  size?: string;
  bg?: string;
  ply?: boolean | string;
  texMaps?: boolean;
  pca: string;
  orient: string;
  fps?: string;
  video: boolean;
  part?: string;
  force?: boolean;
}

/** A progress bar with frames/s on a terminal; a plain line every ~10 s (and at the end) otherwise. */
function progress(): { onFrame: (r: FrameReport) => void; log: (line: string) => void; stop: () => void } {
  if (process.stdout.isTTY) {
    const bar = new SingleBar(
      { format: 'animate [{bar}] {value}/{total} frames | {fps} frames/s | ETA {eta_formatted}', etaBuffer: 30 },
      Presets.shades_classic,
    );
    let started = false;
    return {
      onFrame: (r) => {
        if (!started) {
          bar.start(r.total, 0, { fps: '-' });
          started = true;
        }
        bar.update(r.done, { fps: r.fps ? r.fps.toFixed(2) : '-' });
      },
      log: (line) => {
        if (started) {
          bar.stop();
          started = false;
        }
        console.log(line);
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    onFrame: (r) => {
      const now = performance.now();
      if (now - last < 10_000 && r.done !== r.total && r.done !== 1) return;
      last = now;
      console.log(`animate: ${r.done}/${r.total} frames, ${r.fps ? r.fps.toFixed(2) : '-'} frames/s`);
    },
    log: (line) => console.log(line),
    stop: () => undefined,
  };
}

/** The request of these flags (shared with `queue add animate --split`, which plans the animation to split it). */
export function animateRequest(config: TrainConfig, flags: AnimateFlags, log: (line: string) => void): AnimateRequest {
  const fps = flags.fps === undefined ? undefined : Number(flags.fps);
  return {
    config,
    ...(flags.checkpoint ? { checkpoint: flags.checkpoint } : {}),
    ...(flags.poses ? { poses: flags.poses } : {}),
    ...(flags.view ? { view: flags.view } : {}),
    ...(flags.frames !== undefined ? { frames: flags.frames } : {}),
    ...(flags.out ? { out: flags.out } : {}),
    ...(flags.size !== undefined ? { size: flags.size } : {}),
    ...(flags.bg !== undefined ? { background: flags.bg } : {}),
    ...(flags.ply !== undefined ? { ply: flags.ply === true ? true : (flags.ply as 'full' | 'dc') } : {}),
    ...(flags.texMaps ? { texMaps: true } : {}),
    pca: flags.pca as PcaMode,
    orient: flags.orient as ViewOrientation,
    ...(fps !== undefined ? { fps } : {}),
    video: flags.video,
    ...(flags.part !== undefined ? { part: flags.part } : {}),
    force: !!flags.force,
    log,
  };
}

/** The flags of `animate` (also parsed by `queue add animate --split` from the arguments after --). */
export function animateOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-c, --config <yaml>', "a reference-style avatar.yaml (the original's keys)")
    .option(
      '--checkpoint <path>',
      "our checkpoint folder or the reference's net.pt (default: test.prev_ckpt, else the latest in train.net_ckpt_dir)",
    )
    .option('--poses <file>', 'pose sequence (default: test.pose_data.data_path, else the capture’s smpl_params.npz)')
    .option(
      '--view <setting>',
      'camera[:ID], free, front, back, moving, front_bird, back_bird or cano (default: test.view_setting, else free)',
    )
    .option(
      '--frames <a:b[:step]>',
      "frames of the pose file, end exclusive (default: test.pose_data's range, else all)",
    )
    .option('--out <dir>', 'output folder (default <train.net_ckpt_dir>/animations/<poses>_<view>)')
    .option('--size <WxH>', 'image size (default 1024x1024 × test.img_scale; a capture camera: its own size)')
    .option('--bg <color>', 'background: white (default), black or r,g,b in [0, 1]')
    .option(
      '--ply [layout]',
      'also write the posed Gaussians per frame as 3DGS .ply: full (default; 45 zero f_rest) or dc',
    )
    .option('--tex-maps', 'also write the canonical colour maps per frame')
    .option('--pca <mode>', 'pose projection onto the training poses’ PCA: auto (unseen poses), on or off', 'auto')
    .option(
      '--orient <mode>',
      "synthetic views: body (upright, facing the camera) or world (the capture's axes)",
      'body',
    )
    .option('--fps <n>', 'video frame rate (default 30)')
    .option('--no-video', 'do not encode an MP4 even when ffmpeg is found')
    .option(
      '--part <a:b>',
      'only output frames a..b-1 of the sequence, numbered and viewed as in the whole, no video (a split queue job)',
    )
    .option('--force', 'replace an earlier animation in the output folder');
}

export function registerAnimate(program: Command): void {
  animateOptions(
    program
      .command('animate')
      .description(
        'drive a trained avatar with a pose sequence (AMASS .npz, smpl_params.npz, AIST++ .pkl; default test.pose_data, ' +
          "else the capture's own poses) from a view; writes RGB and alpha PNG frames, an MP4 when ffmpeg is found, " +
          'optionally the posed Gaussians as 3DGS .ply',
      ),
  ).action(async (flags: AnimateFlags) => {
    const config = loadTrainConfig(flags.config);
    const p = progress();
    const plan = await planAnimation(animateRequest(config, flags, p.log));
    for (const n of config.notes) p.log(n);
    p.log(
      `animate: ${plan.poses.count} frames of ${plan.poses.source}, view ${plan.view.setting}${plan.view.camId !== undefined ? `:${plan.view.camId}` : ''}, ` +
        `${plan.width}×${plan.height} → ${plan.out}`,
    );
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      p.log('\nanimate: stopping after this frame (Ctrl-C again to leave at once)');
    };
    process.on('SIGINT', onSigint);
    try {
      const onFrame = (f: FrameReport) => {
        reportProgress('animate: frames', f.done, f.total); // a queue job's (a split part's) count and ETA
        p.onFrame(f);
      };
      const r = await runAnimation(plan, { onFrame, log: p.log, shouldStop: () => stop });
      p.stop();
      console.log(
        `animate: ${r.stopped ? 'stopped after' : 'done,'} ${r.frames} frames in ${r.seconds.toFixed(1)} s ` +
          `(${r.fps.toFixed(2)} frames/s after the first) → ${r.out}${r.video ? `; video ${r.video}` : ''}`,
      );
      if (r.stopped) process.exitCode = 130;
    } finally {
      p.stop();
      process.off('SIGINT', onSigint);
    }
  });
}
