/**
 * An untrained avatar saved as a training checkpoint (`<dir>/batch_00000001/`, `latest.json`) through the trainer's
 * own writer, for benches that animate, export or load a full-size avatar without training one first.
 */
import type { AvatarNet } from '../src/avatar/net.js';
import type { CheckpointSettings } from '../src/avatar/checkpoint-read.js';
import { Adam } from '../src/nn/optim.js';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../src/train/checkpoint.js';

export async function saveUntrainedCheckpoint(
  dir: string,
  net: AvatarNet,
  settings: Omit<CheckpointSettings, 'net'>,
): Promise<string> {
  return saveCheckpoint(dir, net, new Adam(net.parameters()), {
    format: CHECKPOINT_FORMAT,
    version: 1,
    stage: 'train',
    iteration: 1,
    sampler: { rng: [1, 2, 3, 4], iteration: 1 },
    adamSteps: {},
    settings: { ...settings, net: net.config },
    savedAt: new Date().toISOString(),
  });
}
