/** The GPU runtime's public face: `getGpu()` gives the process-wide device; `createGpu()` a separate one. */
import { Gpu } from './gpu.js';
import { describeAdapter, requestAdapter, requestDevice, type DeviceRequest } from './adapter.js';
import { probeSubgroupMatrixSyntax } from './subgroup-matrix.js';

export { Gpu, PARAM_SLOT, type Binding, type GpuFeatures } from './gpu.js';
export { BufferPool, sizeClass, type PoolStats } from './pool.js';
export { parseBindings, type Kernel, type BindingKind } from './kernels.js';
export { GpuError, NoAdapterError, DeviceLostError, WgslCompileError } from './errors.js';
export { describeAdapter, webgpuEntry, type AdapterSummary, type DeviceRequest } from './adapter.js';
export { fixedSubgroupSize, listAdapters, setDawnChoice } from './adapter.js';
export {
  adapterFlag,
  describeAdapters,
  GpuSelectError,
  layerSelectEnv,
  parseAdapterList,
  parseLayerList,
  parsePciAddress,
  resolveGpuId,
  type AdapterEntry,
  type DawnChoice,
  type GpuTarget,
  type LayerDevice,
} from './select.js';
export { GpuTimer } from './timing.js';
export { Replay } from './capture.js';
export { KernelProfiler, type KernelTime } from './profiler.js';
export { grid1d, GRID_INDEX } from './grid.js';

export async function createGpu(req: DeviceRequest = {}): Promise<Gpu> {
  const adapter = await requestAdapter(req.powerPreference);
  const device = await requestDevice(adapter, req);
  const gpu = new Gpu(device, adapter, describeAdapter(adapter));
  if (gpu.features.subgroupMatrix) await probeSubgroupMatrixSyntax(device);
  return gpu;
}

let shared: Promise<Gpu> | null = null;

/** The process-wide Gpu (created on first use). */
export function getGpu(): Promise<Gpu> {
  shared ??= createGpu().catch((e) => {
    shared = null;
    throw e;
  });
  return shared;
}
