/**
 * `animgs animate`: drive a trained avatar with a pose sequence from a chosen view, in two
 * steps: `planAnimation` checks everything (config, checkpoint, canonical maps, the pose file and its frames, the
 * view, the size, the background, the pose PCA when it will be needed, the output folder) without GPU work and
 * fails with one line naming the file and what to do; `runAnimation` loads the avatar and renders the frames
 * (frame.ts: recorded once, replayed per frame), writing for output frame i (`%08d` = i, the sequence's own frame
 * ids are in animation.json):
 *   rgb/%08d.png     colour on the background (clipped to [0, 1])
 *   alpha/%08d.png   accumulated opacity (8-bit)
 *   posed_gaussians/%08d.ply   (optional) the posed Gaussians as a standard 3DGS .ply
 *   cano_tex/%08d.png          (optional) the canonical colour maps (front | back, as the networks write them)
 *   video.mp4        H.264, when an ffmpeg is found (video.ts)
 *   animation.json   what was rendered and how (written last: its presence marks a complete run)
 * Every file is written under a temporary name and renamed. An output folder holding an earlier animation is
 * refused unless `force`, which removes the earlier animation's files first (not anything else in the folder).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { TrainConfig } from '../avatar/config-file.js';
import { checkTrainedAvatar, loadTrainedAvatar, type TrainedAvatar } from '../avatar/load.js';
import type { FrameRange } from '../body/poses.js';
import type { Camera } from '../data/camera.js';
import { CaptureDataset, frameIds } from '../data/dataset.js';
import { planarToInterleaved8 } from '../io/image.js';
import { writeImage8 } from '../io/node/image.js';
import { readPca } from '../prep/files.js';
import { encodeGaussianPly, type PosedGaussians } from '../splat/ply-write.js';
import { AnimationRenderer, identityJoints, type FrameImages, type FrameSpec } from './frame.js';
import { PcaProjector, PoseMapBuilder } from './pose-map-gpu.js';
import {
  frameJoints,
  liveBodyCenter,
  parseFrameRange,
  posesFromCapture,
  posesFromFile,
  rootTranslation,
  type AnimationPoses,
} from './pose-source.js';
import { findVideoEncoder, VideoWriter, type VideoEncoderInfo } from './video.js';
import {
  parseView,
  scaledCamera,
  syntheticCamera,
  uprightRotation,
  VIEW_SIZE,
  type ParsedView,
  type SyntheticViewSetting,
  type ViewOrientation,
  type ViewRig,
} from './views.js';

/** The output folder's entries an animation writes (and `force` removes). */
export const ANIMATION_OUTPUTS = {
  rgb: 'rgb',
  alpha: 'alpha',
  ply: 'posed_gaussians',
  tex: 'cano_tex',
  video: 'video.mp4',
  summary: 'animation.json',
} as const;

export type PcaMode = 'auto' | 'on' | 'off';

/** What the command line gives (strings as typed; everything is checked by planAnimation). */
export interface AnimateRequest {
  config: TrainConfig;
  /** Our checkpoint folder, a net_ckpt_dir, or the reference's net.pt (default: test.prev_ckpt, else the latest). */
  checkpoint?: string;
  /** A pose file (default: test.pose_data, else the capture's own smpl_params). */
  poses?: string;
  /** `a:b` or `a:b:step` of the pose file's frames. */
  frames?: string;
  /** A view setting or `camera:ID` (default: test.view_setting, else 'free'). */
  view?: string;
  out?: string;
  /** `WxH` or `N` (default: 1024² × test.img_scale, or the capture camera's size × img_scale). */
  size?: string;
  /** 'white' (default), 'black' or 'r,g,b' in [0, 1]. */
  background?: string;
  /** Write the posed Gaussians (.ply): 'full' (45 zero f_rest, the reference's layout) or 'dc' (degree 0 only). */
  ply?: boolean | 'full' | 'dc';
  /** Write the canonical colour maps. */
  texMaps?: boolean;
  pca?: PcaMode;
  orient?: ViewOrientation;
  /** Frames per second of the video (default 30). */
  fps?: number;
  /** Encode a video when an ffmpeg is found (default true). */
  video?: boolean;
  /**
   * `a:b`: render only output frames a..b-1 of the planned sequence, numbered and viewed as in the whole run (the
   * orbit angle and the framing follow the whole sequence), and no video: a part of a split animation, which a
   * queue job joins (src/queue/split.ts).
   */
  part?: string;
  force?: boolean;
  log?: (line: string) => void;
}

