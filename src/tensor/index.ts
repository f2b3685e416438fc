/** The compute engine: tensors, scopes, autograd, ops. See docs/engine.md. */
export {
  Tensor,
  initEngine,
  gpu,
  scope,
  beginScope,
  Scope,
  alias,
  shapeSize,
  sameShape,
  scopeDepth,
  f32ToF16,
  f16ToF32,
  type DType,
  type Shape,
  type TensorOptions,
  type Keepable,
} from './tensor.js';
export {
  record,
  backward,
  noGrad,
  isGradEnabled,
  needsGrad,
  zeroGrad,
  clearTape,
  tapeLength,
  type GradFn,
  type RecordSpec,
} from './tape.js';
export * from './ops/elementwise.js';
export * from './ops/shape.js';
export { broadcastShapes } from './kernels/broadcast.js';
export { cachedKernel, dispatch1d, params, f, main1d, stridesOf } from './kernels/util.js';
export { mapNew, mapInto, mapInPlace } from './kernels/elementwise-core.js';
export * from './ops/linalg.js';
export * from './ops/leaky-relu.js';
export * from './ops/indexing.js';
export * from './ops/resize.js';
export * from './ops/cast.js';
export * from './ops/crop-resize.js';
