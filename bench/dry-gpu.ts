/**
 * A stand-in WebGPU device with an H200's features and limits that runs nothing: buffers are sizes, pipelines and
 * bind groups are empty objects, submissions are dropped. A Gpu made on it records a whole training step at the
 * reference's size on any machine in seconds, through the same code paths (tensor-core convolutions, pool, capture)
 * as on the H200, so the buffer pool's figures are the GPU's figures. Values are garbage: nothing may read back.
 */
import { Gpu } from '../src/gpu/index.js';
import type { AdapterSummary } from '../src/gpu/index.js';

export function dryGpu(census?: Map<string, number>): Gpu {
  const noop = () => {};
  // `census`: dispatches by pipeline label, plus the commands that end a compute pass ('(copy)', '(clear)')
  let current = '';
  const count = (name: string) => census?.set(name, (census.get(name) ?? 0) + 1);
  const pass = {
    setPipeline: (p: { label?: string }) => (current = p.label ?? '?'),
    setBindGroup: noop,
    dispatchWorkgroups: () => count(current),
    dispatchWorkgroupsIndirect: () => count(current),
    end: noop,
  };
  const device = {
    features: new Set(['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix', 'timestamp-query']),
    limits: {
      maxBufferSize: 2 ** 40,
      maxStorageBufferBindingSize: 2 ** 31 - 4,
      maxComputeWorkgroupStorageSize: 49152,
      maxComputeInvocationsPerWorkgroup: 1024,
      maxComputeWorkgroupsPerDimension: 65535,
      maxStorageBuffersPerShaderStage: 8,
      minStorageBufferOffsetAlignment: 256,
      minUniformBufferOffsetAlignment: 256,
      maxTextureDimension2D: 16384,
    },
    lost: new Promise<never>(noop),
    addEventListener: noop,
    createBuffer: (d: { size: number; label?: string; usage?: number }) => ({
      size: d.size,
      usage: d.usage ?? 0,
      label: d.label ?? '',
      destroy: noop,
      mapAsync: () => Promise.reject(new Error('dry device: nothing can be read back')),
    }),
    createShaderModule: () => ({ getCompilationInfo: async () => ({ messages: [] }) }),
    createBindGroupLayout: () => ({}),
    createPipelineLayout: () => ({}),
    createComputePipeline: (d: { label?: string }) => ({ label: d.label ?? '' }),
    createBindGroup: () => ({}),
    createCommandEncoder: () => ({
      beginComputePass: () => pass,
      copyBufferToBuffer: () => count('(copy)'),
      clearBuffer: () => count('(clear)'),
      finish: () => ({}),
    }),
    queue: { writeBuffer: noop, submit: noop, onSubmittedWorkDone: async () => {} },
    destroy: noop,
  } as unknown as GPUDevice;
  const info: AdapterSummary = {
    vendor: 'nvidia',
    architecture: '',
    device: 'nvidia-h200 (dry: no kernels run)',
    description: 'stand-in device',
    kind: 'gpu',
    runtime: 'dawn',
    subgroupMinSize: 32,
    subgroupMaxSize: 32,
    subgroupMatrixConfigs: ['f16→f32 16×16×16'],
  };
  return new Gpu(device, {} as GPUAdapter, info);
}
