/**
 * Animatable Gaussians in TypeScript on WebGPU: the library's public API. What a user program needs to train,
 * animate and measure an avatar, or to use the engine on its own; everything else is internal and may move.
 */
// the browser-safe part (src/browser.ts): the GPU runtime, the tensor engine, DualStyleUNet, AvatarNet, skinning,
// splatting, the rasterizer, the body model, the file decoders
export * from './browser.js';
// layers and losses
export { Adam, type AdamOptions } from './nn/optim.js';
export { Lpips } from './nn/lpips.js';
export { ssim, DSSIM_WEIGHT } from './nn/ssim.js';
export { loadReferenceCheckpoint } from './avatar/checkpoint-read.js';
// the avatar as trained and loaded from files
export { loadTrainConfig, parseTrainConfig, type TrainConfig } from './avatar/config-file.js';
export { loadTrainedAvatar, type TrainedAvatar } from './avatar/load.js';
// training, animation, evaluation: what `animgs train`, `animate` and `eval` run
export { trainAvatar, type TrainOptions, type TrainResult } from './train/trainer.js';
export { animate, type AnimateRequest, type AnimationResult } from './animate/animate.js';
export { exportWeb, type ExportRequest, type ExportResult } from './animate/web/export.js';
export { serveSite } from './animate/web/serve.js';
export { evaluateAvatar, type EvalOptions } from './eval/evaluate.js';
export { psnr, ssim as ssimImage } from './eval/metrics.js';
// files on disk (Node): .ply, the body model with its file readers, captures and preprocessing
export { readPly, writePly } from './splat/node/ply.js';
export { encodeGaussianPly } from './splat/ply-write.js';
export * as body from './body/node/index.js';
export { CaptureDataset, type CaptureConfig } from './data/dataset.js';
export { readCalibrationJson, cameraCenter, type Camera } from './data/camera.js';
export { synthesizeCapture, SYNTH_PRESETS } from './data/synth/capture.js';
export { prepare } from './prep/prep.js';
// the learned template for loose clothes: what `animgs template` runs (prepare then draws the maps from template.ply)
export { loadTemplateConfig, parseTemplateConfig, type TemplateConfig } from './prep/template/config.js';
export {
  fitTemplate,
  type FitOptions as TemplateFitOptions,
  type FitResult as TemplateFitResult,
  type TemplateProgress,
} from './prep/template/fit.js';
export { readWeightVolume, writeWeightVolume } from './prep/template/volume-file.js';
export { readNpz, writeNpz } from './io/node/npz.js';
export { readExr, writeExr } from './io/node/exr.js';
export { loadSafetensors, saveSafetensors } from './io/node/safetensors.js';
export { loadTorchCheckpoint } from './io/node/torch.js';
