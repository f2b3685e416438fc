/**
 * `animgs worker --gpu ID` / ANIMGS_GPU (src/gpu/select.ts, src/cli/gpu.ts): the pure choice against canned adapter
 * lists (several identical GPUs, Mesa's layer listing with PCI addresses), and the real thing on this machine's
 * adapter (lavapipe): `--gpu 0` and a name work, a missing index or name fails in one line listing the adapters, and
 * two identical adapters (lavapipe's driver listed twice) cannot be told apart without PCI addresses. No Redis:
 * the worker checks its GPU before it connects.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adapterFlag,
  layerSelectEnv,
  parseAdapterList,
  parseLayerList,
  parsePciAddress,
  resolveGpuId,
  type AdapterEntry,
} from '../../src/gpu/select.js';
import { gpuEnv } from '../../src/queue/worker.js';
import { runCli } from './cli.js';

const h200s: AdapterEntry[] = Array.from({ length: 4 }, () => ({ backend: 'vulkan', name: 'NVIDIA H200' }));
const mixed: AdapterEntry[] = [
  { backend: 'vulkan', name: 'NVIDIA H200 NVL' },
  { backend: 'vulkan', name: 'NVIDIA H200' },
  { backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
];

describe('--gpu: the choice', () => {
  it("reads Dawn's adapter list and Mesa's layer list", () => {
    const msg =
      "no suitable backends found\nAvailable adapters:\n * backend: 'vulkan', name: 'NVIDIA H200'\n" +
      " * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'";
    expect(parseAdapterList(msg)).toEqual([
      { backend: 'vulkan', name: 'NVIDIA H200' },
      { backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
    ]);
    const layer =
      'selectable devices:\n  GPU 0: 10de:2335 "NVIDIA H200" discrete GPU 0000:18:00.0\n' +
      '  GPU 1: 10de:2335 "NVIDIA H200" discrete GPU 0000:2a:00.0\n  GPU 2: 10005:0 "llvmpipe (LLVM 15.0.6, 256 bits)" CPU\n';
    expect(parseLayerList(layer)).toEqual([
      { index: 0, vendorId: 0x10de, deviceId: 0x2335, name: 'NVIDIA H200', type: 'discrete GPU', pci: '0000:18:00.0' },
      { index: 1, vendorId: 0x10de, deviceId: 0x2335, name: 'NVIDIA H200', type: 'discrete GPU', pci: '0000:2a:00.0' },
      { index: 2, vendorId: 0x10005, deviceId: 0, name: 'llvmpipe (LLVM 15.0.6, 256 bits)', type: 'CPU' },
    ]);
  });

  it('an index, a PCI address or a part of a name', () => {
    expect(resolveGpuId('2', h200s)).toEqual({
      kind: 'index',
      index: 2,
      name: 'NVIDIA H200',
      occurrence: 2,
      identical: 4,
    });
    expect(resolveGpuId('h200', mixed)).toMatchObject({ kind: 'index', index: 0, identical: 1 });
    expect(resolveGpuId('llvmpipe', mixed)).toMatchObject({ kind: 'index', index: 2 });
    expect(resolveGpuId('pci:0000:2A:00.0', h200s)).toEqual({ kind: 'pci', pci: '0000:2a:00.0' });
    expect(parsePciAddress('41:00.0')).toBe('0000:41:00.0');
    expect(parsePciAddress('4')).toBeNull();
    expect(layerSelectEnv('0000:2a:00.0')).toEqual({
      DRI_PRIME: 'pci-0000_2a_00_0!',
      MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1',
    });
  });

  it('one line listing the adapters when nothing matches', () => {
    expect(() => resolveGpuId('4', h200s)).toThrow(
      '--gpu 4: no adapter 4 (4 seen); adapters seen: 0 "NVIDIA H200" (vulkan), 1 "NVIDIA H200" (vulkan), 2 "NVIDIA H200" (vulkan), 3 "NVIDIA H200" (vulkan)',
    );
    expect(() => resolveGpuId('A100', mixed)).toThrow(
      /^--gpu A100: no adapter has that in its name; adapters seen: 0 /,
    );
  });

  it("Dawn's adapter= flag only where no earlier name contains this one", () => {
    expect(adapterFlag(h200s, 0)).toBe('adapter=NVIDIA H200');
    expect(adapterFlag(h200s, 1)).toBeNull(); // identical: the layer and a PCI address
    expect(adapterFlag(mixed, 0)).toBe('adapter=NVIDIA H200 NVL');
    expect(adapterFlag(mixed, 1)).toBeNull(); // "NVIDIA H200 NVL" contains "NVIDIA H200"
    expect(adapterFlag(mixed, 2)).toBe('adapter=llvmpipe (LLVM 15.0.6, 256 bits)');
  });

  it("the worker passes the ID to its jobs (an index also to CUDA's tools)", () => {
    expect(gpuEnv(undefined)).toEqual({});
    expect(gpuEnv('1')).toEqual({ ANIMGS_GPU: '1', CUDA_VISIBLE_DEVICES: '1' });
    expect(gpuEnv('H200')).toEqual({ ANIMGS_GPU: 'H200' });
  });
});

describe('--gpu on this machine (lavapipe)', () => {
  const root = mkdtempSync(join(tmpdir(), 'animgs-gpu-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ANIMGS_NO_FILTER: '1' };
  // a port nothing listens on: the worker gets past its GPU check, then fails to connect (3 s)
  const worker = (gpu: string, e: NodeJS.ProcessEnv = env) =>
    runCli(['worker', '--gpu', gpu, '--redis', 'redis://127.0.0.1:9'], { env: e, cwd: root });

  it("an index or a name that is there passes the worker's check; one that is not fails in one line", async () => {
    const [ok, named, missing, nomatch] = await Promise.all([
      worker('0'),
      worker('llvmpipe'),
      worker('5'),
      worker('A100'),
    ]);
    expect(ok.stdout).toMatch(/^gpu: 0 "llvmpipe/m);
    expect(ok.stderr).toMatch(/animgs: .*redis/i); // then the server it cannot reach
    expect(named.stdout).toMatch(/^gpu: 0 "llvmpipe/m);
    for (const [r, why] of [
      [missing, 'no adapter 5 \\(1 seen\\)'],
      [nomatch, 'no adapter has that in its name'],
    ] as const) {
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('animgs:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^animgs: --gpu \\w+: ${why}; adapters seen: 0 "llvmpipe`));
      expect(r.stderr).not.toContain('internal error');
      expect(r.stdout).not.toContain('gpu:');
    }
  }, 60_000);

  it('a command opens the adapter ANIMGS_GPU names, and fails in one line on one that is not there', async () => {
    const [ok, bad] = await Promise.all([
      runCli(['doctor'], { env: { ...env, ANIMGS_GPU: '0' }, cwd: root }),
      runCli(['doctor'], { env: { ...env, ANIMGS_GPU: '3' }, cwd: root }),
    ]);
    expect(ok.stdout).toMatch(/adapter:\s+mesa llvmpipe/);
    expect(bad.stdout + bad.stderr).toMatch(/--gpu 3: no adapter 3 \(1 seen\); adapters seen: 0 "llvmpipe/);
  }, 60_000);

  const lvp = '/usr/share/vulkan/icd.d/lvp_icd.json';
  it.skipIf(!existsSync(lvp))(
    'two identical adapters: the first by index; the second needs PCI addresses',
    async () => {
      const copy = join(root, 'lvp-again.json');
      copyFileSync(lvp, copy);
      const two = { ...env, VK_DRIVER_FILES: `${lvp}:${copy}` };
      const [first, second] = await Promise.all([worker('0', two), worker('1', two)]);
      expect(first.stdout).toMatch(/^gpu: 0 "llvmpipe/m);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(
        /animgs: --gpu 1: adapter 1 is one of 2 named "llvmpipe[^"]*", and (their Vulkan driver reports no PCI address|telling identical GPUs apart needs Mesa's device-select)/,
      );
    },
    60_000,
  );
});