export interface AnimationPlan {
  config: TrainConfig;
  checkpoint: string;
  netConfig: { poseMapSize: number; mapSize: number };
  posMapDir: string;
  poses: AnimationPoses;
  view: ParsedView;
  /** The capture camera, for the 'camera' view. */
  camera: Camera | null;
  width: number;
  height: number;
  background: [number, number, number];
  orient: ViewOrientation;
  /** Per output frame: project the pose map onto the PCA. */
  project: boolean[];
  pca: { mode: PcaMode; path: string; sigma: number } | null;
  out: string;
  ply: 'full' | 'dc' | null;
  texMaps: boolean;
  fps: number;
  encoder: VideoEncoderInfo | null;
  /** Output frames [start, end) to render (`part`), else null: all of them. */
  part: [number, number] | null;
  /** Why there is no video (one line), when there is none. */
  noVideo: string | null;
  checkpointArg?: string;
}

export interface FrameReport {
  /** Output frames done, of `total`. */
  done: number;
  total: number;
  /** Frames per second over the run so far (after the first frame, which compiles). */
  fps: number;
}

export interface RunHooks {
  log?: (line: string) => void;
  onFrame?: (r: FrameReport) => void;
  /** Stop after the current frame (Ctrl-C): the frames so far are kept, the video closed. */
  shouldStop?: () => boolean;
  /** Render every frame eagerly instead of replaying (tests: both must agree). */
  eager?: boolean;
}

export interface AnimationResult {
  out: string;
  frames: number;
  /** Frames per second of the frame loop after the first frame (render + read back + encode). */
  fps: number;
  seconds: number;
  video: string | null;
  stopped: boolean;
  /** Frames whose pose map was projected onto the PCA. */
  projected: number;
}

/** `white`, `black` or `r,g,b` in [0, 1]. */
export function parseBackground(s: string | undefined): [number, number, number] {
  if (s === undefined || s === 'white') return [1, 1, 1];
  if (s === 'black') return [0, 0, 0];
  const v = s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (v.length !== 3 || !v.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)) {
    throw new Error(`--bg '${s}': use white, black or three numbers in [0, 1] like 0.2,0.3,0.4`);
  }
  return v as [number, number, number];
}

/** `WxH` or `N` (N × N), each side 1..8192. */
export function parseSize(s: string): [number, number] {
  const m = /^(\d+)(?:[x×](\d+))?$/.exec(s.trim());
  const w = m ? Number(m[1]) : NaN;
  const h = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(w >= 1 && h >= 1 && w <= 8192 && h <= 8192)) {
    throw new Error(`--size '${s}': use WIDTHxHEIGHT (e.g. 1024x1024) or one number, sides 1..8192`);
  }
  return [w, h];
}

/** The PCA file to use: `pca_<n_pca>.safetensors` when n_pca ≥ 1, else pca_20, else the only one there is. */
export function findPcaFile(posMapDir: string, nPca: number): string | null {
  if (nPca >= 1) {
    const p = join(posMapDir, `pca_${nPca}.safetensors`);
    return existsSync(p) ? p : null;
  }
  const p20 = join(posMapDir, 'pca_20.safetensors');
  if (existsSync(p20)) return p20;
  const any = existsSync(posMapDir)
    ? readdirSync(posMapDir)
        .filter((f) => /^pca_\d+\.safetensors$/.test(f))
        .sort()
    : [];
  return any.length ? join(posMapDir, any[any.length - 1]!) : null;
}

