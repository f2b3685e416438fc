/**
 * conv2dFused (conv + noise·strength + bias + leaky ReLU·√2 in one forward dispatch): forward and every gradient
 * against the unfused composition of ops and the float64 reference, whose analytic backward is checked by finite
 * differences; split-K epilogue; the 'direct' fallback.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { add, backward, initEngine, mul, noGrad, sum, Tensor } from '../../src/tensor/index.js';
import { conv2d, conv2dFused, convEpilogueSupported } from '../../src/tensor/conv/ops.js';
import { conv2dGeometry, type Conv2dGeom, type Conv2dOptions } from '../../src/tensor/conv/geometry.js';
import type { ConvKernelOptions } from '../../src/tensor/conv/conv2d-raw.js';
import { epilogueRef } from '../../src/tensor/conv/epilogue.js';
import { fusedLeakyRelu, LRELU_GAIN, LRELU_SLOPE } from '../../src/tensor/ops/leaky-relu.js';
import { noiseInjection } from '../../src/nn/stylegan/layers.js';
import { biasAdd, scale } from '../../src/tensor/ops/elementwise.js';
import { gpu } from '../../src/tensor/tensor.js';
import { conv2dBackwardRef, conv2dRef } from '../../src/tensor/reference/conv.js';
import { finiteDiffError, randomF32, relError, seededRandom } from '../../src/tensor/reference/conv-check.js';
import { FULL_SWEEP, sweep } from '../helpers/sweep.js';
import { TC2_TEST_TILE } from '../helpers/raw-buffers.js';

beforeAll(async () => {
  await initEngine();
});

const SMALL = { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 };
type Arr = ArrayLike<number>;

interface Inputs {
  x: Arr;
  w: Arr;
  b: Arr | null;
  noise: Arr | null;
  strength: number;
}

/** Float64 forward: lrelu?(conv2d(x, w) + strength·noise + b)·√2. */
function fusedRef(g: Conv2dGeom, v: Inputs, lrelu: boolean, perSample: boolean): Float64Array {
  return epilogueRef(conv2dRef(g, v.x, v.w), g.n, g.cout, g.ho * g.wo, {
    bias: v.b,
    noise: v.noise ? { noise: v.noise, strength: v.strength, perSample } : undefined,
    lrelu,
  });
}

/** Float64 analytic backward of fusedRef for the output gradient gy. */
function fusedBackwardRef(g: Conv2dGeom, v: Inputs, lrelu: boolean, perSample: boolean, gy: Arr) {
  const y = fusedRef(g, v, lrelu, perSample);
  const hw = g.ho * g.wo;
  const gt = Float64Array.from(gy, (d, i) => (lrelu ? d * (y[i]! > 0 ? 1 : LRELU_SLOPE) * LRELU_GAIN : d));
  const { gx, gw, gb } = conv2dBackwardRef(g, v.x, v.w, gt);
  const gn = new Float64Array(perSample ? g.n * hw : hw);
  let gs = 0;
  for (let b = 0; b < g.n; b++)
    for (let o = 0; o < g.cout; o++)
      for (let p = 0; p < hw; p++) {
        const t = gt[(b * g.cout + o) * hw + p]!;
        const j = perSample ? b * hw + p : p;
        if (v.noise) gs += t * v.noise[j]!;
        gn[j]! += t * v.strength;
      }
  return { gx, gw, gb, gn, gs };
}

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  conv: Conv2dOptions;
  noise: 0 | 1 | 2; // none, shared, per sample
  bias: boolean;
  lrelu: boolean;
}

const CASES: Case[] = [
  {
    name: 'StyledConv (shared noise)',
    x: [2, 3, 7, 5],
    w: [5, 3, 3, 3],
    conv: { padding: 1 },
    noise: 1,
    bias: true,
    lrelu: true,
  },
  {
    name: 'per-sample noise',
    x: [2, 3, 5, 6],
    w: [3, 3, 3, 3],
    conv: { padding: 1 },
    noise: 2,
    bias: true,
    lrelu: true,
  },
  {
    name: 'ConvLayer, stride 2',
    x: [1, 3, 9, 7],
    w: [4, 3, 3, 3],
    conv: { stride: 2 },
    noise: 0,
    bias: true,
    lrelu: true,
  },
  { name: 'noise + bias, no lrelu', x: [1, 2, 5, 5], w: [3, 2, 1, 1], conv: {}, noise: 1, bias: true, lrelu: false },
];

