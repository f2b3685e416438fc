/** Helpers for tests of raw-buffer kernels: scoped pooled buffers, and inputs that are exact in f16. */
import { pairs } from './sweep.js';
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import {
  conv2dBackwardInputRaw,
  conv2dBackwardWeightRaw,
  conv2dForwardRaw,
  convTranspose2dBackwardInputRaw,
  convTranspose2dBackwardWeightRaw,
  convTranspose2dForwardRaw,
  type ConvKernelOptions,
} from '../../src/tensor/conv/conv2d-raw.js';
import { epilogueRef } from '../../src/tensor/conv/epilogue.js';
import { conv2dGeometry, type Conv2dGeom, type ConvTranspose2dGeom } from '../../src/tensor/conv/geometry.js';
import type { Tc2Tile } from '../../src/tensor/conv/tc2-tiles.js';
import {
  conv2dBackwardRef,
  conv2dRef,
  convTranspose2dBackwardRef,
  convTranspose2dRef,
} from '../../src/tensor/reference/conv.js';
import { randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';

/**
 * Run `run` with `up(array)` (upload to a pooled buffer) and `out(n)` (a pooled buffer of n floats); every buffer is
 * released after the GPU has finished, whatever `run` does.
 */
export async function withBuffers<T>(
  gpu: Gpu,
  run: (up: (a: Float32Array) => GPUBuffer, out: (n: number) => GPUBuffer) => Promise<T>,
): Promise<T> {
  const bufs: GPUBuffer[] = [];
  const up = (a: Float32Array) => {
    const b = gpu.bufferFrom(a);
    bufs.push(b);
    return b;
  };
  const out = (n: number) => {
    const b = gpu.pool.acquire(n * 4);
    bufs.push(b);
    return b;
  };
  try {
    return await run(up, out);
  } finally {
    await gpu.sync();
    for (const b of bufs) gpu.pool.release(b);
  }
}

/** Random multiples of 2⁻¹⁰ in (−1, 1): exact in f16, so an f16-operand kernel must match f32 to rounding. */
export function q10(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.round((rand() * 2 - 1) * 1023) / 1024;
  return a;
}

/**
 * The tile of the tc2 software twin in most tests: 32×32×16 over 2×2 subgroups (128 invocations). Lavapipe's compile
 * time of a tc2 kernel grows with the f16 workgroup stores each invocation unrolls per K slice (8 here; 16 with 2×1
 * subgroups, which took 1.5–2× as long), so the twin's tests use many invocations per tile.
 */
export const TC2_TEST_TILE: Tc2Tile = { bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 2 };

/**
 * The forward of `g` on random inputs through the tc2 software twin must match the float64 reference to f32
 * rounding: the convs the tc2 paths hand to an f32 kernel instead of the tensor cores (narrow1x1, shallow).
 */
export async function expectTc2ForwardInF32(gpu: Gpu, g: Conv2dGeom, seed: number): Promise<void> {
  const rand = seededRandom(seed);
  const x = randomF32(g.n * g.cin * g.h * g.w, rand);
  const w = randomF32(g.cout * g.cin * g.kh * g.kw, rand);
  await expectForwardMatchesRef(gpu, g, x, w, { path: 'tc2-sw', tc2Tile: TC2_TEST_TILE }, 2e-6);
}

/** conv2d's forward (no bias) of x and w with `opts` against the float64 reference within `tol`. */
export async function expectForwardMatchesRef(
  gpu: Gpu,
  g: Conv2dGeom,
  x: Float32Array,
  w: Float32Array,
  opts: ConvKernelOptions,
  tol: number,
): Promise<void> {
  const yRef = conv2dRef(g, x, w);
  await withBuffers(gpu, async (up, out) => {
    const y = out(yRef.length);
    conv2dForwardRaw(gpu, g, up(x), up(w), null, y, opts);
    expect(relError(await gpu.readF32(y, yRef.length), yRef)).toBeLessThan(tol);
  });
}

/** Raw buffers of a conv's operands, as a kernel under test sees them. */
export interface ConvBuffers {
  x: GPUBuffer;
  w: GPUBuffer;
  b: GPUBuffer;
  gy: GPUBuffer;
  y: GPUBuffer;
  gx: GPUBuffer;
  gw: GPUBuffer;
}

/**
 * A convolution's forward (with bias), input and weight gradients on f16-exact random inputs of the given sizes:
 * `run` records them on raw buffers, `ref` gives the float64 reference; all three must match within `tol`.
 */
export async function expectConvMatchesRef(
  gpu: Gpu,
  rand: () => number,
  n: { x: number; w: number; b: number; gy: number },
  ref: (
    x: Float32Array,
    w: Float32Array,
    b: Float32Array,
    gy: Float32Array,
  ) => { y: Float64Array; gx: Float64Array; gw: Float64Array },
  run: (bufs: ConvBuffers) => void,
  tol: number,
  tag: string,
): Promise<void> {
  const x = q10(n.x, rand);
  const w = q10(n.w, rand);
  const b = q10(n.b, rand);
  const gy = q10(n.gy, rand);
  const r = ref(x, w, b, gy);
  await withBuffers(gpu, async (up, out) => {
    const bufs = { x: up(x), w: up(w), b: up(b), gy: up(gy), y: out(r.y.length), gx: out(n.x), gw: out(n.w) };
    run(bufs);
    expect(relError(await gpu.readF32(bufs.y, r.y.length), r.y), `y ${tag}`).toBeLessThan(tol);
    expect(relError(await gpu.readF32(bufs.gx, n.x), r.gx), `gx ${tag}`).toBeLessThan(tol);
    expect(relError(await gpu.readF32(bufs.gw, n.w), r.gw), `gw ${tag}`).toBeLessThan(tol);
  });
}

/** conv2d's three passes with `opts` against the float64 reference (expectConvMatchesRef). */
export function expectConv2dMatchesRef(
  gpu: Gpu,
  rand: () => number,
  g: Conv2dGeom,
  opts: ConvKernelOptions,
  tol: number,
  tag: string,
): Promise<void> {
  return expectConvMatchesRef(
    gpu,
    rand,
    { x: g.n * g.cin * g.h * g.w, w: g.cout * g.cin * g.kh * g.kw, b: g.cout, gy: g.n * g.cout * g.ho * g.wo },
    (x, w, b, gy) => ({ y: conv2dRef(g, x, w, b), ...conv2dBackwardRef(g, x, w, gy) }),
    (u) => {
      conv2dForwardRaw(gpu, g, u.x, u.w, u.b, u.y, opts);
      conv2dBackwardInputRaw(gpu, g, u.gy, u.w, u.gx, opts);
      conv2dBackwardWeightRaw(gpu, g, u.x, u.gy, u.gw, opts);
    },
    tol,
    tag,
  );
}

/** conv_transpose2d's three passes with each of `variants` against the float64 reference. */
export async function expectTransposedMatchesRef(
  gpu: Gpu,
  rand: () => number,
  t: ConvTranspose2dGeom,
  variants: readonly ConvKernelOptions[],
  tol: number,
): Promise<void> {
  const nw = t.cin * t.cout * t.conv.kh * t.conv.kw;
  for (const opts of variants)
    await expectConvMatchesRef(
      gpu,
      rand,
      { x: t.n * t.cin * t.h * t.w, w: nw, b: t.cout, gy: t.n * t.cout * t.hout * t.wout },
      (x, w, b, gy) => ({ y: convTranspose2dRef(t, x, w, b), ...convTranspose2dBackwardRef(t, x, w, gy) }),
      (u) => {
        convTranspose2dForwardRaw(gpu, t, u.x, u.w, u.b, u.y, opts);
        convTranspose2dBackwardInputRaw(gpu, t, u.gy, u.w, u.gx, opts);
        convTranspose2dBackwardWeightRaw(gpu, t, u.x, u.gy, u.gw, opts);
      },
      tol,
      JSON.stringify(opts),
    );
}

/** conv_transpose2d's forward (with bias) with each of `variants` against the float64 reference. */
export async function expectTransposedForwardMatchesRef(
  gpu: Gpu,
  rand: () => number,
  t: ConvTranspose2dGeom,
  variants: readonly ConvKernelOptions[],
  tol: number,
): Promise<void> {
  const x = q10(t.n * t.cin * t.h * t.w, rand);
  const w = q10(t.cin * t.cout * t.conv.kh * t.conv.kw, rand);
  const b = q10(t.cout, rand);
  const yRef = convTranspose2dRef(t, x, w, b);
  for (const opts of variants)
    await withBuffers(gpu, async (up, out) => {
      const y = out(yRef.length);
      convTranspose2dForwardRaw(gpu, t, up(x), up(w), up(b), y, opts);
      expect(relError(await gpu.readF32(y, yRef.length), yRef), JSON.stringify(opts)).toBeLessThan(tol);
    });
}

/** Which parts of the fused epilogue a check turns on (noise 1: one image for the batch, 2: one per sample). */
export interface EpilogueCombo {
  bias: boolean;
  demod: boolean;
  noise: 0 | 1 | 2;
  lrelu: boolean;
}

/**
 * conv2d's forward with the fused-epilogue combinations on `variants` (tagged paths; every pair in the full sweep,
 * each variant and each combination at least once in `npm test`, see sweep.ts) against
 * epilogueRef(float64 conv), f16-exact inputs; by default the 3×3 padded conv 6→9 on a 2 × 7 × 5 batch (pass the
 * geometry a test already compiled its kernels for, so that the split-K variants share the GEMM kernel).
 */
export async function expectFusedEpiloguesMatchRef(
  gpu: Gpu,
  rand: () => number,
  variants: ReadonlyArray<readonly [string, ConvKernelOptions]>,
  combos: readonly EpilogueCombo[],
  tol: number,
  g: Conv2dGeom = conv2dGeometry([2, 6, 7, 5], [9, 6, 3, 3], { padding: 1 }),
): Promise<void> {
  const hw = g.ho * g.wo;
  const x = q10(g.n * g.cin * g.h * g.w, rand);
  const w = q10(g.cout * g.cin * g.kh * g.kw, rand);
  const b = q10(g.cout, rand);
  const d = Float32Array.from({ length: g.n * g.cout }, () => 0.5 + rand());
  const noise = q10(g.n * hw, rand);
  const strength = Float32Array.of(0.37);
  for (const [[name, base], cmb] of pairs(variants, combos))
    await withBuffers(gpu, async (up, out) => {
      const [bx, bw, bb, bd, bn, bs] = [up(x), up(w), up(b), up(d), up(noise), up(strength)];
      const by = out(g.n * g.cout * hw);
      conv2dForwardRaw(gpu, g, bx, bw, cmb.bias ? bb : null, by, {
        ...base,
        epilogue: {
          demod: cmb.demod ? bd : undefined,
          noise: cmb.noise ? { noise: bn, strength: bs, perSample: cmb.noise === 2 } : undefined,
          lrelu: cmb.lrelu,
        },
      });
      const yRef = epilogueRef(conv2dRef(g, x, w), g.n, g.cout, hw, {
        bias: cmb.bias ? b : null,
        demod: cmb.demod ? d : undefined,
        noise: cmb.noise ? { noise, strength: strength[0]!, perSample: cmb.noise === 2 } : undefined,
        lrelu: cmb.lrelu,
      });
      expect(relError(await gpu.readF32(by, yRef.length), yRef), `${name} ${JSON.stringify(cmb)}`).toBeLessThan(tol);
    });
}