function existingOutputs(out: string): string[] {
  if (!existsSync(out)) return [];
  return Object.values(ANIMATION_OUTPUTS).filter((n) => existsSync(join(out, n)));
}

/** Create `out` if needed and check a file can be written there. */
function checkWritable(out: string): void {
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new Error(
      `--out ${out}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  if (!statSync(out).isDirectory()) throw new Error(`--out ${out}: not a folder`);
  const probe = join(out, `.animgs-write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new Error(`--out ${out}: not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function resolvePoseFile(path: string, cfg: TrainConfig): string {
  if (existsSync(path)) return path;
  const nextToConfig = resolve(dirname(cfg.source), path);
  if (existsSync(nextToConfig)) return nextToConfig;
  return path;
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'poses';
}

/** Check the whole request and settle every choice; no GPU work, no large reads. Throws one line. */
export async function planAnimation(req: AnimateRequest): Promise<AnimationPlan> {
  const cfg = req.config;
  const test = cfg.test;
  const log = req.log ?? (() => undefined);
  // the avatar: checkpoint, network sizes, canonical maps, SMPL-X model (all checked, none loaded)
  const avatar = checkTrainedAvatar(cfg, { ...(req.checkpoint ? { checkpoint: req.checkpoint } : {}), log });
  const dataset = new CaptureDataset({
    layout: cfg.train.layout,
    dataDir: cfg.train.data.dataDir,
    frameRange: cfg.train.data.frameRange,
  });
  const trainingFrames = new Set(dataset.frames);
  const betas = dataset.smpl.betas;

  const unsupported = (['fixHand', 'renderSkeleton', 'saveMesh'] as const).filter((k) => test?.[k]);
  if (unsupported.length) {
    const keys = { fixHand: 'fix_hand', renderSkeleton: 'render_skeleton', saveMesh: 'save_mesh' };
    log(`animate: test.${unsupported.map((k) => keys[k]).join(', test.')} not supported yet: ignored`);
  }

  // the poses and their frames
  const cliRange: FrameRange | null = req.frames !== undefined ? parseFrameRange(req.frames) : null;
  let poses: AnimationPoses;
  let seqName: string;
  const poseFile = req.poses ?? test?.poseData?.dataPath ?? null;
  if (poseFile) {
    const path = resolvePoseFile(poseFile, cfg);
    if (!existsSync(path))
      throw new Error(`pose file ${poseFile}${req.poses ? '' : ' (test.pose_data.data_path)'} does not exist`);
    const fromConfig = !req.poses && test?.poseData ? test.poseData : null;
    const samePath = resolve(path) === resolve(join(cfg.train.data.dataDir, 'smpl_params.npz'));
    poses = posesFromFile(path, {
      frames: cliRange ?? (fromConfig?.frameRange as FrameRange | FrameRange[] | null | undefined) ?? null,
      interval: fromConfig?.frameInterval ?? 1,
      ...(fromConfig ? { handPoseType: fromConfig.handPoseType } : {}),
      betas,
      ...(samePath ? { trainingFrames } : {}),
    });
    seqName = slug(basename(path, extname(path)));
  } else {
    const all = dataset.smpl.length;
    let frames: number[];
    if (cliRange) {
      const [a, b, step = 1] = cliRange;
      if (b > all)
        throw new Error(`--frames ${req.frames}: ${dataset.smpl.source} holds ${all} frames (0..${all - 1})`);
      frames = frameIds([a, b, step], all);
    } else if (test?.data.frameRange != null) frames = frameIds(test.data.frameRange, all, cfg.train.data.dataDir);
    else frames = frameIds(undefined, all);
    poses = posesFromCapture(dataset.smpl, frames, trainingFrames);
    seqName = 'capture';
  }

  // the view and the image size
  const view = parseView(req.view ?? (test ? test.viewSetting : 'free'));
  const imgScale = test?.imgScale ?? 1;
  let camera: Camera | null = null;
  let width: number;
  let height: number;
  if (view.setting === 'camera') {
    const id = view.camId ?? test?.renderViewIdx ?? 0;
    const cams = dataset.allCameras;
    camera = cams[id] ?? null;
    if (!camera) {
      throw new Error(
        `--view camera:${id}: the capture has ${cams.length} cameras (ids 0..${cams.length - 1}, in the calibration's order)`,
      );
    }
    view.camId = id;
    [width, height] = [Math.round(camera.width * imgScale), Math.round(camera.height * imgScale)];
  } else [width, height] = [Math.round(VIEW_SIZE * imgScale), Math.round(VIEW_SIZE * imgScale)];
  if (req.size !== undefined) [width, height] = parseSize(req.size);
  const background = parseBackground(req.background);
  const orient = req.orient ?? 'body';
  if (orient !== 'body' && orient !== 'world') throw new Error(`--orient '${orient}': use body or world`);
  const fps = req.fps ?? 30;
  if (!(Number.isFinite(fps) && fps > 0 && fps <= 1000))
    throw new Error(`--fps '${req.fps}': use a number in (0, 1000]`);

  // the pose projection: by default for the poses the networks were not trained on
  const mode = req.pca ?? 'auto';
  if (!['auto', 'on', 'off'].includes(mode)) throw new Error(`--pca '${mode}': use auto, on or off`);
  const nPca = test?.nPca ?? -1;
  const disabled = mode === 'off' || (mode === 'auto' && nPca === 0);
  const project = Array.from({ length: poses.count }, (_, i) =>
    disabled ? false : mode === 'on' || !poses.isTrainingPose(i),
  );
  let pca: AnimationPlan['pca'] = null;
  if (project.some((p) => p)) {
    const path = findPcaFile(avatar.posMapDir, nPca);
    if (!path) {
      throw new Error(
        `the pose projection needs the pose PCA, and ${avatar.posMapDir} has none${nPca >= 1 ? ` of ${nPca} components` : ''}: ` +
          `run \`animgs prep --config ${cfg.source} --pca ${nPca >= 1 ? nPca : 20}\`, or pass --pca off`,
      );
    }
    pca = { mode, path, sigma: test?.sigmaPca ?? 2 };
  }

  // outputs
  const out = req.out ?? join(cfg.train.netCkptDir, 'animations', `${seqName}_${view.setting}`);
  const earlier = existingOutputs(out);
  if (earlier.length && !req.force) {
    throw new Error(
      `--out ${out} holds an earlier animation (${earlier.join(', ')}): pass --force to replace it, or another --out`,
    );
  }
  checkWritable(out);
  const ply = req.ply === true ? 'full' : req.ply ? req.ply : test?.savePly ? 'full' : null;
  if (ply !== null && ply !== 'full' && ply !== 'dc') throw new Error(`--ply '${String(ply)}': use full or dc`);
  let part: [number, number] | null = null;
  if (req.part !== undefined) {
    const [a, b] = parseFrameRange(req.part, '--part');
    if (b > poses.count || req.part.split(':').length !== 2)
      throw new Error(`--part '${req.part}': use a:b (end exclusive) within the ${poses.count} output frames`);
    part = [a, b];
  }
  let encoder: VideoEncoderInfo | null = null;
  let noVideo: string | null = null;
  if (part) noVideo = 'a part of a split animation (the join encodes the video)';
  else if (req.video === false) noVideo = 'video off (--no-video)';
  else {
    const e = await findVideoEncoder();
    if (e.ok) encoder = e.encoder;
    else noVideo = e.reason;
  }
  return {
    config: cfg,
    checkpoint: avatar.ref.path,
    ...(req.checkpoint ? { checkpointArg: req.checkpoint } : {}),
    netConfig: avatar.netConfig,
    posMapDir: avatar.posMapDir,
    poses,
    view,
    camera,
    width,
    height,
    background,
    orient,
    project,
    pca,
    out,
    ply,
    texMaps: req.texMaps ?? test?.saveTexMap ?? false,
    fps,
    encoder,
    part,
    noVideo,
  };
}