/** Each kernel with the cases `npm test` runs (together every case on a GEMM path); the full sweep runs all. */
const KERNELS: Array<[string, ConvKernelOptions, number[]]> = [
  ['tiled', { path: 'tiled', tile: SMALL }, [0, 2]],
  ['tiled split-K', { path: 'tiled', tile: SMALL, splits: 3 }, [1, 3]],
  ['direct (fallback)', { path: 'direct' }, [0]],
  // the tensor-core path's backward: the f16 range of the gradient (and the noise strength's) from the bias pass
  ['tc2-sw', { path: 'tc2-sw', tc2Tile: TC2_TEST_TILE }, [1]],
];

describe('conv2dFused', () => {
  it('float64 reference: the analytic backward matches finite differences', () => {
    const rand = seededRandom(31);
    for (const c of CASES) {
      const g = conv2dGeometry(c.x, c.w, c.conv);
      const hw = g.ho * g.wo;
      const perSample = c.noise === 2;
      const v: Inputs = {
        x: randomF32(
          c.x.reduce((a, b) => a * b),
          rand,
        ),
        w: randomF32(
          c.w.reduce((a, b) => a * b),
          rand,
        ),
        b: c.bias ? randomF32(g.cout, rand) : null,
        noise: c.noise ? randomF32(perSample ? g.n * hw : hw, rand) : null,
        strength: 0.7,
      };
      const gy = randomF32(g.n * g.cout * hw, rand);
      const r = fusedBackwardRef(g, v, c.lrelu, perSample, gy);
      const f = (patch: Partial<Inputs>) => fusedRef(g, { ...v, ...patch }, c.lrelu, perSample);
      expect(
        finiteDiffError((x) => f({ x }), v.x, gy, r.gx, rand),
        `${c.name} x`,
      ).toBeLessThan(1e-6);
      expect(
        finiteDiffError((w) => f({ w }), v.w, gy, r.gw, rand),
        `${c.name} w`,
      ).toBeLessThan(1e-6);
      if (v.b)
        expect(
          finiteDiffError((b) => f({ b }), v.b, gy, r.gb, rand),
          `${c.name} b`,
        ).toBeLessThan(1e-6);
      if (v.noise) {
        expect(
          finiteDiffError((noise) => f({ noise }), v.noise, gy, r.gn, rand),
          `${c.name} n`,
        ).toBeLessThan(1e-6);
        const s = [v.strength];
        const fs = (a: Float64Array) => f({ strength: a[0]! });
        expect(finiteDiffError(fs, s, gy, [r.gs], rand, 1), `${c.name} strength`).toBeLessThan(1e-6);
      }
    }
  });

  it('weightScale: folded into the f16 weight conversion and the store of the weight gradient on tc2 (a dispatch less each way), a scale op elsewhere; same results', async () => {
    const rand = seededRandom(33);
    const tc2sw: ConvKernelOptions = { path: 'tc2-sw', tc2Tile: TC2_TEST_TILE };
    // npm test: the strided convs (the forward's weight conversion, the sub-pixel one and the four-phase one)
    for (const [kname, kernel, folds] of sweep(
      [
        ['tc2-sw', tc2sw, true],
        ['tc2-sw, stride 2 (sub-pixel input gradient)', tc2sw, true],
        ['tc2-sw, stride 2 (four-phase input gradient)', { ...tc2sw, subpixelTranspose: false }, true],
        ['tiled', { path: 'tiled', tile: SMALL }, false],
      ] as const,
      [1, 2, 3],
    )) {
      const stride = kname.includes('stride') ? 2 : 1;
      const xs = [1, 5, 9, 7];
      const ws = [6, 5, 3, 3];
      const conv = stride === 2 ? { stride: 2, padding: 0 } : { padding: 1 };
      const c = 1 / Math.sqrt(45);
      // Both orders give the same f16 operands: the f32 product w·c, then the conversion.
      const v = { x: randomF32(315, rand), w: randomF32(270, rand), b: randomF32(6, rand) };
      const run = async (fold: boolean) => {
        const x = Tensor.from(v.x, xs, { requiresGrad: true });
        const w = Tensor.from(v.w, ws, { requiresGrad: true });
        const b = Tensor.from(v.b, [6], { requiresGrad: true });
        const before = gpu().dispatchCount;
        const y = fold
          ? conv2dFused(x, w, b, { ...conv, kernel, lrelu: true, weightScale: c })
          : conv2dFused(x, scale(w, c), b, { ...conv, kernel, lrelu: true });
        const dispatches = gpu().dispatchCount - before;
        const loss = sum(mul(y, Tensor.from(randomF32(y.size, seededRandom(5)), y.shape)));
        const beforeBackward = gpu().dispatchCount;
        backward(loss);
        return {
          dispatches,
          backwardDispatches: gpu().dispatchCount - beforeBackward,
          y: await y.toArray(),
          gx: await x.grad!.toArray(),
          gw: await w.grad!.toArray(),
          gb: await b.grad!.toArray(),
        };
      };
      const a = await run(true);
      const r = await run(false);
      expect(a.dispatches, kname).toBe(folds ? r.dispatches - 1 : r.dispatches);
      expect(a.backwardDispatches, kname).toBe(folds ? r.backwardDispatches - 1 : r.backwardDispatches);
      for (const k of ['y', 'gx', 'gw', 'gb'] as const)
        expect(relError(a[k], r[k]), `${kname} ${k}`).toBeLessThan(1e-6);
    }
  });

  it('residual: read by the epilogue without gradients (one dispatch, the bits of conv2dFused + add), a separate add while recording', async () => {
    const rand = seededRandom(34);
    // the split-K sum's epilogue (3 splits; 8×5 pixels: its vec4 form) and the GEMM store's (1 split); lavapipe
    // compiles the 'tiled' GEMM quickly
    for (const kernel of [
      { path: 'tiled', tile: SMALL, splits: 3 },
      { path: 'tiled', tile: SMALL, splits: 1 },
    ] as ConvKernelOptions[]) {
      const v = { x: randomF32(2 * 3 * 8 * 5, rand), w: randomF32(5 * 3 * 9, rand), b: randomF32(5, rand) };
      const r = randomF32(2 * 5 * 8 * 5, rand);
      const noise = Tensor.from(randomF32(40, rand), [1, 1, 8, 5]);
      const strength = Tensor.from([0.7], [1]);
      const run = (grad: boolean, fused: boolean) => {
        const x = Tensor.from(v.x, [2, 3, 8, 5], { requiresGrad: grad });
        const w = Tensor.from(v.w, [5, 3, 3, 3], { requiresGrad: grad });
        const b = Tensor.from(v.b, [5], { requiresGrad: grad });
        const res = Tensor.from(r, [2, 5, 8, 5], { requiresGrad: grad });
        const opts = { padding: 1, kernel, noise: { noise, strength }, lrelu: true };
        const before = gpu().dispatchCount;
        const y = fused ? conv2dFused(x, w, b, { ...opts, residual: res }) : add(res, conv2dFused(x, w, b, opts));
        return { x, res, y, dispatches: gpu().dispatchCount - before };
      };
      const tag = `splits ${kernel.splits}`;
      const inf = noGrad(() => run(false, true));
      const sep = noGrad(() => run(false, false));
      expect(inf.dispatches, tag).toBe(sep.dispatches - 1);
      const yInf = await inf.y.toArray();
      expect(Array.from(yInf), tag).toEqual(Array.from(await sep.y.toArray()));
      const yRef = epilogueRef(
        conv2dRef(conv2dGeometry([2, 3, 8, 5], [5, 3, 3, 3], { padding: 1 }), v.x, v.w),
        2,
        5,
        40,
        {
          bias: v.b,
          noise: { noise: await noise.toArray(), strength: 0.7 },
          lrelu: true,
          residual: r,
        },
      );
      expect(relError(yInf, yRef), tag).toBeLessThan(1e-5);
      // recording: the same values, and the residual's gradient is the output's
      const rec = run(true, true);
      expect(Array.from(await rec.y.toArray()), tag).toEqual(Array.from(yInf));
      const gy = randomF32(rec.y.size, rand);
      backward(sum(mul(rec.y, Tensor.from(gy, rec.y.shape))));
      expect(Array.from(await rec.res.grad!.toArray()), tag).toEqual(Array.from(gy));
      expect(rec.x.grad, tag).toBeTruthy();
    }
  });

  for (const [kname, kernel, fast] of KERNELS)
    it(`${kname}: forward and gradients match the unfused composition and the float64 reference`, async () => {
      const rand = seededRandom(32);
      for (const c of FULL_SWEEP ? CASES : fast.map((i) => CASES[i]!)) {
        const g = conv2dGeometry(c.x, c.w, c.conv);
        const hw = g.ho * g.wo;
        const perSample = c.noise === 2;
        const v = {
          x: randomF32(
            c.x.reduce((a, b) => a * b),
            rand,
          ),
          w: randomF32(
            c.w.reduce((a, b) => a * b),
            rand,
          ),
          b: c.bias ? randomF32(g.cout, rand) : null,
          noise: c.noise ? randomF32(perSample ? g.n * hw : hw, rand) : null,
          strength: Float32Array.of(0.7),
        };
        const gyArr = randomF32(g.n * g.cout * hw, rand);
        // noiseGrad false: the noise is a constant (as in the networks), so the strength's gradient comes out of the
        // bias gradient's pass (bias-grad.ts) instead of noiseGrads
        const run = async (fused: boolean, noiseGrad = true) => {
          const x = Tensor.from(v.x, c.x, { requiresGrad: true });
          const w = Tensor.from(v.w, c.w, { requiresGrad: true });
          const b = v.b ? Tensor.from(v.b, [g.cout], { requiresGrad: true }) : null;
          const n = v.noise
            ? Tensor.from(v.noise, [perSample ? g.n : 1, 1, g.ho, g.wo], { requiresGrad: noiseGrad })
            : null;
          const s = Tensor.from(v.strength, [1], { requiresGrad: true });
          let y: Tensor;
          if (fused) {
            const before = gpu().dispatchCount;
            y = conv2dFused(x, w, b, {
              ...c.conv,
              kernel,
              noise: n ? { noise: n, strength: s } : undefined,
              lrelu: c.lrelu,
            });
            // One dispatch on the GEMM paths (plus the split-K sum when the K sum is split).
            if (convEpilogueSupported(kernel))
              expect(gpu().dispatchCount - before).toBeLessThanOrEqual(kernel.splits ? 2 : 1);
          } else {
            y = conv2d(x, w, null, { ...c.conv, kernel });
            if (n) y = noiseInjection(y, s, n);
            y = c.lrelu ? fusedLeakyRelu(y, b) : b ? biasAdd(y, b) : y;
          }
          backward(sum(mul(y, Tensor.from(gyArr, y.shape))));
          return {
            y: await y.toArray(),
            gx: await x.grad!.toArray(),
            gw: await w.grad!.toArray(),
            gb: b ? await b.grad!.toArray() : null,
            gn: n && noiseGrad ? await n.grad!.toArray() : null,
            gs: n ? (await s.grad!.toArray())[0]! : null,
          };
        };
        const fu = await run(true);
        const un = await run(false);
        const inputs: Inputs = { x: v.x, w: v.w, b: v.b, noise: v.noise, strength: v.strength[0]! };
        const yRef = fusedRef(g, inputs, c.lrelu, perSample);
        const ref = fusedBackwardRef(g, inputs, c.lrelu, perSample, gyArr);
        const tag = `${kname} / ${c.name}`;
        // the tensor cores round the convolutions' operands to f16 (~3e-4); the bias pass sums in f32
        const tol = kernel.path === 'tc2-sw' ? 2e-3 : 1e-5;
        expect(relError(fu.y, yRef), `${tag} y`).toBeLessThan(tol);
        expect(relError(fu.y, un.y), `${tag} y vs unfused`).toBeLessThan(tol);
        expect(relError(fu.gx, ref.gx), `${tag} gx`).toBeLessThan(tol);
        expect(relError(fu.gx, un.gx), `${tag} gx vs unfused`).toBeLessThan(tol);
        expect(relError(fu.gw, ref.gw), `${tag} gw`).toBeLessThan(tol);
        expect(relError(fu.gw, un.gw), `${tag} gw vs unfused`).toBeLessThan(tol);
        if (fu.gb) {
          expect(relError(fu.gb, ref.gb), `${tag} gb`).toBeLessThan(1e-5);
          expect(relError(fu.gb, un.gb!), `${tag} gb vs unfused`).toBeLessThan(1e-5);
        }
        if (fu.gn) {
          expect(relError(fu.gn, ref.gn), `${tag} gnoise`).toBeLessThan(1e-5);
          expect(relError(fu.gn, un.gn!), `${tag} gnoise vs unfused`).toBeLessThan(1e-5);
          expect(relError([fu.gs!], [ref.gs]), `${tag} gstrength`).toBeLessThan(1e-5);
          expect(relError([fu.gs!], [un.gs!]), `${tag} gstrength vs unfused`).toBeLessThan(1e-5);
          const constNoise = await run(true, false);
          expect(relError([constNoise.gs!], [ref.gs]), `${tag} gstrength, constant noise`).toBeLessThan(1e-5);
          expect(relError(constNoise.gb!, ref.gb), `${tag} gb, constant noise`).toBeLessThan(1e-5);
          expect(relError(constNoise.gx, fu.gx), `${tag} gx, constant noise`).toBeLessThan(tol);
        }
      }
    });
});
