/**
 * `animgs export-web -c avatar.yaml --out DIR`: the trained avatar as a static web site that plays it in a browser
 * (the layout is in format.ts). The avatar loads as `animgs animate` loads it; the motions are the pose files
 * given, else test.pose_data and the capture's own poses, turned into the joint tables the GPU reads; the pose
 * projection applies where `animate --pca auto` applies it (poses the networks were not trained on). Everything is
 * checked before anything is written, and site.json is written last (its presence marks a complete export).
 * Node-only.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { findPcaFile, parseSize } from '../animate.js';
import {
  frameJoints,
  liveBodyCenter,
  parseFrameRange,
  posesFromCapture,
  posesFromFile,
  type AnimationPoses,
} from '../pose-source.js';
import { AnimationRenderer, type FrameSpec } from '../frame.js';
import { PcaProjector, PoseMapBuilder } from '../pose-map-gpu.js';
import { orbitCamera, uprightRotation } from '../views.js';
import type { TrainConfig } from '../../avatar/config-file.js';
import { checkTrainedAvatar, loadTrainedAvatar } from '../../avatar/load.js';
import { avatarNetEntries } from '../../avatar/net.js';
import type { FrameRange } from '../../body/poses.js';
import { CaptureDataset } from '../../data/dataset.js';
import { InputError } from '../../io/errors.js';
import { ensureDir, writeFileAtomic } from '../../io/node/atomic.js';
import { readPca } from '../../prep/files.js';
import { playerBundle } from './bundle.js';
import {
  bakedChunkFile,
  CANONICAL_FILE,
  encodeBaked,
  encodeCanonical,
  encodeMotion,
  encodeNetWeights,
  MANIFEST,
  motionFile,
  NET_FILE,
  SITE_FORMAT,
  type Motion,
  type MotionInfo,
  type SiteManifest,
} from './format.js';
import { pageHtml } from './page.js';

export interface ExportRequest {
  config: TrainConfig;
  out: string;
  checkpoint?: string;
  /** Pose files to include (default: test.pose_data and the capture's poses). */
  poses?: string[];
  /** `a:b[:step]` of each pose file. */
  frames?: string;
  /** 'f16' (default) or 'f32' network weights. */
  precision?: string;
  /** The page's initial canvas `WxH` (default 1024x1024). */
  size?: string;
  /** Motions (by name, or 'all') to bake: their posed Gaussians per frame, so the page skips the networks. */
  bake?: string[];
  /** Frames per second the motions play at (default 30). */
  fps?: number;
  force?: boolean;
  log?: (line: string) => void;
}

export interface ExportResult {
  out: string;
  /** Total bytes of the site. */
  bytes: number;
  files: { path: string; bytes: number }[];
}

/** Frames a motion keeps by default (a longer sequence is cut, saying so; --frames picks others). */
export const DEFAULT_MAX_FRAMES = 600;
const SITE_ENTRIES = ['index.html', 'player.js', MANIFEST, 'avatar', 'motions'];

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'motion';
}