/** The colour map image (mapSize × 2·mapSize, RGB planar): the Gaussians' colours at their pixels, background elsewhere. */
function texMap(colors: Float32Array, pixels: Uint32Array, M: number, bg: readonly number[]): Float32Array {
  const n = M * 2 * M;
  const img = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) img.fill(bg[c]!, c * n, (c + 1) * n);
  for (let i = 0; i < pixels.length; i++) for (let c = 0; c < 3; c++) img[c * n + pixels[i]!] = colors[3 * i + c]!;
  return img;
}

function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const frameName = (i: number, ext: string) => `${String(i).padStart(8, '0')}.${ext}`;

/** Render and write the planned animation. */
export async function runAnimation(plan: AnimationPlan, hooks: RunHooks = {}): Promise<AnimationResult> {
  const log = hooks.log ?? (() => undefined);
  const tStart = performance.now();
  const { out, width: W, height: H, poses } = plan;
  // a part renders its range of the whole sequence under the whole's frame numbers (the views use them)
  const [first, end] = plan.part ?? [0, poses.count];
  const total = end - first;
  // an earlier animation's files go first (planAnimation refused them without --force)
  for (const n of Object.values(ANIMATION_OUTPUTS)) rmSync(join(out, n), { recursive: true, force: true });
  const dirs = {
    rgb: join(out, ANIMATION_OUTPUTS.rgb),
    alpha: join(out, ANIMATION_OUTPUTS.alpha),
    ply: plan.ply ? join(out, ANIMATION_OUTPUTS.ply) : null,
    tex: plan.texMaps ? join(out, ANIMATION_OUTPUTS.tex) : null,
  };
  for (const d of Object.values(dirs)) if (d) mkdirSync(d, { recursive: true });

  const avatar: TrainedAvatar = await loadTrainedAvatar(plan.config, {
    ...(plan.checkpointArg ? { checkpoint: plan.checkpointArg } : {}),
    log,
  });
  const S = avatar.netConfig.poseMapSize;
  const disposers: Array<() => void> = [() => avatar.dispose()];
  let video: VideoWriter | null = null;
  const t0 = performance.now();
  let tFirst = 0;
  let done = 0;
  let projected = 0;
  let stopped = false;
  try {
    const builder = new PoseMapBuilder(avatar.maps, S);
    disposers.push(() => builder.dispose());
    let pca: PcaProjector | null = null;
    if (plan.pca) {
      const p = readPca(plan.pca.path);
      if (p.size !== avatar.maps.size) {
        throw new Error(
          `${plan.pca.path}: a PCA of ${p.size}² maps, but the canonical maps are ${avatar.maps.size}²: run \`animgs prep --config ${plan.config.source}\` again`,
        );
      }
      pca = new PcaProjector(p.pca, p.pixels, S, plan.pca.sigma);
      disposers.push(() => pca!.dispose());
      log(
        `animate: pose projection onto ${p.pca.count} PCA components (σ ${plan.pca.sigma}) for ${plan.project.filter((x) => x).length} of ${poses.count} frames`,
      );
    }
    const anim = new AnimationRenderer(avatar.net, avatar.canonical, builder, {
      width: W,
      height: H,
      background: plan.background,
      pca,
      keepGaussians: !!plan.ply,
      keepColors: plan.texMaps,
    });
    disposers.push(() => anim.dispose());

    // the synthetic views look at frame 0's body
    const p0 = poses.params(0);
    const setting = plan.view.setting;
    const rig: ViewRig = {
      width: W,
      height: H,
      center: setting === 'cano' ? avatar.maps.center : liveBodyCenter(avatar.model, p0),
      upright: uprightRotation(plan.orient, p0.globalOrient ?? [0, 0, 0]),
    };
    const t0pose = rootTranslation(p0);
    const camera = (i: number): Camera => {
      if (setting === 'camera') return scaledCamera(plan.camera!, W, H);
      const t = rootTranslation(poses.params(i));
      return syntheticCamera(setting as SyntheticViewSetting, rig, i, [
        t[0] - t0pose[0],
        t[1] - t0pose[1],
        t[2] - t0pose[2],
      ]);
    };
    const J = avatar.canonical.weights.shape[1]!;
    const identity = identityJoints(J);

    if (plan.encoder) {
      video = new VideoWriter(plan.encoder, join(out, ANIMATION_OUTPUTS.video), W, H, plan.fps);
      log(`animate: encoding ${ANIMATION_OUTPUTS.video} with ${plan.encoder.path} (${plan.encoder.from})`);
    } else log(`animate: no video (${plan.noVideo}); the frames are written as PNG`);

    // writes run while the next frame renders; at most a few frames are in flight
    const pending = new Set<Promise<void>>();
    let writeError: unknown = null;
    const track = (p: Promise<void>) => {
      const q = p.catch((e: unknown) => {
        writeError ??= e;
      });
      pending.add(q);
      void q.finally(() => pending.delete(q));
    };
    let videoChain: Promise<void> = Promise.resolve();
    let videoWarned = false;

    // Frame i's reads (images, Gaussians, colours, the overflow check) are queued right after it on the GPU; frame
    // i + 1 starts once they are back (an overflowed frame renders again first), and frame i's images are then
    // converted and written while the GPU renders i + 1. The joint tables are made one frame ahead.
    const specFor = (i: number): FrameSpec => {
      const joints = frameJoints(avatar.model, poses.params(i));
      return {
        jointMats: setting === 'cano' ? identity : joints.jointMats,
        jointMatsWoRoot: joints.jointMatsWoRoot,
        camera: camera(i),
        project: plan.project[i]!,
      };
    };
    interface InFlight {
      i: number;
      spec: FrameSpec;
      attempt: number;
      reads: Promise<[FrameImages, PosedGaussians | null, Float32Array | null, boolean]>;
    }
    const start = (i: number, spec: FrameSpec, attempt = 0): InFlight => {
      anim.render(spec, { eager: !!hooks.eager });
      const reads = Promise.all([
        anim.readImages(),
        plan.ply ? anim.readGaussians() : null,
        plan.texMaps ? anim.readColors() : null,
        anim.checkOverflow(),
      ]);
      return { i, spec, attempt, reads };
    };
    let cur: InFlight | null = first < end && !hooks.shouldStop?.() ? start(first, specFor(first)) : null;
    while (cur) {
      const i: number = cur.i;
      const nextSpec = i + 1 < end ? specFor(i + 1) : null; // CPU work while the GPU renders frame i
      const [img, gaussians, colors, overflowed] = await cur.reads;
      if (overflowed) {
        if (cur.attempt >= 3) throw new Error(`frame ${i}: the rasterizer's pair buffers kept overflowing`);
        cur = start(i, cur.spec, cur.attempt + 1);
        continue;
      }
      const stopNow = !!hooks.shouldStop?.();
      const next: InFlight | null = nextSpec && !stopNow ? start(i + 1, nextSpec) : null;
      if (stopNow && i + 1 < end) stopped = true;
      for (let k = 0; k < img.color.length; k++) {
        if (!Number.isFinite(img.color[k]!)) {
          throw new Error(
            `frame ${i} (pose ${poses.frameIds[i]} of ${poses.source}): the render holds non-finite values (a broken checkpoint?)`,
          );
        }
      }
      if (plan.project[i]) projected++;
      if (writeError) throw writeError;
      while (pending.size >= 4) await Promise.race(pending);
      const rgb8 = planarToInterleaved8({ width: W, height: H, channels: 3, data: img.color });
      const alpha8 = planarToInterleaved8({ width: W, height: H, channels: 1, data: img.alpha });
      track(writeImage8(join(dirs.rgb, frameName(i, 'png')), W, H, 3, rgb8));
      track(writeImage8(join(dirs.alpha, frameName(i, 'png')), W, H, 1, alpha8));
      if (gaussians) {
        const bytes = encodeGaussianPly(gaussians, { shRest: plan.ply === 'full' });
        writeAtomic(join(dirs.ply!, frameName(i, 'ply')), bytes);
      }
      if (colors) {
        const M = avatar.maps.size;
        const data = texMap(colors, avatar.maps.pixels, M, plan.background);
        const px = planarToInterleaved8({ width: 2 * M, height: M, channels: 3, data });
        track(writeImage8(join(dirs.tex!, frameName(i, 'png')), 2 * M, M, 3, px));
      }
      if (video) {
        const v = video;
        videoChain = videoChain.then(async () => {
          await v.frame(rgb8);
          if (v.error && !videoWarned) {
            videoWarned = true;
            log(`animate: ${v.error}; the PNG frames are kept`);
          }
        });
        if (i % 8 === 7) await videoChain;
      }
      done++;
      if (done === 1) {
        tFirst = performance.now();
        log(
          `animate: first frame ${((tFirst - tStart) / 1000).toFixed(1)} s after the start ` +
            `(the avatar loaded in ${((t0 - tStart) / 1000).toFixed(1)} s)`,
        );
      }
      const fps = done > 1 ? ((done - 1) * 1000) / (performance.now() - tFirst) : 0;
      hooks.onFrame?.({ done, total, fps });
      cur = next;
    }
    if (hooks.shouldStop?.() && done < total) stopped = true;
    await videoChain;
    await Promise.all(pending);
    if (writeError) throw writeError;
    let videoPath: string | null = null;
    if (video) {
      const v = video;
      video = null;
      if (v.error) {
        await v.abort();
      } else if (done > 0) {
        try {
          await v.finish();
          videoPath = v.path;
        } catch (e) {
          log(`animate: ${(e as Error).message}; the PNG frames are kept`);
        }
      } else await v.abort();
    }
    const seconds = (performance.now() - t0) / 1000;
    const fps = done > 1 ? ((done - 1) * 1000) / (performance.now() - tFirst) : 0;
    const summary = {
      format: 'animgs animation v1',
      complete: !stopped,
      config: plan.config.source,
      checkpoint: plan.checkpoint,
      poses: poses.source,
      view: plan.view.setting === 'camera' ? `camera:${plan.view.camId}` : plan.view.setting,
      orient: plan.orient,
      size: [W, H],
      background: plan.background,
      pca: plan.pca ? { file: plan.pca.path, sigma: plan.pca.sigma, mode: plan.pca.mode } : null,
      ...(plan.part ? { part: { start: first, end, of: poses.count } } : {}),
      frames: Array.from({ length: done }, (_, k) => ({
        index: first + k,
        poseFrame: poses.frameIds[first + k],
        projected: plan.project[first + k],
      })),
      outputs: {
        rgb: ANIMATION_OUTPUTS.rgb,
        alpha: ANIMATION_OUTPUTS.alpha,
        ply: plan.ply ? ANIMATION_OUTPUTS.ply : null,
        texMaps: plan.texMaps ? ANIMATION_OUTPUTS.tex : null,
        video: videoPath ? ANIMATION_OUTPUTS.video : null,
        noVideo: videoPath ? null : plan.noVideo,
      },
      fps,
      seconds,
      writtenAt: new Date().toISOString(),
    };
    writeAtomic(join(out, ANIMATION_OUTPUTS.summary), JSON.stringify(summary, null, 1) + '\n');
    return { out, frames: done, fps, seconds, video: videoPath, stopped, projected };
  } finally {
    if (video) await (video as VideoWriter).abort();
    for (const d of disposers.reverse()) d();
  }
}

/** Check, then render: the whole command. */
export async function animate(req: AnimateRequest, hooks: RunHooks = {}): Promise<AnimationResult> {
  const plan = await planAnimation(req);
  return runAnimation(plan, { ...hooks, log: hooks.log ?? req.log });
}
