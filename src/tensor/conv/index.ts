/** The convolution family: geometry, raw-buffer kernels (forward and backward), and FIR/Haar helpers. */
export * from './geometry.js';
export * from './upfirdn-geometry.js';
export * from './conv2d-raw.js';
export { DEFAULT_TILE, checkTile, gemmWgsl, type GemmTile, type GemmSpec } from './gemm.js';
export { TUNED_TILE, gemmTunedWgsl, type GemmBody } from './gemm-tuned.js';
export { epilogueRef, type ConvEpilogue } from './epilogue.js';
export type { GemmEngine } from './implicit.js';
export { TC2_TILE, type Tc2Tile, type TcMode } from './tc2-tiles.js';
export {
  constantBuffer,
  haarDwtRaw,
  haarDwtBackwardRaw,
  haarIwtRaw,
  haarIwtBackwardRaw,
  separableFilterRaw,
  separableFilterBackwardRaw,
  separableGeoms,
  upfirdn2dRaw,
  upfirdn2dAdjointRaw,
  type PlaneView,
  type SeparablePadding,
  type UpfirdnRawOptions,
} from './upfirdn.js';
export { modulateRaw, modulateBackwardRaw } from './modulate.js';
export { maxPool2Raw, maxPool2BackwardRaw } from './pool2.js';
export { channelSum } from './direct.js';
export { blurSpec, upsampleSpec, downsampleSpec, type FirSpec } from './fir.js';
export type { ModulateGeom } from '../reference/conv.js';
