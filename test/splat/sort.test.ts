import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { exclusiveScan, radixSort, recordCount, REC, Scratch, sortConfig } from '../../src/splat/sort.js';
import { seededRandom } from '../helpers/numeric.js';

describe('splat sort building blocks', () => {
  it('exclusive scan over several levels and odd sizes', async () => {
    const gpu = await getGpu();
    const scratch = new Scratch(gpu);
    const rand = seededRandom(3);
    for (const n of [1, 7, 1024, 1025, 5000, 1024 * 1024 + 3]) {
      const x = Uint32Array.from({ length: n }, () => Math.floor(rand() * 5));
      const inp = gpu.bufferFrom(x);
      const out = gpu.pool.acquire(n * 4);
      const total = gpu.pool.acquire(16);
      exclusiveScan(gpu, scratch, inp, out, n, total, 1);
      const got = new Uint32Array(await gpu.read(out, 0, n * 4));
      const tot = new Uint32Array(await gpu.read(total, 4, 4))[0];
      let s = 0;
      let bad = 0;
      for (let i = 0; i < n; i++) {
        if (got[i] !== s) bad++;
        s += x[i]!;
      }
      expect(bad).toBe(0);
      expect(tot).toBe(s);
      for (const b of [inp, out, total]) gpu.pool.release(b);
    }
    scratch.release();
  });

  for (const sub of [true, false]) {
    it(`radix sort is stable and sorts by the low bits (${sub ? 'default digits' : '4-bit digits'})`, async () => {
      const gpu = await getGpu();
      const cfg = sortConfig(gpu, sub);
      if (!sub) expect(cfg.digitBits).toBe(4);
      const scratch = new Scratch(gpu);
      const rand = seededRandom(5);
      for (const [n, bits] of [
        [2, 4],
        [37, 32],
        [3001, 13],
        [20000, 32],
        [9000, 14],
      ] as const) {
        const keys = Uint32Array.from({ length: n }, () => Math.floor(rand() * 2 ** bits) >>> 0);
        // Many ties to check stability.
        if (bits < 32) for (let i = 0; i < n; i += 3) keys[i] = 5;
        const vals = Uint32Array.from({ length: n }, (_, i) => i);
        const b = {
          keysA: gpu.bufferFrom(keys),
          valsA: gpu.bufferFrom(vals),
          keysB: gpu.pool.acquire(n * 4),
          valsB: gpu.pool.acquire(n * 4),
        };
        const r = radixSort(gpu, scratch, b, n, bits, 'sort', cfg);
        const k = new Uint32Array(await gpu.read(r.keys, 0, n * 4));
        const v = new Uint32Array(await gpu.read(r.vals, 0, n * 4));
        const order = Array.from(vals).sort((a, c) => keys[a]! - keys[c]! || a - c);
        let bad = 0;
        for (let i = 0; i < n; i++) if (v[i] !== order[i] || k[i] !== keys[order[i]!]) bad++;
        expect(bad).toBe(0);
        for (const x of Object.values(b)) gpu.pool.release(x);
      }
      scratch.release();
    });
  }

  it('radix sort of a count held on the GPU (indirect grids, clamped to the capacity)', async () => {
    const gpu = await getGpu();
    const cfg = sortConfig(gpu);
    const scratch = new Scratch(gpu);
    const rand = seededRandom(8);
    const cap = 10000;
    for (const [raw, bits] of [
      [6001, 14],
      [cap + 77, 20],
      [0, 14],
    ] as const) {
      const n = Math.min(raw, cap);
      const keys = Uint32Array.from({ length: cap }, () => Math.floor(rand() * 2 ** bits) >>> 0);
      for (let i = 0; i < cap; i += 4) keys[i] = 9;
      const vals = Uint32Array.from({ length: cap }, (_, i) => i);
      const b = {
        keysA: gpu.bufferFrom(keys),
        valsA: gpu.bufferFrom(vals),
        keysB: gpu.pool.acquire(cap * 4),
        valsB: gpu.pool.acquire(cap * 4),
      };
      const src = gpu.bufferFrom(new Uint32Array([123, raw]));
      const meta = gpu.pool.acquire(2 * REC.size * 4);
      recordCount(gpu, meta, REC.size, { buffer: src, index: 1 }, cap, cfg);
      const r = radixSort(gpu, scratch, b, { max: cap, meta, base: REC.size, indirect: true }, bits, 'dyn', cfg);
      const rec = new Uint32Array(await gpu.read(meta, REC.size * 4, REC.size * 4));
      expect(rec[REC.n]).toBe(n);
      expect(rec[REC.raw]).toBe(raw);
      const k = new Uint32Array(await gpu.read(r.keys, 0, cap * 4));
      const v = new Uint32Array(await gpu.read(r.vals, 0, cap * 4));
      const order = Array.from(vals.subarray(0, n)).sort((a, c) => keys[a]! - keys[c]! || a - c);
      let bad = 0;
      for (let i = 0; i < n; i++) if (v[i] !== order[i] || k[i] !== keys[order[i]!]) bad++;
      expect(bad).toBe(0);
      for (const x of [...Object.values(b), src, meta]) gpu.pool.release(x);
    }
    scratch.release();
  });
});
