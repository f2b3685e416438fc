import { describe, expect, it } from 'vitest';
import {
  getGpu,
  GpuTimer,
  KernelProfiler,
  grid1d,
  GRID_INDEX,
  parseBindings,
  sizeClass,
  WgslCompileError,
} from '../../src/gpu/index.js';

const ADD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
struct P { n: u32, scale: f32 }
@group(1) @binding(0) var<uniform> P_: P;
${GRID_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 64u);
  if (i >= P_.n) { return; }
  c[i] = (a[i] + b[i]) * P_.scale;
}`;

describe('gpu runtime', () => {
  it('runs a kernel with parameters and reads the result back', async () => {
    const gpu = await getGpu();
    const n = 1000 + 37;
    const a = Float32Array.from({ length: n }, (_, i) => i);
    const b = Float32Array.from({ length: n }, (_, i) => 2 * i + 1);
    const ba = gpu.bufferFrom(a);
    const bb = gpu.bufferFrom(b);
    const bc = gpu.pool.acquire(n * 4);
    const k = await gpu.compile('add', ADD);
    // Several dispatches with different parameters in one submission must each see their own parameters.
    for (const scale of [1, 2, 3]) {
      gpu.dispatch(
        k,
        [ba, bb, bc],
        grid1d(n, 64),
        new Uint32Array([n, new Uint32Array(new Float32Array([scale]).buffer)[0]!]),
      );
      gpu.copy(bc, 0, ba, 0, n * 4);
    }
    const out = await gpu.readF32(ba, n);
    for (let i = 0; i < n; i += 97) {
      const expected = (((i + 2 * i + 1) * 1 + 2 * i + 1) * 2 + 2 * i + 1) * 3;
      expect(out[i]).toBe(expected);
    }
    await gpu.sync();
    for (const x of [ba, bb, bc]) gpu.pool.release(x);
  });

  it('reports WGSL errors with the kernel name and line', async () => {
    const gpu = await getGpu();
    const bad = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1)\nfn main() {\n  x[0] = undefined_thing;\n}`;
    const err = await gpu.compile('broken_kernel', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WgslCompileError);
    expect((err as WgslCompileError).kernel).toBe('broken_kernel');
    expect((err as WgslCompileError).line).toBe(4);
    expect((err as Error).message).toMatch(/broken_kernel.*line 4/);
    // The failure also surfaces at the next sync, and is cleared after being thrown once.
    await expect(gpu.sync()).rejects.toThrow();
    await gpu.sync();
  });

  it('turns validation errors into thrown errors at sync', async () => {
    const gpu = await getGpu();
    const k = await gpu.compile('add', ADD);
    const tiny = gpu.device.createBuffer({ size: 4, usage: 0x80 });
    gpu.dispatch(k, [tiny, tiny, tiny], 1, new Uint32Array([1, 0])); // read and write aliasing one buffer
    await expect(gpu.sync()).rejects.toThrow(/add|aliasing|usage|writable/i);
    tiny.destroy();
  });

  it('pools buffers: no new allocation on reuse', async () => {
    const gpu = await getGpu();
    const before = gpu.pool.stats.created;
    for (let i = 0; i < 5; i++) {
      const x = gpu.pool.acquire(1000 + i * 4);
      gpu.pool.release(x);
    }
    expect(gpu.pool.stats.created - before).toBeLessThanOrEqual(1);
    expect(sizeClass(1000)).toBeGreaterThanOrEqual(1000);
    expect(sizeClass(1 << 20)).toBe(1 << 20);
    expect(sizeClass((1 << 20) + 1)).toBe((1 << 20) + (1 << 18));
  });

  it('parses the binding convention', () => {
    expect(parseBindings(ADD)).toEqual({ bindings: ['read', 'read', 'read_write'], hasParams: true });
    expect(() => parseBindings('@group(0) @binding(1) var<storage, read> x: array<f32>;')).toThrow(/dense/);
  });

  it('times work with timestamps or wall clock', async () => {
    const gpu = await getGpu();
    const timer = new GpuTimer(gpu);
    await timer.mark();
    const k = await gpu.compile('add', ADD);
    const n = 4096;
    const [a, b, c] = [gpu.pool.acquire(n * 4), gpu.pool.acquire(n * 4), gpu.pool.acquire(n * 4)];
    gpu.dispatch(k, [a!, b!, c!], grid1d(n, 64), new Uint32Array([n, 0]));
    await timer.mark();
    const [ms] = await timer.read();
    expect(ms).toBeGreaterThanOrEqual(0);
    timer.destroy();
    for (const x of [a!, b!, c!]) gpu.pool.release(x);
  });

  it('splits large 1-D grids', () => {
    expect(grid1d(100, 64)).toEqual([2, 1]);
    const [x, y] = grid1d(65535 * 64 * 3 + 5, 64);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y * 64).toBeGreaterThanOrEqual(65535 * 64 * 3 + 5);
  });

  it('hands out the oldest free buffer of a class, so a repeated step reuses the same buffers', async () => {
    const gpu = await getGpu();
    const step = () => {
      const a = gpu.pool.acquire(4096);
      const b = gpu.pool.acquire(4096);
      const c = gpu.pool.acquire(4096);
      gpu.pool.release(b);
      const d = gpu.pool.acquire(4096);
      gpu.pool.release(c);
      gpu.pool.release(a);
      gpu.pool.release(d);
      return [a, b, c, d];
    };
    step();
    const first = step();
    for (let i = 0; i < 3; i++) expect(step()).toEqual(first);
  });

  it('submits long recordings in chunks and profiles each dispatch by kernel name', async () => {
    const gpu = await getGpu();
    const n = 256;
    const x = gpu.bufferFrom(new Float32Array(n).fill(1));
    const y = gpu.pool.acquire(n * 4);
    const k = await gpu.compile('add', ADD);
    const saved = gpu.autoFlushDispatches;
    gpu.autoFlushDispatches = 3;
    const p = gpu.features.timestamps ? new KernelProfiler(gpu) : null;
    gpu.profile(p);
    try {
      // y = (x + x)·1, then y = (x + y)·1 nine times: 11 in the end, whatever the chunking.
      gpu.dispatch(
        k,
        [x, x, y],
        grid1d(n, 64),
        new Uint32Array([n, new Uint32Array(new Float32Array([1]).buffer)[0]!]),
      );
      for (let i = 0; i < 9; i++) {
        const t = gpu.pool.acquire(n * 4);
        gpu.dispatch(
          k,
          [x, y, t],
          grid1d(n, 64),
          new Uint32Array([n, new Uint32Array(new Float32Array([1]).buffer)[0]!]),
        );
        gpu.copy(t, 0, y, 0, n * 4);
        gpu.pool.release(t);
      }
      expect(Array.from(await gpu.readF32(y, n)).every((v) => v === 11)).toBe(true);
      if (p) {
        await p.collect();
        const r = p.report();
        // copies between storage buffers run as the 'copy:4' kernel, in the pass (no pass break)
        expect(Object.fromEntries(r.map((t) => [t.name, t.count]))).toEqual({ add: 10, 'copy:4': 9 });
        expect(p.totalMs).toBeGreaterThanOrEqual(0);
      }
    } finally {
      gpu.profile(null);
      gpu.autoFlushDispatches = saved;
      gpu.pool.release(x);
      gpu.pool.release(y);
    }
  });

  it('dispatches with a grid written on the GPU (dispatchIndirect), profiled like dispatch', async () => {
    const gpu = await getGpu();
    // args[0..2] = (ceil(n / 64), 1, 1) for the n held in count[0], written by a kernel in the same submission.
    const ARGS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> count: array<u32>;
@group(0) @binding(1) var<storage, read_write> args: array<u32>;
@compute @workgroup_size(1)
fn main() { args[0] = (count[0] + 63u) / 64u; args[1] = 1u; args[2] = 1u; }`;
    const FILL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> count: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
${GRID_INDEX}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 64u);
  if (i < count[0]) { out[i] = i + 1u; }
}`;
    const n = 300;
    const count = gpu.bufferFrom(new Uint32Array([n]));
    const args = gpu.pool.acquire(32);
    const out = gpu.pool.acquire(512 * 4);
    gpu.clear(out);
    const p = gpu.features.timestamps ? new KernelProfiler(gpu) : null;
    gpu.profile(p);
    try {
      gpu.dispatch(await gpu.compile('args', ARGS), [count, args], 1);
      gpu.dispatchIndirect(await gpu.compile('fill', FILL), [count, out], args, 0);
      expect(() => gpu.dispatchIndirect(gpu.kernel('fill', FILL), [count, out], args, 2)).toThrow(/offset/);
      const got = new Uint32Array(await gpu.read(out, 0, 512 * 4));
      expect(got.slice(0, n).every((v, i) => v === i + 1)).toBe(true);
      expect(got.slice(n, 320).every((v) => v === 0)).toBe(true); // the grid covers 320, the kernel bounds n
      if (p) {
        await p.collect();
        expect(
          p
            .report()
            .map((t) => t.name)
            .sort(),
        ).toEqual(['args', 'fill']);
      }
    } finally {
      gpu.profile(null);
      for (const b of [count, args, out]) gpu.pool.release(b);
    }
  });

  it('asks for no more than 8 storage buffers per stage (the browser default), and a kernel binding more fails at creation', async () => {
    // every kernel the suite compiles is thus within what a browser grants without asking
    const gpu = await getGpu();
    expect(gpu.limits.maxStorageBuffersPerShaderStage).toBe(8);
    const decl = Array.from(
      { length: 9 },
      (_, i) => `@group(0) @binding(${i}) var<storage, read_write> b${i}: array<f32>;`,
    );
    const src = `${decl.join('\n')}
@compute @workgroup_size(1)
fn main() { ${Array.from({ length: 9 }, (_, i) => `b${i}[0] = 1.0;`).join(' ')} }`;
    expect(() => gpu.kernel('nine storage buffers', src)).toThrow(/binds 9 storage buffers; the device allows 8/);
  });
});
