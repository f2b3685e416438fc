/** The differentiable Gaussian rasterizer (color, depth, alpha) and 3DGS PLY files. See docs/splat.md. */
export { deriveCamera, validateCamera, TILE, type Camera, type CameraDerived } from './camera.js';
export {
  GaussianRasterizer,
  uploadScene,
  readImages,
  renderScene,
  type GpuScene,
  type ForwardResult,
  type BackwardResult,
  type RasterOptions,
  type CapturableResult,
  type OverflowReport,
  type RenderedImages,
} from './rasterizer.js';
export { referenceForward, referenceBackward, type SplatImages, type SplatGrads } from './reference.js';
export { shLayout, type SplatScene } from './scene.js';
export { decodePly, encodePly, plyToScene, sceneToPly, type PlyGaussians } from './ply.js';
export { shCoeffs, shDegreeOf } from './sh.js';
export { SplatView, viewBytes, VIEW_BYTES } from './view.js';
export { exclusiveScan, radixSort, Scratch } from './sort.js';
