/**
 * Training checkpoints: `<net_ckpt_dir>/batch_<iteration>/` holding the network weights (`net.safetensors`, the
 * reference's state-dict names), Adam's moments (`optim.safetensors`, `m.<name>` / `v.<name>`) and `state.json`
 * (stage, iteration, each parameter's Adam step count, the sample stream's RNG state, and the settings a resume
 * must match). A checkpoint is written into a temporary folder and renamed into place, then `latest.json` (also
 * written by rename) points at it, so an interrupted write never leaves a checkpoint that looks complete; older
 * checkpoints are removed once the new one is in place (the reference keeps only its last batch_ folder too).
 * Reading them is avatar/checkpoint-read.ts.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHECKPOINT_FORMAT,
  LATEST,
  type CheckpointSettings,
  type CheckpointState,
  type LoadedCheckpoint,
} from '../avatar/checkpoint-read.js';
import { avatarNetEntries, type AvatarNet } from '../avatar/net.js';
import type { AvatarNetConfig } from '../avatar/config.js';
import type { SafeArray } from '../io/safetensors.js';
import { removeStaleTemps } from '../io/node/atomic.js';
import { saveSafetensors } from '../io/node/safetensors.js';
import type { Adam } from '../nn/optim.js';

// The read side lives below training (animation and evaluation load checkpoints too).
export {
  CHECKPOINT_FORMAT,
  LATEST,
  findLatestCheckpoint,
  loadCheckpoint,
  readCheckpointState,
  type CheckpointSettings,
  type CheckpointState,
  type LoadedCheckpoint,
} from '../avatar/checkpoint-read.js';

function paramNames(config: AvatarNetConfig): string[] {
  return avatarNetEntries(config)
    .filter((e) => e.kind === 'param')
    .map((e) => e.name);
}

function checkpointDirName(state: CheckpointState): string {
  return `${state.stage === 'pretrain' ? 'pretrain' : 'batch'}_${String(state.iteration).padStart(8, '0')}`;
}

/** Write a checkpoint atomically; returns its folder. */
export async function saveCheckpoint(dir: string, net: AvatarNet, opt: Adam, state: CheckpointState): Promise<string> {
  mkdirSync(dir, { recursive: true });
  removeStaleTemps(dir); // what a killed run left half-written
  const name = checkpointDirName(state);
  const final = join(dir, name);
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const weights = await net.stateDict();
  const shapes = new Map(avatarNetEntries(net.config).map((e) => [e.name, e.shape]));
  saveSafetensors(
    join(tmp, 'net.safetensors'),
    new Map([...weights].map(([k, v]) => [k, { shape: shapes.get(k)!, data: v as SafeArray }])),
    { format: CHECKPOINT_FORMAT },
  );
  const moments = new Map<string, { shape: readonly number[]; data: SafeArray }>();
  const adamSteps: Record<string, number> = {};
  const reads: Array<Promise<void>> = [];
  for (const name of paramNames(net.config)) {
    const p = net.tensor(name);
    const st = opt.stateOf(p);
    if (!st) continue;
    adamSteps[name] = st.step;
    // every read in flight at once (one wait for the GPU, not one per moment); the map keeps this order
    const m = { shape: p.shape, data: new Float32Array(0) as SafeArray };
    const v = { shape: p.shape, data: new Float32Array(0) as SafeArray };
    moments.set(`m.${name}`, m);
    moments.set(`v.${name}`, v);
    reads.push(st.m.toArray().then((a) => void (m.data = a)));
    reads.push(st.v.toArray().then((a) => void (v.data = a)));
  }
  await Promise.all(reads);
  saveSafetensors(join(tmp, 'optim.safetensors'), moments, { format: CHECKPOINT_FORMAT });
  writeFileSync(join(tmp, 'state.json'), JSON.stringify({ ...state, adamSteps }, null, 1));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const latestTmp = join(dir, `${LATEST}.tmp-${process.pid}`);
  writeFileSync(latestTmp, JSON.stringify({ checkpoint: name, stage: state.stage, iteration: state.iteration }));
  renameSync(latestTmp, join(dir, LATEST));
  removeCheckpoints(dir, name);
  return final;
}

/**
 * Remove the checkpoint folders in `dir` (but `keep`). Each is first renamed to a temporary name, so that a run
 * killed while deleting it leaves no half-deleted folder that still looks like a checkpoint (the next run removes
 * the temporary).
 */
export function removeCheckpoints(dir: string, keep?: string): void {
  for (const f of readdirSync(dir)) {
    if (f === keep || !/^(batch|pretrain)_\d{8}$/.test(f)) continue;
    const doomed = join(dir, `.${f}.tmp-${process.pid}`);
    renameSync(join(dir, f), doomed);
    rmSync(doomed, { recursive: true, force: true });
  }
}

/** Whether a checkpoint was made with these settings; else the first difference, for the error message. */
export function settingsMismatch(a: CheckpointSettings, b: CheckpointSettings): string | null {
  if (JSON.stringify(a.net) !== JSON.stringify(b.net)) return 'the network sizes (preset) differ';
  if (a.dataDir !== b.dataDir) return `data_dir differs (${a.dataDir} vs ${b.dataDir})`;
  if (a.frames.join() !== b.frames.join()) return 'the training frames differ';
  if (a.cameras.join() !== b.cameras.join()) return 'the training cameras differ';
  if (a.seed !== b.seed) return `the seed differs (${a.seed} vs ${b.seed})`;
  if (a.gaussians !== b.gaussians) return `the canonical maps hold ${b.gaussians} Gaussians, not ${a.gaussians}`;
  return null;
}

/** Restore Adam's state for every parameter the checkpoint has moments of. */
export function restoreAdam(net: AvatarNet, opt: Adam, ck: LoadedCheckpoint): void {
  opt.reset();
  for (const [name, step] of Object.entries(ck.state.adamSteps)) {
    const m = ck.moments.get(`m.${name}`);
    const v = ck.moments.get(`v.${name}`);
    if (!m || !v) throw new Error(`${ck.dir}/optim.safetensors: no moments for '${name}'`);
    opt.setState(net.tensor(name), step, m, v);
  }
}
