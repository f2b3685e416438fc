/**
 * Headless Chromium for the browser tests: Debian's package through playwright-core (CHROMIUM_PATH overrides the
 * path); a test file skips itself with a message where it is missing.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** WebGPU on SwiftShader: compute and read-back (no canvas can be presented under these flags). */
export const WEBGPU_SWIFTSHADER_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** Warn once that a test file is skipped for want of Chromium (call at module level). */
export function warnIfNoChromium(what: string): void {
  if (!hasChromium) console.warn(`${what} skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

/** Launch it with the given WebGPU flags and the quiet defaults every test wants. */
export async function launchChromium(webgpuFlags: readonly string[]): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      ...webgpuFlags,
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      // a machine loaded by other work can take longer than the GPU watchdog allows to compile the kernels
      '--disable-gpu-watchdog',
    ],
  });
}
