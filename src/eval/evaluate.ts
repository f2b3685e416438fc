/**
 * `animgs eval`: score a trained avatar on held-out views with the reference's protocol (docs/eval.md). Each view is
 * rendered on white, rounded to 8 bits as a saved frame would be, and compared with the photo on white: PSNR and
 * SSIM on the full image, LPIPS-VGG on the 512² crop around the subject when the LPIPS weights are there. Beside the
 * avatar, a baseline: the subject's silhouette (the photo's mask) painted with the training photos' mean subject
 * colour. That baseline knows the true outline, which no avatar does: an oracle. Optionally a second, fair one
 * (`silhouetteBaseline`): the silhouette of the same avatar before it saw a photo (its pretraining checkpoint: the
 * template's shape, skinned) painted with that colour, so it uses only what the avatar has. Per view and averaged,
 * written as metrics.csv and metrics.json.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { canoToLive } from '../body/canonical.js';
import type { TrainConfig } from '../avatar/config-file.js';
import type { AvatarPresetName } from '../avatar/config.js';
import { checkTrainedAvatar, loadTrainedAvatar } from '../avatar/load.js';
import { frontPoseMap } from '../avatar/pose-map.js';
import { meanColorImage, meanSubjectColor, meanSubjectColorSum, ViewRenderer } from '../avatar/view-render.js';
import { CaptureDataset } from '../data/dataset.js';
import { writeImage } from '../io/node/image.js';
import type { Lpips } from '../nn/lpips.js';
import { loadLpips, resolveLpipsWeights, LPIPS_LIN_FILE, VGG16_FILE } from '../nn/lpips-weights.js';
import { readPoseMap } from '../prep/files.js';
import { noGrad, scope, Tensor } from '../tensor/index.js';
import { lpipsEvalBox, squareCropResize, LPIPS_EVAL_PAD, LPIPS_EVAL_SIZE } from './crop.js';
import { psnr, ssim } from './metrics.js';
import { checkOutputs, writeReport, type EvalReport, type Scores, type ViewScores } from './report.js';
import { selectViews, type ViewChoice } from './views.js';
import { to8bit } from '../io/image.js';

export interface EvalOptions extends ViewChoice {
  config: TrainConfig;
  /** A checkpoint (see avatar/load.ts); default test.prev_ckpt, else the latest in train.net_ckpt_dir. */
  checkpoint?: string;
  preset?: AvatarPresetName;
  /** Output folder (default `<train.net_ckpt_dir>/eval`). */
  out?: string;
  /** Overwrite metrics.csv / metrics.json. */
  force?: boolean;
  /** Folder of the LPIPS weights (default train.lpips_dir, else $ANIMGS_LPIPS_DIR and the torch hub cache). */
  lpipsDir?: string;
  /** An LPIPS model to use instead of the weight files (tests); null: no LPIPS. */
  lpips?: Lpips | null;
  /** Feed LPIPS BGR images, as the reference's evaluation script does (default RGB, as its training does). */
  lpipsBgr?: boolean;
  /** Side of the LPIPS crop (default 512, the reference's). */
  lpipsSize?: number;
  /** Also write photo | render | baseline images of every view to `<out>/views/`. */
  saveImages?: boolean;
  /** Training photos averaged for the baseline's colour (default 16, spread over the training views). */
  baselinePhotos?: number;
  /**
   * A checkpoint of the same avatar before it was trained on photos (its pretraining checkpoint): its rendered
   * opacity painted with the baseline colour on white is scored as a second, fair baseline (the avatar's own
   * silhouette, not the photo's).
   */
  silhouetteBaseline?: string;
  log?: (line: string) => void;
}

const WHITE = [1, 1, 1];

/** Round to 8 bits as a saved PNG frame holds it (clamped to [0, 1]). */
function quantize8(a: Float32Array): Float32Array {
  return a.map((v) => to8bit(v) / 255);
}

/** R and B swapped (planar [3, …]). */
function swapRB(a: Float32Array): Float32Array {
  const n = a.length / 3;
  const out = new Float32Array(a.length);
  out.set(a.subarray(2 * n, 3 * n), 0);
  out.set(a.subarray(n, 2 * n), n);
  out.set(a.subarray(0, n), 2 * n);
  return out;
}

