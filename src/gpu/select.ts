/**
 * Choosing one GPU of several (`animgs worker --gpu ID`, `ANIMGS_GPU`): the pure part, with no Node or Dawn calls.
 *
 * Dawn's Node binding (npm `webgpu`) offers one adapter per instance: `requestAdapter()` takes the first adapter the
 * Vulkan loader lists (discrete GPUs first, then by PCI bus), or with the instance flag `adapter=NAME` the first whose
 * device name contains NAME; a NAME that matches none makes it reject with the list of adapters it saw
 * ("Available adapters:\n * backend: 'vulkan', name: '...'"), which is how we list them. So:
 *  - a GPU whose name no earlier adapter shares is opened by `adapter=<its name>`;
 *  - among identical GPUs (same name, e.g. eight H200s) a name cannot tell them apart, and neither can the loader's
 *    own filters (VK_LOADER_DEVICE_SELECT, VK_LOADER_DEVICE_ID_FILTER match vendor and device ids, which identical
 *    GPUs share). Mesa's device-select Vulkan layer can: `DRI_PRIME=pci-DDDD_BB_DD_F!` keeps only the device at that
 *    PCI address (with any vendor's driver, NVIDIA's included, through VK_EXT_pci_bus_info). CUDA_VISIBLE_DEVICES
 *    means nothing to Vulkan.
 * The Node side (src/cli/gpu.ts) lists the adapters, asks the layer for PCI addresses when needed, and hands the
 * result to src/gpu/adapter.ts (`setDawnChoice`).
 */
import { InputError } from '../io/errors.js';

export interface AdapterEntry {
  backend: string;
  name: string;
}

/** A device as Mesa's device-select layer lists it (`MESA_VK_DEVICE_SELECT=list`). */
export interface LayerDevice {
  index: number;
  vendorId: number;
  deviceId: number;
  name: string;
  type: string;
  /** dddd:bb:dd.f, when the driver reports its PCI address */
  pci?: string;
}

/** What the Dawn instance is created with: extra `create()` flags and environment for the Vulkan loader/layers. */
export interface DawnChoice {
  flags: string[];
  env: Record<string, string>;
  /** e.g. `1 "NVIDIA H200" (pci 0000:41:00.0)`, for logs */
  label: string;
}

export type GpuTarget =
  { kind: 'index'; index: number; name: string; occurrence: number; identical: number } | { kind: 'pci'; pci: string };

/** Dawn's rejection message → the adapters it saw, in its order. */
export function parseAdapterList(message: string): AdapterEntry[] {
  const out: AdapterEntry[] = [];
  for (const m of message.matchAll(/^\s*\* backend: '([^']*)', name: '(.*)'\s*$/gm))
    out.push({ backend: m[1]!, name: m[2]! });
  return out;
}

/** The lines `  GPU 0: 10de:2335 "NVIDIA H200" discrete GPU 0000:18:00.0` of Mesa's device-select layer. */
export function parseLayerList(text: string): LayerDevice[] {
  const out: LayerDevice[] = [];
  const re =
    /^\s*GPU (\d+): ([0-9a-f]+):([0-9a-f]+) "(.*)" (.*?)(?: ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]))?\s*$/gim;
  for (const m of text.matchAll(re)) {
    out.push({
      index: Number(m[1]),
      vendorId: parseInt(m[2]!, 16),
      deviceId: parseInt(m[3]!, 16),
      name: m[4]!,
      type: m[5]!,
      ...(m[6] ? { pci: m[6].toLowerCase() } : {}),
    });
  }
  return out;
}

/** `pci:0000:41:00.0`, `0000:41:00.0` or `41:00.0` → `0000:41:00.0`; anything else → null. */
export function parsePciAddress(id: string): string | null {
  const m = /^(?:pci:)?(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(id.trim());
  if (!m) return null;
  return `${(m[1] ?? '0000').toLowerCase()}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}.${m[4]}`;
}

/** The environment that makes Mesa's device-select layer show the loader only the device at `pci`. */
export function layerSelectEnv(pci: string): Record<string, string> {
  const [dom, bus, rest] = pci.split(':') as [string, string, string];
  const [dev, fn] = rest.split('.') as [string, string];
  return { DRI_PRIME: `pci-${dom}_${bus}_${dev}_${fn}!`, MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' };
}

export function describeAdapters(adapters: readonly AdapterEntry[]): string {
  if (!adapters.length) return 'no adapters seen';
  return `adapters seen: ${adapters.map((a, i) => `${i} "${a.name}" (${a.backend})`).join(', ')}`;
}

/** A selection error: one line (a user's mistake, so the CLI and the queue treat it as such). */
export class GpuSelectError extends InputError {
  constructor(id: string, why: string, adapters: readonly AdapterEntry[]) {
    super(`--gpu ${id}: ${why}; ${describeAdapters(adapters)}`);
  }
}

/**
 * `--gpu ID` against the adapters Dawn lists: an index (0, 1, ...), a PCI address (`pci:0000:41:00.0`), or a part of
 * an adapter's name (case-insensitive; the first adapter that has it).
 */
export function resolveGpuId(id: string, adapters: readonly AdapterEntry[]): GpuTarget {
  const text = id.trim();
  if (!text) throw new GpuSelectError(JSON.stringify(id), 'empty', adapters);
  const pci = parsePciAddress(text);
  if (pci) return { kind: 'pci', pci };
  let index: number;
  if (/^\d+$/.test(text)) {
    index = Number(text);
    if (index >= adapters.length) {
      throw new GpuSelectError(text, `no adapter ${index} (${adapters.length} seen)`, adapters);
    }
  } else {
    const lower = text.toLowerCase();
    index = adapters.findIndex((a) => a.name.toLowerCase().includes(lower));
    if (index < 0) throw new GpuSelectError(text, 'no adapter has that in its name', adapters);
  }
  const name = adapters[index]!.name;
  const same = adapters.map((a, i) => (a.name === name ? i : -1)).filter((i) => i >= 0);
  return { kind: 'index', index, name, occurrence: same.indexOf(index), identical: same.length };
}

/**
 * The Dawn flag that opens adapter `index` by name, or null when an earlier adapter's name contains its name (Dawn
 * takes the first adapter whose name contains the flag's text: identical GPUs need the layer instead).
 */
export function adapterFlag(adapters: readonly AdapterEntry[], index: number): string | null {
  const name = adapters[index]!.name;
  const first = adapters.findIndex((a) => a.name.includes(name));
  return first === index ? `adapter=${name}` : null;
}
