/** `animgs eval -c avatar.yaml`: score a trained avatar on held-out views (flags only; the work is src/eval/). */
import type { Command } from 'commander';
import type { AvatarPresetName } from '../avatar/config.js';
import { loadTrainConfig } from '../avatar/config-file.js';
import { evaluateAvatar } from '../eval/evaluate.js';
import { parseFrameSpec } from '../data/frame-spec.js';

interface EvalFlags {
  config: string;
  checkpoint?: string;
  preset?: string;
  frames?: string;
  cams?: string;
  out?: string;
  force?: boolean;
  lpipsDir?: string;
  lpipsBgr?: boolean;
  saveImages?: boolean;
  silhouetteBaseline?: string;
}

/** `a:b` / `a:b:step` (end exclusive, as frame_range) or a comma list `3,8,12`. */
export function parseFrames(spec: string): number[] {
  const s = parseFrameSpec(spec);
  if (s.kind === 'list') return s.ids;
  const out: number[] = [];
  for (let f = s.start; f < s.end; f += s.step ?? 1) out.push(f);
  return out;
}

/** Camera ids (calibration indices) or names, comma separated. */
export function parseCams(spec: string): Array<number | string> {
  const list = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!list.length) throw new Error(`--cams '${spec}': expected camera ids or names, comma separated`);
  return list.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      "score a trained avatar on held-out views with the reference's protocol (PSNR, SSIM, LPIPS on white) beside a " +
        'mean-colour baseline; writes metrics.csv and metrics.json',
    )
    .requiredOption('-c, --config <yaml>', 'the avatar.yaml the avatar was trained with')
    .option(
      '--checkpoint <path>',
      'our checkpoint folder or net_ckpt_dir, or the reference net.pt (default: test.prev_ckpt, else the latest in train.net_ckpt_dir)',
    )
    .option('--preset <name>', 'network sizes of a reference net.pt: full or small (ours carry their own)')
    .option(
      '--frames <spec>',
      'frames: start:end[:step] or 3,8,12 (default test.data.frame_range, else the frames training did not use)',
    )
    .option(
      '--cams <list>',
      'cameras: calibration ids or names, comma separated (default test.data.used_cam_ids, test.render_view_idx, else the cameras training did not use)',
    )
    .option('--out <dir>', 'output folder (default <train.net_ckpt_dir>/eval)')
    .option('--force', 'overwrite metrics.csv / metrics.json')
    .option(
      '--lpips-dir <dir>',
      `folder of the LPIPS weights (default train.lpips_dir, $ANIMGS_LPIPS_DIR); without them LPIPS is skipped`,
    )
    .option(
      '--lpips-bgr',
      "feed LPIPS BGR images as the reference's evaluation script does (default RGB, as its training)",
    )
    .option('--save-images', 'also write photo | avatar | baseline images of every view to <out>/views/')
    .option(
      '--silhouette-baseline <checkpoint>',
      "also score a fair baseline: this untrained checkpoint's silhouette (e.g. the pretrain_… folder) in the mean colour",
    )
    .action(async (flags: EvalFlags) => {
      const frames = flags.frames !== undefined ? parseFrames(flags.frames) : undefined;
      const cams = flags.cams !== undefined ? parseCams(flags.cams) : undefined;
      if (flags.preset !== undefined && flags.preset !== 'full' && flags.preset !== 'small') {
        throw new Error(`--preset '${flags.preset}': expected full or small`);
      }
      const config = loadTrainConfig(flags.config);
      await evaluateAvatar({
        config,
        ...(flags.checkpoint ? { checkpoint: flags.checkpoint } : {}),
        ...(flags.preset ? { preset: flags.preset as AvatarPresetName } : {}),
        ...(frames ? { frames } : {}),
        ...(cams ? { cams } : {}),
        ...(flags.out ? { out: flags.out } : {}),
        force: !!flags.force,
        ...(flags.lpipsDir ? { lpipsDir: flags.lpipsDir } : {}),
        lpipsBgr: !!flags.lpipsBgr,
        saveImages: !!flags.saveImages,
        ...(flags.silhouetteBaseline ? { silhouetteBaseline: flags.silhouetteBaseline } : {}),
      });
    });
}
