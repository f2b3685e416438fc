import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { exclusiveScan, radixSort, Scratch, sumU32 } from '../../src/splat/sort.js';
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

  it('radix sort beyond 4M keys (the histogram table needs a multi-level scan)', async () => {
    const gpu = await getGpu();
    const scratch = new Scratch(gpu);
    const n = 4_200_001; // 4,102 blocks: 1,026 table segments > 1,024
    const keys = new Uint32Array(n);
    let st = 99;
    for (let i = 0; i < n; i++) keys[i] = (st = (Math.imul(st, 1664525) + 1013904223) >>> 0) >>> 23; // 9 bits
    const b = {
      keysA: gpu.bufferFrom(keys),
      valsA: gpu.bufferFrom(Uint32Array.from({ length: n }, (_, i) => i)),
      keysB: gpu.pool.acquire(n * 4),
      valsB: gpu.pool.acquire(n * 4),
    };
    const r = radixSort(gpu, scratch, b, n, 9);
    const k = new Uint32Array(await gpu.read(r.keys, 0, n * 4));
    const v = new Uint32Array(await gpu.read(r.vals, 0, n * 4));
    let bad = 0;
    for (let i = 1; i < n; i++) if (k[i - 1]! > k[i]! || (k[i - 1] === k[i] && v[i - 1]! > v[i]!)) bad++;
    for (let i = 0; i < n; i += 997) if (keys[v[i]!] !== k[i]) bad++;
    expect(bad).toBe(0);
    for (const x of Object.values(b)) gpu.pool.release(x);
    scratch.release();
  });

  it('the atomic sum', async () => {
    const gpu = await getGpu();
    const rand = seededRandom(4);
    for (const n of [1, 4095, 4096, 4097, 10_001]) {
      const x = Uint32Array.from({ length: n }, () => Math.floor(rand() * 9));
      const inp = gpu.bufferFrom(x);
      const sum = gpu.pool.acquire(16);
      gpu.upload(sum, new Uint32Array([123]));
      sumU32(gpu, inp, n, sum);
      const tot = new Uint32Array(await gpu.read(sum, 0, 4))[0];
      expect(tot).toBe(x.reduce((a, b) => a + b, 0));
      for (const b of [inp, sum]) gpu.pool.release(b);
    }
  });

  it('radix sort is stable and sorts by the low bits; with identity values it returns the permutation', async () => {
    const gpu = await getGpu();
    const scratch = new Scratch(gpu);
    const rand = seededRandom(5);
    for (const [n, bits, identity] of [
      [1, 4, true],
      [2, 4],
      [37, 32, true],
      [3001, 13, true],
      [37, 32],
      [3001, 13],
      [1024, 9],
      [1025, 14],
      [5000, 17],
      [20000, 32],
    ] as Array<[number, number, boolean?]>) {
      const keys = Uint32Array.from({ length: n }, () => Math.floor(rand() * 2 ** bits) >>> 0);
      // Many ties to check stability.
      if (bits < 32) for (let i = 0; i < n; i += 3) keys[i] = 5;
      const vals = Uint32Array.from({ length: n }, (_, i) => i);
      const b = {
        keysA: gpu.bufferFrom(keys),
        // with identity the sort must not read the values: give it garbage
        valsA: gpu.bufferFrom(identity ? vals.map(() => 0xdeadbeef) : vals),
        keysB: gpu.pool.acquire(n * 4),
        valsB: gpu.pool.acquire(n * 4),
      };
      const r = radixSort(gpu, scratch, b, n, bits, 'sort', identity ?? false);
      const k = new Uint32Array(await gpu.read(r.keys, 0, n * 4));
      const v = new Uint32Array(await gpu.read(r.vals, 0, n * 4));
      const order = Array.from(vals).sort((a, c) => keys[a]! - keys[c]! || a - c);
      let bad = 0;
      for (let i = 0; i < n; i++) if (v[i] !== order[i] || k[i] !== keys[order[i]!]) bad++;
      expect(bad, `${n} keys, ${bits} bits${identity ? ', identity' : ''}`).toBe(0);
      for (const x of Object.values(b)) gpu.pool.release(x);
    }
    scratch.release();
  });
});