export async function exportWeb(req: ExportRequest): Promise<ExportResult> {
  const log = req.log ?? (() => undefined);
  const cfg = req.config;
  const precision = req.precision ?? 'f16';
  if (precision !== 'f16' && precision !== 'f32') throw new InputError(`--precision '${precision}': use f16 or f32`);
  const [width, height] = req.size ? parseSize(req.size) : [1024, 1024];
  const fps = req.fps ?? 30;
  if (!(Number.isFinite(fps) && fps > 0 && fps <= 1000))
    throw new InputError(`--fps '${req.fps}': use a number in (0, 1000]`);
  const out = req.out;
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new InputError(`--out ${out}: not a folder`);
    const earlier = SITE_ENTRIES.filter((e) => existsSync(join(out, e)));
    if (earlier.length && !req.force) {
      throw new InputError(`--out ${out} holds an earlier export (${earlier.join(', ')}): pass --force to replace it`);
    }
  }

  // everything checked (avatar, poses, PCA) before the GPU starts or a file is written
  const avatarCheck = checkTrainedAvatar(cfg, { ...(req.checkpoint ? { checkpoint: req.checkpoint } : {}), log });
  const dataset = new CaptureDataset({
    layout: cfg.train.layout,
    dataDir: cfg.train.data.dataDir,
    frameRange: cfg.train.data.frameRange,
  });
  const trainingFrames = new Set(dataset.frames);
  const betas = dataset.smpl.betas;
  const cliRange: FrameRange | null = req.frames !== undefined ? parseFrameRange(req.frames) : null;
  const capture = resolve(join(cfg.train.data.dataDir, 'smpl_params.npz'));
  const sources: { name: string; poses: AnimationPoses }[] = [];
  const fromFile = (path: string, over: Partial<Parameters<typeof posesFromFile>[1]> = {}) => {
    if (!existsSync(path)) throw new InputError(`pose file ${path} does not exist`);
    return posesFromFile(path, {
      frames: cliRange,
      betas,
      ...(resolve(path) === capture ? { trainingFrames } : {}),
      ...over,
    });
  };
  if (req.poses?.length) {
    for (const p of req.poses) sources.push({ name: basename(p, extname(p)), poses: fromFile(p) });
  } else {
    const pd = cfg.test?.poseData;
    if (pd) {
      sources.push({
        name: basename(pd.dataPath, extname(pd.dataPath)),
        poses: fromFile(pd.dataPath, {
          frames: cliRange ?? (pd.frameRange as FrameRange | FrameRange[] | null),
          interval: pd.frameInterval,
          handPoseType: pd.handPoseType,
        }),
      });
    }
    const all = dataset.smpl.length;
    const frames = Array.from({ length: all }, (_, i) => i);
    sources.push({ name: 'capture', poses: posesFromCapture(dataset.smpl, frames, trainingFrames) });
  }
  const nPca = cfg.test?.nPca ?? -1;
  const projectOf = (p: AnimationPoses, i: number) => nPca !== 0 && !p.isTrainingPose(i);
  const needPca = sources.some((s) =>
    Array.from({ length: s.poses.count }, (_, i) => projectOf(s.poses, i)).some(Boolean),
  );
  const pcaPath = needPca ? findPcaFile(avatarCheck.posMapDir, nPca) : null;
  if (needPca && !pcaPath) {
    throw new InputError(
      `the unseen poses need the pose PCA, and ${avatarCheck.posMapDir} has none: run \`animgs prep --config ${cfg.source} --pca 20\``,
    );
  }

  const avatar = await loadTrainedAvatar(cfg, { ...(req.checkpoint ? { checkpoint: req.checkpoint } : {}), log });
  try {
    const files = new Map<string, Uint8Array | string>();
    // the networks: the state dict under the reference's names
    const weights = await avatar.net.stateDict();
    const shapes = new Map(avatarNetEntries(avatar.netConfig).map((e) => [e.name, e.shape] as const));
    files.set(NET_FILE, encodeNetWeights(weights, shapes, precision));
    const pca = pcaPath ? readPca(pcaPath) : null;
    const sigma = cfg.test?.sigmaPca ?? 2;
    files.set(CANONICAL_FILE, encodeCanonical(avatar.maps, pca, pca ? sigma : null));

    const motions: MotionInfo[] = [];
    const motionTables: Motion[] = [];
    const used = new Set<string>();
    for (const { name, poses } of sources) {
      let n = slug(name);
      while (used.has(n)) n += '_';
      used.add(n);
      const count = cliRange ? poses.count : Math.min(poses.count, DEFAULT_MAX_FRAMES);
      if (count < poses.count)
        log(`export-web: ${name}: the first ${count} of ${poses.count} frames (--frames picks others)`);
      const J = avatar.canonical.weights.shape[1]!;
      const joints = new Float32Array(count * J * 16);
      const jointsWoRoot = new Float32Array(count * J * 16);
      const project = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        const t = frameJoints(avatar.model, poses.params(i));
        joints.set(t.jointMats, i * J * 16);
        jointsWoRoot.set(t.jointMatsWoRoot, i * J * 16);
        project[i] = pca && projectOf(poses, i) ? 1 : 0;
      }
      const file = motionFile(n);
      const table: Motion = { frames: count, numJoints: J, joints, jointsWoRoot, project };
      motionTables.push(table);
      files.set(file, encodeMotion(table));
      const p0 = poses.params(0);
      motions.push({
        name: n,
        file,
        frames: count,
        fps,
        source: poses.source,
        center: liveBodyCenter(avatar.model, p0),
        upright: Array.from(uprightRotation('body', p0.globalOrient ?? [0, 0, 0])),
      });
    }
    const bakeAll = req.bake?.includes('all');
    const unknown = (req.bake ?? []).filter((b) => b !== 'all' && !motions.some((m) => m.name === b));
    if (unknown.length) {
      throw new InputError(
        `--bake ${unknown.join(', ')}: no such motion (the motions: ${motions.map((m) => m.name).join(', ')}, or all)`,
      );
    }
    for (const [mi, m] of motions.entries()) {
      if (!bakeAll && !req.bake?.includes(m.name)) continue;
      const b = await bakeMotion(avatar, motionTables[mi]!, m, pca, sigma);
      m.baked = { gaussians: avatar.maps.pixels.length, framesPerChunk: b.framesPerChunk, chunks: [], bytes: [] };
      b.chunks.forEach((bytes, k) => {
        const f = bakedChunkFile(m.name, k);
        files.set(f, bytes);
        m.baked!.chunks.push(f);
        m.baked!.bytes.push(bytes.length);
      });
      log(`export-web: baked ${m.name}: ${m.frames} frames in ${b.chunks.length} chunk(s)`);
    }
    files.set('player.js', await playerBundle());
    const listed = [...files].map(([path, b]) => ({
      path,
      bytes: typeof b === 'string' ? new TextEncoder().encode(b).length : b.length,
    }));
    const manifest: SiteManifest = {
      format: SITE_FORMAT,
      name: basename(cfg.source, extname(cfg.source)),
      net: { config: avatar.netConfig, file: NET_FILE, precision },
      canonical: { file: CANONICAL_FILE, gaussians: avatar.maps.pixels.length, pcaSigma: pca ? sigma : null },
      motions,
      view: { width, height, background: [1, 1, 1] },
      // what the page loads before the first frame (baked chunks stream in as they play)
      files: listed.filter((f) => f.path !== 'player.js' && !f.path.includes('.baked.')),
    };
    files.set('index.html', pageHtml(manifest.name));

    if (req.force) for (const e of SITE_ENTRIES) rmSync(join(out, e), { recursive: true, force: true });
    ensureDir(out, '--out folder');
    for (const d of ['avatar', 'motions']) ensureDir(join(out, d));
    for (const [path, b] of files) writeFileAtomic(join(out, path), b);
    const json = JSON.stringify(manifest, null, 1) + '\n';
    writeFileAtomic(join(out, MANIFEST), json); // last: a site without it is incomplete
    const all = [
      ...listed,
      { path: 'index.html', bytes: (files.get('index.html') as string).length },
      { path: MANIFEST, bytes: json.length },
    ];
    const bytes = all.reduce((s, f) => s + f.bytes, 0);
    log(
      `export-web: ${avatar.maps.pixels.length} Gaussians, ${motions.length} motion(s) (${motions.map((m) => `${m.name}: ${m.frames}`).join(', ')}), weights ${precision}`,
    );
    return { out, bytes, files: all };
  } finally {
    avatar.dispose();
  }
}

