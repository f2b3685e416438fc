/**
 * A trained avatar, ready to render: what training builds at its start, for animation and evaluation. From a
 * config (avatar.yaml): the canonical maps in `<train.data.data_dir>/smpl_pos_map`, the SMPL-X model, the canonical
 * tensors skinning reads, and the AvatarNet from a checkpoint: one of ours (a `batch_…` folder, or a net_ckpt_dir
 * whose latest.json names one) or the reference's `net.pt` (the file, or a folder holding it). Which checkpoint:
 * the one given, else `test.prev_ckpt`, else the latest in `train.net_ckpt_dir`. Node only (reads files).
 */
import type { SmplxModel } from '../body/model.js';
import { loadSmplxModel } from '../body/node/files.js';
import { fileExists, isDirectory, joinPath as join, readBytes } from '../io/node/files.js';
import { CANO_POS_EXR, readCanonicalMaps } from '../prep/files.js';
import type { CanonicalMaps } from '../prep/maps.js';
import { initEngine } from '../tensor/index.js';
import { canonicalGaussians, canonicalTensors, disposeCanonical, type CanonicalTensors } from './canonical.js';
import {
  findLatestCheckpoint,
  isCheckpointDir,
  LATEST,
  loadCheckpointWeightsAsync,
  readCheckpointState,
  type CheckpointState,
} from './checkpoint-read.js';
import { AVATAR_PRESETS, type AvatarNetConfig, type AvatarPresetName } from './config.js';
import { prepHint, type TrainConfig } from './config-file.js';
import type { CanonicalGaussians } from './gaussian-map.js';
import { AvatarNet } from './net.js';

export interface AvatarCheckpointRef {
  /** Our checkpoint folder, or the reference's net.pt file. */
  path: string;
  kind: 'ours' | 'reference';
  /** Where the choice came from (for messages): 'given', 'test.prev_ckpt' or 'train.net_ckpt_dir'. */
  from: string;
}

export interface LoadAvatarOptions {
  /** A checkpoint folder of ours, a net_ckpt_dir holding latest.json, a net.pt or a folder holding one. */
  checkpoint?: string;
  /** Network sizes for the reference's net.pt (ours carry theirs; a different preset given for ours is an error). */
  preset?: AvatarPresetName;
  log?: (line: string) => void;
}

export interface TrainedAvatar {
  net: AvatarNet;
  /** Per-Gaussian skinning weights, template points and normals on the GPU. */
  canonical: CanonicalTensors;
  gaussians: CanonicalGaussians;
  maps: CanonicalMaps;
  model: SmplxModel;
  /** `<data_dir>/smpl_pos_map` of the training capture (its posed maps, the pose PCA). */
  posMapDir: string;
  /** The network sizes in use. */
  netConfig: AvatarNetConfig;
  checkpoint: AvatarCheckpointRef & { stage?: 'pretrain' | 'train'; iteration?: number };
  /** Frees the network and the canonical tensors. */
  dispose(): void;
}

/** A path given for a checkpoint, sorted into ours or the reference's; throws naming what is there instead. */
export function classifyCheckpoint(path: string, from = 'given'): AvatarCheckpointRef {
  const what = from === 'given' ? 'checkpoint' : from;
  if (isDirectory(path)) {
    if (isCheckpointDir(path)) return { path, kind: 'ours', from };
    if (fileExists(join(path, LATEST))) return { path: findLatestCheckpoint(path)!, kind: 'ours', from };
    if (fileExists(join(path, 'net.pt'))) return { path: join(path, 'net.pt'), kind: 'reference', from };
    throw new Error(
      `${what}: ${path} holds no checkpoint (neither state.json, ${LATEST} nor net.pt): train first or pass another folder`,
    );
  }
  if (fileExists(path)) return { path, kind: 'reference', from };
  throw new Error(`${what}: ${path} does not exist`);
}

/** Which checkpoint a config's avatar loads from (the given one, test.prev_ckpt, the latest in net_ckpt_dir). */
export function resolveAvatarCheckpoint(cfg: TrainConfig, checkpoint?: string): AvatarCheckpointRef {
  if (checkpoint) return classifyCheckpoint(checkpoint);
  if (cfg.test?.prevCkpt) return classifyCheckpoint(cfg.test.prevCkpt, 'test.prev_ckpt');
  const dir = cfg.train.netCkptDir;
  const latest = isDirectory(dir) ? findLatestCheckpoint(dir) : null;
  if (!latest) {
    throw new Error(
      `no trained avatar: ${dir} (train.net_ckpt_dir) holds no checkpoint and test.prev_ckpt is not set: ` +
        `run \`animgs train -c ${cfg.source}\` first or pass --checkpoint`,
    );
  }
  return { path: latest, kind: 'ours', from: 'train.net_ckpt_dir' };
}

function presetNet(cfg: TrainConfig, preset: AvatarPresetName | undefined): AvatarNetConfig {
  if (preset === undefined) return cfg.net;
  const p = AVATAR_PRESETS[preset];
  if (!p) throw new Error(`preset: expected one of ${Object.keys(AVATAR_PRESETS).join(', ')}, got '${preset}'`);
  return { ...p, withViewdirs: cfg.model.withViewdirs };
}

