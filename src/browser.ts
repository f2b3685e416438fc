/**
 * The browser-safe part of the public API: the engine, the networks, the avatar's forward pass, the rasterizer, the
 * body model and the file decoders, none of which imports a Node module, so a web page (the player) can bundle it.
 * Files reach these as bytes (fetch them); src/index.ts adds the Node side (file readers and writers, training,
 * animation to files, evaluation). test/browser/bundle.test.ts keeps it so.
 */
export * from './gpu/index.js';
export * from './tensor/index.js';
export { DualStyleUNet } from './nn/styleunet/network.js';
export { avatarUnetConfig } from './nn/styleunet/spec.js';
export { AvatarNet, avatarNetParameterCount } from './avatar/net.js';
export { AVATAR_PRESETS, type AvatarNetConfig, type AvatarPresetName } from './avatar/config.js';
export { blendJointMatrices, skinGaussians } from './avatar/skinning.js';
export {
  renderAvatar,
  renderGaussians,
  SplatRenderer,
  type GaussianTensors,
  type RenderOutput,
} from './avatar/render.js';
export {
  GaussianRasterizer,
  uploadScene,
  renderScene,
  decodePly,
  encodePly,
  plyToScene,
  sceneToPly,
  type Camera as SplatCamera,
  type GpuScene,
  type SplatScene,
} from './splat/index.js';
export * as body from './body/index.js';
export { decodeNpz, encodeNpz } from './io/npz.js';
export { decodeExr, encodeExr } from './io/exr.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
export { readTorchCheckpoint } from './io/torch.js';
