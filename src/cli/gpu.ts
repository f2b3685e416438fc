/**
 * Which GPU this process's commands use: `ANIMGS_GPU` (set by `animgs worker --gpu ID` for its jobs, or by hand),
 * an adapter index, a PCI address (`pci:0000:41:00.0`) or a part of an adapter's name. The rules and why they are
 * so: src/gpu/select.ts; what works where: docs/queue.md "GPUs". The Node side is here: listing Dawn's adapters,
 * asking Mesa's device-select layer for PCI addresses, checking an address in sysfs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import {
  adapterFlag,
  GpuSelectError,
  layerSelectEnv,
  listAdapters,
  parseLayerList,
  resolveGpuId,
  setDawnChoice,
  type AdapterEntry,
  type DawnChoice,
  type LayerDevice,
} from '../gpu/index.js';

/** In a command's process: open the adapter ANIMGS_GPU names (on first GPU use; a bad ID fails there, in one line). */
export function useGpuFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  const id = env.ANIMGS_GPU;
  if (id !== undefined && id !== '') setDawnChoice(() => chooseGpu(id));
}

/** `--gpu ID` → how to make the Dawn instance that opens that adapter; a GpuSelectError (one line) when none. */
export async function chooseGpu(id: string): Promise<DawnChoice> {
  const adapters = await listAdapters();
  const t = resolveGpuId(id, adapters);
  if (t.kind === 'pci') {
    checkPciDevice(id, t.pci, adapters);
    return viaLayer(id, t.pci, adapters, `pci ${t.pci}`);
  }
  const label = `${t.index} "${t.name}"`;
  const flag = adapterFlag(adapters, t.index);
  if (flag) return { flags: [flag], env: {}, label };
  // identical GPUs: the PCI address of the occurrence-th of them, as Mesa's layer lists them (the loader's order)
  const why = `adapter ${t.index} is one of ${t.identical} named "${t.name}"`;
  const devices = layerDevices();
  if (!devices) {
    throw new GpuSelectError(
      id,
      `${why}, and telling identical GPUs apart needs Mesa's device-select Vulkan layer, which is not installed ` +
        '(Debian: apt-get install mesa-vulkan-drivers)',
      adapters,
    );
  }
  const dev = devices.filter((d) => d.name === t.name)[t.occurrence];
  if (!dev?.pci) {
    throw new GpuSelectError(id, `${why}, and their Vulkan driver reports no PCI address to tell them apart`, adapters);
  }
  return viaLayer(id, dev.pci, adapters, `${label} (pci ${dev.pci})`);
}

/** Mesa's layer keeps only the device at `pci`: check that it is there and does (Dawn then sees one adapter). */
async function viaLayer(id: string, pci: string, before: AdapterEntry[], label: string): Promise<DawnChoice> {
  const env = layerSelectEnv(pci);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let after: AdapterEntry[];
  try {
    after = await listAdapters();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  if (before.length > 1 && after.length !== 1) {
    throw new GpuSelectError(
      id,
      "choosing by PCI address needs Mesa's device-select Vulkan layer, and the loader still lists every adapter " +
        '(not installed? Debian: apt-get install mesa-vulkan-drivers)',
      before,
    );
  }
  return { flags: [], env, label: after.length === 1 ? `${label} "${after[0]!.name}"` : label };
}

/** On Linux: a display controller must sit at `pci` (sysfs); elsewhere nothing to check. */
function checkPciDevice(id: string, pci: string, adapters: AdapterEntry[]): void {
  if (!existsSync('/sys/bus/pci/devices')) return;
  const dir = `/sys/bus/pci/devices/${pci}`;
  if (!existsSync(dir)) throw new GpuSelectError(id, `no PCI device at ${pci}`, adapters);
  let cls = '';
  try {
    cls = readFileSync(`${dir}/class`, 'utf8').trim();
  } catch {
    return;
  }
  if (!/^0x03/.test(cls))
    throw new GpuSelectError(id, `the PCI device at ${pci} is not a GPU (class ${cls})`, adapters);
}

/**
 * The devices Mesa's device-select layer lists (`MESA_VK_DEVICE_SELECT=list`, which prints them and exits), from a
 * child Node process that opens Dawn; null when the layer is not installed (nothing listed).
 */
function layerDevices(): LayerDevice[] | null {
  const webgpu = import.meta.resolve('webgpu');
  const code =
    `const m = await import(${JSON.stringify(webgpu)}); Object.assign(globalThis, m.globals);` +
    ` await m.create([]).requestAdapter(); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, MESA_VK_DEVICE_SELECT: 'list', XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const text = `${r.stderr ?? ''}\n${r.stdout ?? ''}`;
  if (!/selectable devices:/.test(text)) return null;
  return parseLayerList(text);
}
