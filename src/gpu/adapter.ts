/**
 * Finding an adapter and opening a device: Dawn (npm `webgpu`) in Node, `navigator.gpu` in a browser.
 * The device gets the adapter's maximum limits, except the storage buffers per shader stage (STORAGE_BUFFERS_PER_STAGE),
 * and every feature in WANTED_FEATURES that the adapter has.
 */
import { dawnFlags, WANTED_FEATURES } from './flags.js';
import { NoAdapterError } from './errors.js';
import { parseAdapterList, type AdapterEntry, type DawnChoice } from './select.js';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'cpu' for software adapters (lavapipe, SwiftShader), else 'gpu'. */
  kind: 'cpu' | 'gpu';
  /** Where the adapter came from: 'dawn' (Node) or 'browser'. */
  runtime: 'dawn' | 'browser';
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /** Subgroup-matrix configurations (component → result type, M×N×K), empty when the feature is absent. */
  subgroupMatrixConfigs: string[];
}

/**
 * Storage buffers a kernel may bind: WebGPU's default limit, all a browser grants without asking (Chromium allows
 * 10 on some adapters, native Vulkan far more). The device never asks for more, so a kernel that binds more fails
 * in Node and in the test suite exactly as it would in a browser (Gpu.kernel says which).
 */
export const STORAGE_BUFFERS_PER_STAGE = 8;

export interface DeviceRequest {
  /** Ask only for these optional features (default: all of WANTED_FEATURES that the adapter has). */
  features?: readonly string[];
  powerPreference?: GPUPowerPreference;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
let dawnGpu: Promise<GPU> | null = null;
let dawnChoice: (() => Promise<DawnChoice | null>) | null = null;

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
async function dawnModule(): Promise<DawnModule> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // Mesa's lavapipe warns without it
  const mod = (await import('webgpu')) as unknown as DawnModule;
  Object.assign(globalThis, mod.globals);
  return mod;
}

/**
 * Node: how the process's Dawn instance is to be made (which adapter: src/gpu/select.ts), decided on first use by
 * `choose` (the CLI's reading of ANIMGS_GPU). Must come before the first device; a browser ignores it.
 */
export function setDawnChoice(choose: () => Promise<DawnChoice | null>): void {
  if (dawnGpu) throw new Error('setDawnChoice: the WebGPU entry point already exists');
  dawnChoice = choose;
}

/**
 * Node: the adapters Dawn sees (Vulkan on Linux), in the order it would take them, under the current environment
 * (a throwaway instance whose `adapter=` flag matches nothing, so Dawn answers with its list).
 */
export async function listAdapters(): Promise<AdapterEntry[]> {
  if (!isNode) throw new NoAdapterError('listing adapters needs Node (Dawn)');
  const mod = await dawnModule();
  try {
    await mod.create(['adapter=\u0001none']).requestAdapter({ powerPreference: 'high-performance' });
    return [];
  } catch (e) {
    return parseAdapterList(e instanceof Error ? e.message : String(e));
  }
}

/**
 * The one subgroup size every compute shader on this adapter runs with, for kernels generated for a known size: the
 * adapter's when its minimum and maximum agree, 32 on NVIDIA (always 32, whatever the adapter reports), else 0.
 */
export function fixedSubgroupSize(info: AdapterSummary): number {
  const { subgroupMinSize: min, subgroupMaxSize: max } = info;
  return min > 0 && min === max ? min : /nvidia/i.test(info.vendor) ? 32 : 0;
}

/** The WebGPU entry point of this JavaScript runtime; in Node one Dawn instance per process. */
export async function webgpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!isNode && nav?.gpu) return nav.gpu;
  if (!isNode) throw new NoAdapterError('this browser has no WebGPU (navigator.gpu is missing)');
  dawnGpu ??= (async () => {
    const choice = dawnChoice ? await dawnChoice() : null;
    const mod = await dawnModule();
    if (choice) Object.assign(process.env, choice.env); // read by the Vulkan loader's layers at enumeration
    return mod.create([...dawnFlags(), ...(choice?.flags ?? [])]);
  })().catch((e) => {
    dawnGpu = null;
    throw e;
  });
  return dawnGpu;
}

export async function requestAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<GPUAdapter> {
  const entry = await webgpuEntry();
  const adapter = await entry.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new NoAdapterError(
      'no WebGPU adapter found. On a machine without a GPU install Mesa\'s lavapipe: run "node scripts/ensure-adapter.mjs" ' +
        '(as root on Debian 12 it installs mesa-vulkan-drivers from bookworm-backports; otherwise it prints the command).',
    );
  }
  return adapter;
}

export async function requestDevice(adapter: GPUAdapter, req: DeviceRequest = {}): Promise<GPUDevice> {
  const wanted = req.features ?? WANTED_FEATURES;
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  // The vertex and fragment limits too: Dawn raises the per-stage limit to the largest of the three.
  for (const key of [
    'maxStorageBuffersPerShaderStage',
    'maxStorageBuffersInVertexStage',
    'maxStorageBuffersInFragmentStage',
  ]) {
    if (key in requiredLimits) requiredLimits[key] = Math.min(requiredLimits[key]!, STORAGE_BUFFERS_PER_STAGE);
  }
  return adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'animgs' });
}

export function describeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
    isFallbackAdapter?: boolean;
    subgroupMatrixConfigs?: Array<{
      componentType: string;
      resultComponentType: string;
      M: number;
      N: number;
      K: number;
    }>;
  };
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const cpu = !!info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software|cpu/i.test(text);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    kind: cpu ? 'cpu' : 'gpu',
    runtime: isNode ? 'dawn' : 'browser',
    subgroupMinSize: info.subgroupMinSize ?? 0,
    subgroupMaxSize: info.subgroupMaxSize ?? 0,
    subgroupMatrixConfigs: (info.subgroupMatrixConfigs ?? []).map(
      (c) => `${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`,
    ),
  };
}
