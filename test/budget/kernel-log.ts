/**
 * Setup file (vitest.config.ts), idle unless ANIMGS_KERNEL_LOG names a directory: then every compute pipeline a test
 * creates (a WGSL source the runtime has not compiled before in that worker) is logged to <dir>/kernels.jsonl as
 * { file, test, name, bytes, hash }, and its source written to <dir>/wgsl/<hash>.wgsl. On lavapipe almost all test
 * time is spent compiling these at their first dispatch, so the count and size of the kernels a test file compiles
 * measure its cost independently of the machine's load; `node test/budget/kernel-cost.mjs <dir>` compiles each
 * logged source alone and reports CPU seconds per test file, test and kernel. Test files share their worker's
 * device (vitest.config.ts: isolate false), so a kernel is logged for the first test of its worker that compiles it;
 * to see everything one file compiles, run that file alone.
 *
 *   ANIMGS_KERNEL_LOG=/tmp/klog MESA_SHADER_CACHE_DISABLE=true npx vitest run test/tensor
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { Gpu } from '../../src/gpu/index.js';

const dir = process.env.ANIMGS_KERNEL_LOG;
const PATCHED = Symbol.for('animgs.kernelLog');
const proto = Gpu.prototype as unknown as Record<symbol, boolean> & { kernel: Gpu['kernel'] };
if (dir && !proto[PATCHED]) {
  proto[PATCHED] = true;
  mkdirSync(join(dir, 'wgsl'), { recursive: true });
  const seen = new WeakMap<Gpu, Set<string>>();
  const orig = proto.kernel;
  proto.kernel = function (this: Gpu, name: string, source: string) {
    let s = seen.get(this);
    if (!s) seen.set(this, (s = new Set()));
    if (!s.has(source)) {
      s.add(source);
      const hash = createHash('sha1').update(source).digest('hex').slice(0, 16);
      const f = join(dir, 'wgsl', `${hash}.wgsl`);
      if (!existsSync(f)) writeFileSync(f, source);
      const st = expect.getState();
      const file = st.testPath ? relative(process.cwd(), st.testPath) : '?';
      const line = { file, test: st.currentTestName ?? '(file setup)', name, bytes: source.length, hash };
      appendFileSync(join(dir, 'kernels.jsonl'), JSON.stringify(line) + '\n');
    }
    return orig.call(this, name, source);
  };
}
