/**
 * Animatable Gaussians in TypeScript on WebGPU: the library's public API. What a user program needs to train,
 * animate and measure an avatar, or to use the engine on its own; everything else is internal and may move.
 */
// the GPU runtime: adapter and device (Dawn in Node, navigator.gpu in a browser), kernels, capture/replay, timing
export * from './gpu/index.js';
// the tensor engine: tensors, scopes, autograd, ops
export * from './tensor/index.js';
// layers and losses
export { Adam, type AdamOptions } from './nn/optim.js';
export { DualStyleUNet } from './nn/styleunet/network.js';
export { avatarUnetConfig } from './nn/styleunet/spec.js';
export { Lpips } from './nn/lpips.js';
export { ssim, DSSIM_WEIGHT } from './nn/ssim.js';
export { loadReferenceCheckpoint } from './avatar/checkpoint-read.js';
// the avatar: AvatarNet (pose map → three DualStyleUNets + view CNN → Gaussians), skinning, splatting
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
export { loadTrainConfig, parseTrainConfig, type TrainConfig } from './avatar/config-file.js';
export { loadTrainedAvatar, type TrainedAvatar } from './avatar/load.js';
// training, animation, evaluation: what `animgs train`, `animate` and `eval` run
export { trainAvatar, type TrainOptions, type TrainResult } from './train/trainer.js';
export { animate, type AnimateRequest, type AnimationResult } from './animate/animate.js';
export { exportWeb, type ExportRequest, type ExportResult } from './animate/web/export.js';
export { serveSite } from './animate/web/serve.js';
export { evaluateAvatar, type EvalOptions } from './eval/evaluate.js';
export { psnr, ssim as ssimImage } from './eval/metrics.js';
// the rasterizer, the body model, captures and preprocessing
export {
  GaussianRasterizer,
  uploadScene,
  renderScene,
  decodePly,
  plyToScene,
  sceneToPly,
  type Camera as SplatCamera,
  type GpuScene,
  type SplatScene,
} from './splat/index.js';
export { readPly, writePly } from './splat/node/ply.js';
export { encodeGaussianPly } from './splat/ply-write.js';
export * as body from './body/node/index.js';
export { CaptureDataset, type CaptureConfig } from './data/dataset.js';
export { readCalibrationJson, cameraCenter, type Camera } from './data/camera.js';
export { synthesizeCapture, SYNTH_PRESETS } from './data/synth/capture.js';
export { prepare } from './prep/prep.js';
// file formats
export { decodeNpz, encodeNpz } from './io/npz.js';
export { readNpz, writeNpz } from './io/node/npz.js';
export { decodeExr, encodeExr } from './io/exr.js';
export { readExr, writeExr } from './io/node/exr.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
export { loadSafetensors, saveSafetensors } from './io/node/safetensors.js';
export { readTorchCheckpoint } from './io/torch.js';
export { loadTorchCheckpoint } from './io/node/torch.js';
