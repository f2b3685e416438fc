#!/usr/bin/env node
// Makes sure this machine has a WebGPU adapter before tests or the demo run.
// - A working adapter (a GPU, or lavapipe already installed): installs nothing, exits 0.
// - No adapter, root on Debian 12: installs Mesa's lavapipe (mesa-vulkan-drivers) from bookworm-backports,
//   since Dawn rejects the Mesa 22 of Debian 12 itself; then checks again.
// - Otherwise: prints the exact commands to run and exits 1.
// The probe runs in a child process so a crashing driver cannot take this script down.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const PROBE = `
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
const a = await gpu.requestAdapter();
if (!a) { console.log('none'); process.exit(2); }
console.log([a.info.vendor, a.info.device, a.info.description].filter(Boolean).join(' / '));
process.exit(0);
`;

function probe() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    timeout: 60_000,
  });
  return r.status === 0 ? r.stdout.trim().split('\n').pop() : null;
}

const SOURCES = '/etc/apt/sources.list.d/animgs-bookworm-backports.list';
const BACKPORTS = 'deb http://deb.debian.org/debian bookworm-backports main';
const COMMANDS = [
  `echo '${BACKPORTS}' | sudo tee ${SOURCES}`,
  'sudo apt-get update',
  'sudo apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
];

const found = probe();
if (found) {
  if (!process.env.ANIMGS_QUIET) console.log(`WebGPU adapter: ${found}`);
  process.exit(0);
}

const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
const debian12 = /VERSION_CODENAME=bookworm/.test(osRelease);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!debian12 || !root) {
  console.error('No WebGPU adapter found (no GPU driver, and no CPU Vulkan driver).');
  if (debian12) {
    console.error("Install Mesa's lavapipe (a Vulkan driver on the CPU) with:\n  " + COMMANDS.join('\n  '));
  } else {
    console.error(
      'Install a Vulkan driver: your GPU vendor\'s, or Mesa\'s lavapipe (package "mesa-vulkan-drivers", Mesa 23 or newer; ' +
        'Debian 12 needs it from bookworm-backports).',
    );
  }
  process.exit(1);
}

console.log("No WebGPU adapter found: installing Mesa's lavapipe from bookworm-backports (CPU Vulkan driver)...");
const run = (cmd, args) =>
  execFileSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
try {
  if (!existsSync(SOURCES)) writeFileSync(SOURCES, BACKPORTS + '\n');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '-t', 'bookworm-backports', 'mesa-vulkan-drivers']);
} catch (e) {
  console.error(`Installing lavapipe failed: ${e.message}\nRun by hand:\n  ${COMMANDS.join('\n  ')}`);
  process.exit(1);
}
const after = probe();
if (!after) {
  console.error('lavapipe was installed but still no WebGPU adapter works; check `vulkaninfo --summary`.');
  process.exit(1);
}
console.log(`WebGPU adapter: ${after}`);
