/** The package's entry point exports what the README's examples use. */
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('public API', () => {
  it('exports the runtime, the engine, the avatar, training, animation, evaluation, the template fit and the readers', () => {
    for (const name of [
      'getGpu',
      'initEngine',
      'Tensor',
      'backward',
      'Adam',
      'DualStyleUNet',
      'AvatarNet',
      'AVATAR_PRESETS',
      'renderAvatar',
      'loadTrainConfig',
      'loadTrainedAvatar',
      'trainAvatar',
      'animate',
      'evaluateAvatar',
      'psnr',
      'GaussianRasterizer',
      'readPly',
      'CaptureDataset',
      'synthesizeCapture',
      'prepare',
      'loadTemplateConfig',
      'fitTemplate',
      'readWeightVolume',
      'readNpz',
      'readExr',
      'loadSafetensors',
      'loadTorchCheckpoint',
    ])
      expect(api, name).toHaveProperty(name);
    expect(api.body).toHaveProperty('loadSmplxModel');
  });
});