const sameNet = (a: AvatarNetConfig, b: AvatarNetConfig) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Check everything the load needs (checkpoint, its sizes, canonical maps, SMPL-X model) without reading the large
 * files; throws one error naming the file and what to do. Returns the checkpoint and network sizes to use.
 */
export function checkTrainedAvatar(
  cfg: TrainConfig,
  opts: LoadAvatarOptions = {},
): { ref: AvatarCheckpointRef; netConfig: AvatarNetConfig; state: CheckpointState | null; posMapDir: string } {
  const ref = resolveAvatarCheckpoint(cfg, opts.checkpoint);
  let netConfig = presetNet(cfg, opts.preset);
  let state: CheckpointState | null = null;
  if (ref.kind === 'ours') {
    state = readCheckpointState(ref.path);
    const own = state.settings.net;
    if (opts.preset !== undefined && !sameNet(own, netConfig)) {
      throw new Error(
        `${ref.path} was trained with other network sizes than preset '${opts.preset}': leave --preset out (our checkpoints carry their sizes)`,
      );
    }
    if (!sameNet(own, cfg.net))
      opts.log?.(`avatar: using the network sizes ${ref.path} was trained with (not the config's preset)`);
    netConfig = own;
  }
  const posMapDir = cfg.train.data.smplPosMapDir;
  if (!isDirectory(cfg.train.data.dataDir))
    throw new Error(`train.data.data_dir: ${cfg.train.data.dataDir} is not a folder (set it to the training capture)`);
  const cano = join(posMapDir, CANO_POS_EXR);
  if (!fileExists(cano)) throw new Error(`no canonical maps: ${cano} is missing: ${prepHint(cfg)}`);
  if (!fileExists(cfg.train.smplxModel))
    throw new Error(`no SMPL-X model at ${cfg.train.smplxModel} (set train.smplx_model to your SMPLX_NEUTRAL.npz)`);
  return { ref, netConfig, state, posMapDir };
}

/** Build the trained avatar a config names (see the file comment for which checkpoint). Initialises the engine. */
export async function loadTrainedAvatar(cfg: TrainConfig, opts: LoadAvatarOptions = {}): Promise<TrainedAvatar> {
  const { ref, netConfig, state, posMapDir } = checkTrainedAvatar(cfg, opts);
  // seconds per step, for the log line (a queue job's start-up shows where it went)
  const times: string[] = [];
  let t = performance.now();
  const lap = (what: string) => {
    const now = performance.now();
    times.push(`${what} ${((now - t) / 1000).toFixed(1)}`);
    t = now;
  };
  const t0 = t;
  // our checkpoint's weights (~900 MB at the full size) are read by Node's I/O threads while this thread decodes the
  // canonical maps and the body model; its errors are reported below, after those of the steps before it
  const pending = ref.kind === 'ours' ? loadCheckpointWeightsAsync(ref.path).weights : null;
  pending?.catch(() => undefined); // not unhandled when an earlier step throws first
  const maps = readCanonicalMaps(posMapDir);
  if (maps.size !== netConfig.mapSize) {
    throw new Error(
      `the canonical maps in ${posMapDir} are ${maps.size}² per side but the network writes ${netConfig.mapSize}² maps: ` +
        `run \`animgs prep --config ${cfg.source} --size ${netConfig.mapSize} --no-resume\``,
    );
  }
  if (state && state.settings.gaussians !== maps.pixels.length) {
    throw new Error(
      `${ref.path} was trained on canonical maps of ${state.settings.gaussians} Gaussians but ${posMapDir} holds ` +
        `${maps.pixels.length}: point train.data.data_dir at the capture it was trained on`,
    );
  }
  lap('maps');
  const model = loadSmplxModel(cfg.train.smplxModel);
  lap('SMPL-X');
  await initEngine();
  lap('device');
  const gaussians = canonicalGaussians(maps);
  const canonical = canonicalTensors(maps, gaussians);
  lap('canonical');
  let net: AvatarNet;
  try {
    if (pending) {
      const weights = await pending;
      lap('checkpoint');
      net = AvatarNet.fromStateDict(netConfig, gaussians, weights);
    } else {
      const bytes = readBytes(ref.path, 'checkpoint');
      lap('checkpoint');
      net = AvatarNet.fromReferenceCheckpoint(bytes, gaussians, {
        config: netConfig,
        seed: cfg.train.seed,
        source: ref.path,
      });
    }
    lap('networks');
  } catch (e) {
    disposeCanonical(canonical);
    throw new Error(`${ref.path} (${ref.from}): ${(e as Error).message}`);
  }
  opts.log?.(
    `avatar: ${ref.kind === 'ours' ? `${state!.stage} step ${state!.iteration} from ` : 'the reference net.pt '}${ref.path}` +
      ` (${maps.pixels.length} Gaussians; loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${times.join(', ')})`,
  );
  return {
    net,
    canonical,
    gaussians,
    maps,
    model,
    posMapDir,
    netConfig,
    checkpoint: { ...ref, ...(state ? { stage: state.stage, iteration: state.iteration } : {}) },
    dispose() {
      net.dispose();
      disposeCanonical(canonical);
    },
  };
}