/** The training photos' mean subject colour, from up to `count` views spread over the training capture. */
async function trainingMeanColor(cfg: TrainConfig, count: number): Promise<{ color: number[]; photos: number } | null> {
  let ds: CaptureDataset;
  try {
    const d = cfg.train.data;
    ds = new CaptureDataset({
      layout: cfg.train.layout,
      dataDir: d.dataDir,
      frameRange: d.frameRange,
      ...(d.usedCamIds ? { usedCamIds: d.usedCamIds } : {}),
    });
  } catch {
    return null;
  }
  const items = ds.items;
  if (!items.length || ds.missingFiles().length) return null;
  const k = Math.min(count, items.length);
  const sum = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < k; i++) {
    const it = items[Math.floor(((i + 0.5) * items.length) / k)]!;
    const l = await ds.load(it);
    const s = meanSubjectColorSum({ width: l.image.width, height: l.image.height, mask: l.mask, photo: l.image.data });
    for (let c = 0; c < 3; c++) sum[c]! += s.sum[c]!;
    n += s.count;
  }
  return n ? { color: sum.map((x) => x / n), photos: k } : null;
}

/** [3, H, W] `color` where the avatar is opaque, white where it is not: alpha·color + (1 − alpha). */
export function alphaColorImage(
  alpha: ArrayLike<number>,
  color: readonly number[],
  W: number,
  H: number,
): Float32Array {
  const n = W * H;
  const out = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) {
    const a = Math.min(1, Math.max(0, alpha[p]!));
    for (let c = 0; c < 3; c++) out[c * n + p] = a * color[c]! + (1 - a);
  }
  return out;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Evaluate; returns the report (also written to `<out>/metrics.csv` and `metrics.json`). */
