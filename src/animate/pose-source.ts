/**
 * The poses an animation plays: a driving sequence read by src/body/poses.ts (AMASS
 * `.npz`, THuman4.0 / AvatarReX / ActorsHQ `smpl_params.npz`, AIST++ `.pkl`), animated with the training
 * subject's shape, or the capture's own SMPL-X fits (the training poses, re-rendered). Frames are selected up front
 * and checked against the file (a range past its end is an error, not a silent clip), and each frame knows whether
 * its pose is one the networks were trained on: the pose projection (PCA) applies, by default, only to the others.
 * Per frame the CPU makes the two joint tables the GPU work reads: cano → live with the root (skinning) and without
 * it (the posed position map the networks read), as training does.
 */
import { canoToLive } from '../body/canonical.js';
import { smplxForward, type SmplxParams } from '../body/forward.js';
import type { HandPoseType } from '../body/hands.js';
import type { SmplxModel } from '../body/model.js';
import { frameParams, type FrameRange, type PoseSequence } from '../body/poses.js';
import { readPoseSequence } from '../body/node/files.js';
import type { SmplParamSequence } from '../data/smpl-params.js';
import { parseFrameSpec } from '../data/frame-spec.js';
import { InputError } from '../io/errors.js';
import { boxCenter } from './views.js';

export interface AnimationPoses {
  /** Where the poses come from, for messages. */
  source: string;
  /** 'capture': the capture's own fits; 'file': a driving sequence. */
  kind: 'capture' | 'file';
  count: number;
  /** The file's frame index of each output frame (names the output files). */
  frameIds: number[];
  /** Output frame i's SMPL-X parameters (betas: the training subject's). */
  params(i: number): SmplxParams;
  /** Whether output frame i's pose is a training pose (the networks saw its posed map). */
  isTrainingPose(i: number): boolean;
}

/** `a:b` or `a:b:step` (end exclusive, as Python's range), checked; without a step the sequence's interval applies. */
export function parseFrameRange(spec: string, flag = '--frames'): FrameRange {
  const s = parseFrameSpec(spec, flag);
  if (s.kind === 'list') throw new InputError(`${flag} '${spec}': use start:end or start:end:step (end exclusive)`);
  return s.step === undefined ? [s.start, s.end] : [s.start, s.end, s.step];
}

/** The frame indices a range (list) selects in a file of `total` frames; a range past the end is an error. */
export function selectFrameIds(
  total: number,
  range: FrameRange | readonly FrameRange[] | null | undefined,
  interval: number,
  source: string,
  what = 'frame range',
): number[] {
  if (!(Number.isInteger(interval) && interval >= 1))
    throw new Error(`${source}: frame interval ${interval} must be a positive integer`);
  if (total < 1) throw new Error(`${source}: holds no frames`);
  const ranges: FrameRange[] =
    range == null ? [[0, total]] : Array.isArray(range[0]) ? [...(range as FrameRange[])] : [range as FrameRange];
  const out: number[] = [];
  for (const r of ranges) {
    const [a, b, step = interval] = r;
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b > a && Number.isInteger(step) && step >= 1)) {
      throw new Error(`${source}: ${what} [${r.join(', ')}] is not a range start < end, step ≥ 1`);
    }
    if (b > total) {
      throw new Error(
        `${source}: ${what} [${r.join(', ')}] goes past the file's ${total} frames (0..${total - 1}); end it at ${total} or earlier`,
      );
    }
    for (let i = a; i < b; i += step) out.push(i);
  }
  return out;
}

export interface PoseFileOptions {
  /** Frames of the file (default all); `interval` is the step when a range gives none. */
  frames?: FrameRange | readonly FrameRange[] | null;
  interval?: number;
  handPoseType?: HandPoseType;
  /** The training subject's betas (the avatar keeps its shape). */
  betas: ArrayLike<number>;
  /** Frames of the capture the avatar was trained on, when the file is the capture's own smpl_params. */
  trainingFrames?: ReadonlySet<number>;
}

/** A driving pose sequence from a file (every frame counts as unseen unless `trainingFrames` says otherwise). */
export function posesFromFile(path: string, opts: PoseFileOptions): AnimationPoses {
  const seq: PoseSequence = readPoseSequence(path, {
    ...(opts.handPoseType ? { handPoseType: opts.handPoseType } : {}),
    betas: opts.betas,
  });
  const rows = selectFrameIds(seq.numFrames, opts.frames, opts.interval ?? 1, path);
  checkFinite(path, rows.length, (i) => frameParams(seq, rows[i]!));
  const ids = rows.map((r) => seq.frameIndices[r]!);
  const training = opts.trainingFrames;
  return {
    source: `${path} (${seq.format}, ${rows.length} of ${seq.numFrames} frames)`,
    kind: 'file',
    count: rows.length,
    frameIds: ids,
    params: (i) => frameParams(seq, rows[i]!),
    isTrainingPose: (i) => !!training?.has(ids[i]!),
  };
}

/** The capture's own SMPL-X fits (frames of smpl_params.npz), as training reads them. */
export function posesFromCapture(
  smpl: SmplParamSequence,
  frames: readonly number[],
  trainingFrames: ReadonlySet<number>,
): AnimationPoses {
  for (const f of frames) {
    if (!(Number.isInteger(f) && f >= 0 && f < smpl.length)) {
      throw new Error(`${smpl.source}: frame ${f} is not in the file (it holds frames 0..${smpl.length - 1})`);
    }
  }
  if (frames.length === 0) throw new Error(`${smpl.source}: no frames selected`);
  checkFinite(smpl.source, frames.length, (i) => smpl.frame(frames[i]!));
  return {
    source: `${smpl.source} (the capture's fits, ${frames.length} frames)`,
    kind: 'capture',
    count: frames.length,
    frameIds: [...frames],
    params: (i) => smpl.frame(frames[i]!),
    isTrainingPose: (i) => trainingFrames.has(frames[i]!),
  };
}

function checkFinite(source: string, n: number, get: (i: number) => SmplxParams): void {
  for (let i = 0; i < n; i++) {
    const p = get(i);
    for (const [k, v] of Object.entries(p)) {
      const a = v as ArrayLike<number> | undefined;
      if (!a) continue;
      for (let j = 0; j < a.length; j++) {
        if (!Number.isFinite(a[j]!)) throw new Error(`${source}: frame ${i} has a non-finite value in ${k}`);
      }
    }
  }
}

/** What the GPU reads for one frame. */
export interface FrameJoints {
  /** J × 16 row-major: cano → live with the root (skinning). */
  jointMats: Float32Array;
  /** J × 16: cano → live without the root (the posed position map). */
  jointMatsWoRoot: Float32Array;
}

export function frameJoints(model: SmplxModel, params: SmplxParams): FrameJoints {
  const c = canoToLive(model, params);
  return { jointMats: Float32Array.from(c.jointMats), jointMatsWoRoot: Float32Array.from(c.jointMatsWoRoot) };
}

/** The centre of a frame's posed body box (the synthetic views look at frame 0's). */
export function liveBodyCenter(model: SmplxModel, params: SmplxParams): [number, number, number] {
  const out = smplxForward(model, params, { vertices: true, poseCorrectives: false });
  return boxCenter(out.vertices!);
}

/** The root translation of frame i (zeros when the fits have none). */
export function rootTranslation(p: SmplxParams): [number, number, number] {
  const t = p.transl;
  return [t?.[0] ?? 0, t?.[1] ?? 0, t?.[2] ?? 0];
}