/** Bytes of a baked chunk to aim for: big enough to stream efficiently, small enough to arrive in time. */
const BAKED_CHUNK_BYTES = 8 << 20;

/**
 * A motion's posed Gaussians per frame, as `animate` computes them (its frame, with keepGaussians), coloured from the
 * front view (the colour network's view input is fixed by baking).
 */
async function bakeMotion(
  avatar: Awaited<ReturnType<typeof loadTrainedAvatar>>,
  motion: Motion,
  info: MotionInfo,
  pca: ReturnType<typeof readPca> | null,
  sigma: number,
): Promise<{ framesPerChunk: number; chunks: Uint8Array[] }> {
  const S = avatar.netConfig.poseMapSize;
  const builder = new PoseMapBuilder(avatar.maps, S);
  const projector = pca ? new PcaProjector(pca.pca, pca.pixels, S, sigma) : null;
  const W = 512;
  const anim = new AnimationRenderer(avatar.net, avatar.canonical, builder, {
    width: W,
    height: W,
    pca: projector,
    keepGaussians: true,
  });
  try {
    const N = avatar.maps.pixels.length;
    const perFrame = N * (3 * 4 + 11 * 2);
    const fpc = Math.max(1, Math.min(motion.frames, Math.floor(BAKED_CHUNK_BYTES / perFrame)));
    const camera = orbitCamera(
      { width: W, height: W, center: info.center, upright: Float64Array.from(info.upright) },
      0,
      0,
    );
    const J16 = motion.numJoints * 16;
    const chunks: Uint8Array[] = [];
    for (let start = 0; start < motion.frames; start += fpc) {
      const F = Math.min(fpc, motion.frames - start);
      const c = {
        frames: F,
        gaussians: N,
        means: new Float32Array(F * N * 3),
        scales: new Float32Array(F * N * 3),
        rotations: new Float32Array(F * N * 4),
        opacities: new Float32Array(F * N),
        colors: new Float32Array(F * N * 3),
      };
      for (let f = 0; f < F; f++) {
        const i = start + f;
        const spec: FrameSpec = {
          jointMats: motion.joints.subarray(i * J16, (i + 1) * J16),
          jointMatsWoRoot: motion.jointsWoRoot.subarray(i * J16, (i + 1) * J16),
          camera,
          project: !!motion.project[i] && !!projector,
        };
        anim.render(spec);
        const g = await anim.readGaussians();
        c.means.set(g.means, f * N * 3);
        c.scales.set(g.scales, f * N * 3);
        c.rotations.set(g.rotations, f * N * 4);
        c.opacities.set(g.opacities, f * N);
        c.colors.set(g.colors, f * N * 3);
      }
      chunks.push(encodeBaked(c));
    }
    return { framesPerChunk: fpc, chunks };
  } finally {
    anim.dispose();
    projector?.dispose();
    builder.dispose();
  }
}