export async function evaluateAvatar(opts: EvalOptions): Promise<EvalReport & { files: string[] }> {
  const cfg = opts.config;
  const log = opts.log ?? console.log;
  const out = opts.out ?? join(cfg.train.netCkptDir, 'eval');
  const lpipsSize = opts.lpipsSize ?? LPIPS_EVAL_SIZE;
  if (!Number.isInteger(lpipsSize) || lpipsSize < 16)
    throw new Error(`eval: the LPIPS crop side must be ≥ 16, got ${lpipsSize}`);
  // everything that can be wrong is found before loading anything large
  checkOutputs(out, !!opts.force);
  const sel = selectViews(cfg, opts);
  checkTrainedAvatar(cfg, {
    ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
    ...(opts.preset ? { preset: opts.preset } : {}),
  });
  if (opts.silhouetteBaseline) checkTrainedAvatar(cfg, { checkpoint: opts.silhouetteBaseline });
  let lpipsPaths: { vggPath: string; linPath: string } | null = null;
  if (opts.lpips === undefined) {
    const dir = opts.lpipsDir ?? cfg.train.lpipsDir ?? undefined;
    lpipsPaths = resolveLpipsWeights(dir ? { dir } : {});
    if (!lpipsPaths) {
      log(
        `eval: LPIPS skipped: its weights (${VGG16_FILE}, ${LPIPS_LIN_FILE}) were not found${dir ? ` in ${dir}` : ''}; ` +
          'pass --lpips-dir or set ANIMGS_LPIPS_DIR (docs/eval.md says where to get them)',
      );
    }
  }
  log(
    `eval: ${sel.views.length} view${sel.views.length === 1 ? '' : 's'} of ${sel.dataDir} ` +
      `(frames: ${sel.framesFrom}; cameras: ${sel.camsFrom})`,
  );

  const base = await trainingMeanColor(cfg, opts.baselinePhotos ?? 16);
  if (!base) log("eval: the training photos are not readable: the baseline paints each view's own mean subject colour");
  const avatar = await loadTrainedAvatar(cfg, {
    ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
    ...(opts.preset ? { preset: opts.preset } : {}),
    log,
  });
  const ownLpips = lpipsPaths ? loadLpips(lpipsPaths) : null;
  const lpips = opts.lpips === undefined ? ownLpips : opts.lpips;
  const renderer = new ViewRenderer(avatar.net, avatar.canonical, avatar.model);
  const untrained = opts.silhouetteBaseline
    ? await loadTrainedAvatar(cfg, { checkpoint: opts.silhouetteBaseline, log })
    : null;
  const untrainedRenderer = untrained ? new ViewRenderer(untrained.net, untrained.canonical, untrained.model) : null;
  const rows: ViewScores[] = [];
  const started = performance.now();
  try {
    const lpipsOf = async (
      pred: Float32Array,
      gt: Float32Array,
      box: ReturnType<typeof lpipsEvalBox>,
      W: number,
      H: number,
    ) => {
      if (!lpips) return null;
      let a = squareCropResize(pred, W, H, 3, box, lpipsSize);
      let b = squareCropResize(gt, W, H, 3, box, lpipsSize);
      if (opts.lpipsBgr) [a, b] = [swapRB(a), swapRB(b)];
      const d = noGrad(() =>
        scope(() =>
          lpips.distance(Tensor.from(a, [1, 3, lpipsSize, lpipsSize]), Tensor.from(b, [1, 3, lpipsSize, lpipsSize])),
        ),
      );
      const v = (await d.toArray())[0]!;
      d.dispose();
      return v;
    };
    const score = async (
      pred: Float32Array,
      gt: Float32Array,
      box: ReturnType<typeof lpipsEvalBox>,
      W: number,
      H: number,
    ): Promise<Scores> => ({
      psnr: psnr(pred, gt),
      ssim: ssim(pred, gt, W, H),
      lpips: await lpipsOf(pred, gt, box, W, H),
    });
    const S = avatar.netConfig.poseMapSize;
    const frameInputs = new Map<number, { poseMap: Float32Array; jointMats: ArrayLike<number> }>();
    const stream = sel.dataset.stream(
      sel.views.map((v) => sel.dataset.items.indexOf(v.item)),
      { depth: 2, bg: () => WHITE },
    );
    if (opts.saveImages) mkdirSync(join(out, 'views'), { recursive: true });
    for (let i = 0; i < sel.views.length; i++) {
      const view = sel.views[i]!;
      const loaded = (await stream.next())!.value;
      const { frame } = view.item;
      let frameInput = frameInputs.get(frame);
      if (!frameInput) {
        frameInputs.clear(); // views come frame by frame: keep only the current frame's inputs
        frameInput = {
          poseMap: frontPoseMap(
            readPoseMap(sel.posMapDir, frame),
            S,
            `posed map of frame ${frame} in ${sel.posMapDir}`,
          ),
          jointMats: canoToLive(avatar.model, sel.dataset.smpl.frame(frame)).jointMats,
        };
        frameInputs.set(frame, frameInput);
      }
      const cam = loaded.camera;
      const r = await renderer.renderPose({ ...frameInput, camera: cam, background: WHITE });
      const W = cam.width,
        H = cam.height;
      const render = quantize8(r.color);
      const photo = loaded.image.data;
      const box = lpipsEvalBox(loaded.mask, W, H, LPIPS_EVAL_PAD);
      const mask = { width: W, height: H, mask: loaded.mask };
      const color = base?.color ?? meanSubjectColor({ ...mask, photo });
      const baseline = quantize8(meanColorImage(mask, color));
      let silhouette: Float32Array | null = null;
      if (untrainedRenderer) {
        const u = await untrainedRenderer.renderPose({ ...frameInput, camera: cam, background: WHITE });
        silhouette = quantize8(alphaColorImage(u.alpha, color, W, H));
      }
      const row: ViewScores = {
        frame,
        camera: view.item.camName,
        camId: view.camId,
        novelPose: view.novelPose,
        novelView: view.novelView,
        ...(await score(render, photo, box, W, H)),
        baseline: await score(baseline, photo, box, W, H),
        ...(silhouette ? { silhouetteBaseline: await score(silhouette, photo, box, W, H) } : {}),
      };
      rows.push(row);
      if (opts.saveImages) {
        const n = W * H;
        const panels = silhouette ? [photo, render, baseline, silhouette] : [photo, render, baseline];
        const k = panels.length;
        const data = new Float32Array(3 * k * n);
        for (const [i, img] of panels.entries())
          for (let c = 0; c < 3; c++)
            for (let y = 0; y < H; y++)
              data.set(img.subarray(c * n + y * W, c * n + (y + 1) * W), c * k * n + y * k * W + i * W);
        await writeImage(join(out, 'views', `${String(frame).padStart(8, '0')}_${view.item.camName}.png`), {
          width: k * W,
          height: H,
          channels: 3,
          data,
        });
      }
      const el = (performance.now() - started) / 1000;
      const per = el / (i + 1);
      const f = (s: Scores) =>
        `PSNR ${s.psnr.toFixed(2)} dB, SSIM ${s.ssim.toFixed(4)}${s.lpips === null ? '' : `, LPIPS ${s.lpips.toFixed(4)}`}`;
      log(
        `eval: ${i + 1}/${sel.views.length} frame ${frame} ${view.item.camName}: ${f(row)} | baseline ${f(row.baseline)} | ` +
          (row.silhouetteBaseline ? `untrained silhouette ${f(row.silhouetteBaseline)} | ` : '') +
          `${per.toFixed(2)} s/view, ETA ${Math.round(per * (sel.views.length - i - 1))} s`,
      );
    }
  } finally {
    renderer.dispose();
    untrainedRenderer?.dispose();
    untrained?.dispose();
    ownLpips?.dispose();
    avatar.dispose();
  }
  const avg = (pick: (r: ViewScores) => Scores): Scores => ({
    psnr: mean(rows.map((r) => pick(r).psnr)),
    ssim: mean(rows.map((r) => pick(r).ssim)),
    lpips: lpips ? mean(rows.map((r) => pick(r).lpips!)) : null,
  });
  const report: EvalReport = {
    format: 'animgs-eval',
    version: 1,
    config: cfg.source,
    checkpoint: avatar.checkpoint,
    capture: { dataDir: sel.dataDir, layout: sel.layout, framesFrom: sel.framesFrom, camsFrom: sel.camsFrom },
    protocol: {
      background: 'white (photo pixels outside the mask > 128 and the render background)',
      render: 'rounded to 8 bits',
      psnr: 'full image, data range 1',
      ssim: 'full image; scikit-image structural_similarity defaults: 7×7 uniform window, sample covariance, K1 0.01, K2 0.03, per channel then averaged, data range 1',
      lpips: lpips
        ? `VGG v0.1 on the mask box + ${LPIPS_EVAL_PAD} px, padded white to a square, bilinear to ${lpipsSize}²; ${opts.lpipsBgr ? 'BGR (as the reference evaluation script)' : 'RGB'} input`
        : null,
      baseline: base
        ? `the photo's mask painted with the mean subject colour of ${base.photos} training photos (an oracle: it knows the true outline)`
        : "the photo's mask painted with its own mean subject colour (an oracle: it knows the true outline)",
      silhouetteBaseline: untrained
        ? `the untrained avatar's opacity (${untrained.checkpoint.path}) painted with the baseline colour on white: ` +
          'only what the avatar has before it sees a photo'
        : null,
    },
    baselineColor: base?.color ?? null,
    views: rows,
    mean: {
      ...avg((r) => r),
      baseline: avg((r) => r.baseline),
      ...(untrained ? { silhouetteBaseline: avg((r) => r.silhouetteBaseline!) } : {}),
    },
    seconds: (performance.now() - started) / 1000,
  };
  const files = writeReport(out, report);
  const m = report.mean;
  log(
    `eval: mean over ${rows.length} view${rows.length === 1 ? '' : 's'}: PSNR ${m.psnr.toFixed(2)} dB, SSIM ${m.ssim.toFixed(4)}` +
      `${m.lpips === null ? '' : `, LPIPS ${m.lpips.toFixed(4)}`} (baseline PSNR ${m.baseline.psnr.toFixed(2)} dB, ` +
      `SSIM ${m.baseline.ssim.toFixed(4)}${m.baseline.lpips === null ? '' : `, LPIPS ${m.baseline.lpips.toFixed(4)}`}` +
      (m.silhouetteBaseline
        ? `; untrained-silhouette baseline PSNR ${m.silhouetteBaseline.psnr.toFixed(2)} dB, SSIM ${m.silhouetteBaseline.ssim.toFixed(4)}`
        : '') +
      `); wrote ${files.join(', ')}`,
  );
  return { ...report, files };
}
