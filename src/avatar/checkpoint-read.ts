/**
 * Reading our training checkpoints (training, animation and evaluation all load them; train/checkpoint.ts writes
 * them). A checkpoint is a folder `<net_ckpt_dir>/batch_<iteration>/` (or `pretrain_<iteration>/`) holding
 * `net.safetensors` (the network weights under the reference's state-dict names), `optim.safetensors` (Adam's
 * moments, `m.<name>` / `v.<name>`) and `state.json`; `<net_ckpt_dir>/latest.json` names the newest complete one.
 * Files are reached through io's Node-only access: this module is a Node-only entry point.
 */
import { fileExists as existsSync, joinPath as join, listDir, readTextFile } from '../io/node/files.js';
import { loadSafetensors, loadSafetensorsAsync } from '../io/node/safetensors.js';
import { loadTorchCheckpoint } from '../io/node/torch.js';
import {
  splitReferenceCheckpoint,
  type ImportOptions,
  type ReferenceAvatarWeights,
} from '../nn/reference-checkpoint.js';
import type { SafeTensor } from '../io/safetensors.js';
import type { AvatarNetConfig } from './config.js';

/** Load `<ckpt_dir>/net.pt` of the reference (or any path to such a file). */
export function loadReferenceCheckpoint(path: string, opts?: ImportOptions): ReferenceAvatarWeights {
  return splitReferenceCheckpoint(loadTorchCheckpoint(path), path, opts);
}

export const CHECKPOINT_FORMAT = 'animgs-avatar-checkpoint';
export const LATEST = 'latest.json';
export const CHECKPOINT_STATE = 'state.json';
export const CHECKPOINT_NET = 'net.safetensors';
export const CHECKPOINT_OPTIM = 'optim.safetensors';

/** What a resume must agree with: the network sizes and the data the sample stream draws from. */
export interface CheckpointSettings {
  net: AvatarNetConfig;
  dataDir: string;
  frames: number[];
  cameras: string[];
  seed: number;
  gaussians: number;
}

/** The training sample stream's position (train/sampler.ts SamplerState). */
export interface CheckpointSamplerState {
  rng: [number, number, number, number];
  /** The iteration of the next sample. */
  iteration: number;
}

export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  /** 'pretrain' while pretraining (iteration counts pretraining steps), 'train' after. */
  stage: 'pretrain' | 'train';
  /** Steps done in this stage. */
  iteration: number;
  sampler: CheckpointSamplerState;
  /** Adam's step count per parameter name (absent: not stepped yet). */
  adamSteps: Record<string, number>;
  settings: CheckpointSettings;
  /** The last logged loss components (for the record). */
  losses?: Record<string, number>;
  savedAt: string;
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  weights: Map<string, Float32Array>;
  /** Adam's moments (empty when loaded with `{ moments: false }`). */
  moments: Map<string, Float32Array>;
}

/** Whether `dir` is one of our checkpoint folders (it holds state.json). */
export function isCheckpointDir(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_STATE));
}

const CHECKPOINT_DIR = /^(pretrain|batch)_(\d{8})$/;

/** Order of checkpoint folder names: every pretraining one before every training one, then by iteration. */
function checkpointRank(name: string): number {
  const m = CHECKPOINT_DIR.exec(name);
  return m ? (m[1] === 'batch' ? 1e9 : 0) + Number(m[2]) : -1;
}

/**
 * The newest complete checkpoint in `dir`, or null when it has none: the one `latest.json` names, or a newer
 * complete folder (a run killed after renaming a checkpoint into place but before moving latest.json to it).
 * A folder with a checkpoint's name is always complete: it is written under a temporary name and renamed.
 */
export function findLatestCheckpoint(dir: string): string | null {
  const complete = listDir(dir).filter((n) => checkpointRank(n) >= 0 && existsSync(join(dir, n, CHECKPOINT_STATE)));
  const p = join(dir, LATEST);
  let named: string | null = null;
  if (existsSync(p)) {
    try {
      named = (JSON.parse(readTextFile(p)) as { checkpoint: string }).checkpoint;
    } catch (e) {
      throw new Error(`${p}: not a readable checkpoint pointer (${(e as Error).message}); remove it to start afresh`);
    }
    if (!existsSync(join(dir, named, CHECKPOINT_STATE)) && !complete.length) {
      throw new Error(
        `${p} points at ${join(dir, named)}, which is incomplete or gone; remove ${LATEST} to start afresh`,
      );
    }
  }
  if (named && existsSync(join(dir, named, CHECKPOINT_STATE)) && !complete.includes(named)) complete.push(named);
  if (!complete.length) return null;
  const newest = complete.reduce((a, b) => (checkpointRank(b) > checkpointRank(a) ? b : a));
  return join(dir, newest);
}

/** state.json of a checkpoint folder, checked for our format. */
export function readCheckpointState(ckpt: string): CheckpointState {
  const statePath = join(ckpt, CHECKPOINT_STATE);
  let state: CheckpointState;
  try {
    state = JSON.parse(readTextFile(statePath)) as CheckpointState;
  } catch (e) {
    throw new Error(`${statePath}: unreadable (${(e as Error).message})`);
  }
  if (state.format !== CHECKPOINT_FORMAT || state.version !== 1) {
    throw new Error(`${statePath}: not an animgs checkpoint of version 1 (format '${state.format}')`);
  }
  return state;
}

/** A weight file's tensors, all F32. */
function f32Tensors(path: string, tensors: ReadonlyMap<string, SafeTensor>): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const [k, t] of tensors) {
    if (!(t.data instanceof Float32Array)) throw new Error(`${path}: '${k}' is ${t.dtype}, expected F32`);
    m.set(k, t.data);
  }
  return m;
}

/** A checkpoint folder's state, weights and (unless `moments: false`, for inference) Adam's moments. */
export function loadCheckpoint(ckpt: string, opts: { moments?: boolean } = {}): LoadedCheckpoint {
  const state = readCheckpointState(ckpt);
  const f32 = (path: string) => f32Tensors(path, loadSafetensors(path).tensors);
  return {
    dir: ckpt,
    state,
    weights: f32(join(ckpt, CHECKPOINT_NET)),
    moments: opts.moments === false ? new Map() : f32(join(ckpt, CHECKPOINT_OPTIM)),
  };
}

/**
 * A checkpoint folder's state and weights for inference (no moments), the weights read by Node's I/O threads while
 * the caller does other work (loadSafetensorsAsync). state.json is read and checked at once.
 */
export function loadCheckpointWeightsAsync(ckpt: string): {
  state: CheckpointState;
  weights: Promise<Map<string, Float32Array>>;
} {
  const state = readCheckpointState(ckpt);
  const path = join(ckpt, CHECKPOINT_NET);
  return { state, weights: loadSafetensorsAsync(path).then((r) => f32Tensors(path, r.tensors)) };
}
