/**
 * Gaussian skinning on the GPU (src/avatar/skinning.ts) against the float64 LBS oracle (src/body/lbs.ts): the blended
 * matrices, posed positions and rotations, gradients by finite differences of the oracle; the view-direction cosines
 * (src/avatar/skinning-view.ts) against their float64 reference with and without noise; and a captured forward +
 * backward replayed on new joint matrices and view parameters, equal to the same work run eagerly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { blendMatrix, lbsPoints, lbsQuaternions } from '../../src/body/lbs.js';
import { matrixToQuaternion, rodrigues } from '../../src/body/rotation.js';
import { blendJointMatrices, skinGaussians } from '../../src/avatar/skinning.js';
import {
  createViewParams,
  uploadViewParams,
  viewCosines,
  VIEW_NOISE_STD,
  type ViewParams,
} from '../../src/avatar/skinning-view.js';
import { viewCosinesRef } from '../../src/avatar/skinning-reference.js';
import { noiseNormals } from '../../src/avatar/view-noise.js';
import { add, backward, initEngine, mul, noGrad, scope, sum, Tensor } from '../../src/tensor/index.js';
import { gpu as engineGpu } from '../../src/tensor/tensor.js';
import { numericGrad, randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { runOp } from '../helpers/gpu-op.js';

const N = 37;
const J = 55;

/** J random rigid transforms (rotations up to ~π, translations in ±0.5), row-major 4×4, float32-exact. */
function jointMats(rand: () => number): Float32Array {
  const m = new Float32Array(J * 16);
  for (let j = 0; j < J; j++) {
    const R = rodrigues(4 * rand() - 2, 4 * rand() - 2, 4 * rand() - 2);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) m[j * 16 + 4 * r + c] = R[3 * r + c]!;
      m[j * 16 + 4 * r + 3] = rand() - 0.5;
    }
    m[j * 16 + 15] = 1;
  }
  return m;
}

/** Dense [N, J] weights with 1–4 nonzero joints per row summing to 1 (as prep's maps are in practice). */
function skinWeights(rand: () => number): Float32Array {
  const w = new Float32Array(N * J);
  for (let i = 0; i < N; i++) {
    const k = 1 + Math.floor(rand() * 4);
    const raw = Array.from({ length: k }, () => 0.1 + rand());
    const s = raw.reduce((a, b) => a + b, 0);
    for (const v of raw) w[i * J + Math.floor(rand() * J)] += v / s;
  }
  return w;
}

/** Random rotations as quaternions (w ≥ 0), scaled by 0.8–1.2 so the normalisation's backward is exercised too. */
function quaternions(rand: () => number, scaled: boolean): Float32Array {
  const q = new Float32Array(N * 4);
  const t = new Float64Array(4);
  for (let i = 0; i < N; i++) {
    matrixToQuaternion(rodrigues(4 * rand() - 2, 4 * rand() - 2, 4 * rand() - 2), 0, t, 0);
    const s = scaled ? 0.8 + 0.4 * rand() : 1;
    for (let k = 0; k < 4; k++) q[4 * i + k] = s * t[k]!;
  }
  return q;
}

function scene(seed: number, scaled = false) {
  const rand = seededRandom(seed);
  return {
    mats: jointMats(rand),
    weights: skinWeights(rand),
    positions: randomF32(N * 3, rand),
    rotations: quaternions(rand, scaled),
    normals: randomF32(N * 3, rand),
    gy: randomF32(N * 4, rand),
  };
}

const skinPositions = (p: Tensor, q: Tensor, w: Tensor, m: Tensor) =>
  skinGaussians(p, q, blendJointMatrices(w, m)).positions;
const skinRotations = (p: Tensor, q: Tensor, w: Tensor, m: Tensor) =>
  skinGaussians(p, q, blendJointMatrices(w, m)).rotations;

describe('skinGaussians', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('blends, poses positions and rotations as the float64 oracle (all four quaternion branches)', async () => {
    const s = scene(1);
    const inputs = [
      { data: s.positions, shape: [N, 3] },
      { data: s.rotations, shape: [N, 4] },
      { data: s.weights, shape: [N, J] },
      { data: s.mats, shape: [J, 4, 4] },
    ];
    const blend = await runOp((_p, _q, w, m) => blendJointMatrices(w, m), inputs);
    const wantBlend = new Float64Array(N * 12);
    for (let i = 0; i < N; i++) blendMatrix(s.weights, i, s.mats, J, wantBlend.subarray(12 * i, 12 * i + 12));
    expect(blend.shape).toEqual([N, 3, 4]);
    expect(relError(blend.y, wantBlend)).toBeLessThan(1e-6);

    const pos = await runOp(skinPositions, inputs);
    expect(relError(pos.y, lbsPoints(s.positions, s.weights, s.mats))).toBeLessThan(1e-6);
    const rot = await runOp(skinRotations, inputs);
    const wantRot = lbsQuaternions(s.rotations, s.weights, s.mats);
    expect(relError(rot.y, wantRot)).toBeLessThan(1e-5);
    // the candidate used is the largest |component|: every branch of the conversion is covered
    const branches = new Set<number>();
    for (let i = 0; i < N; i++) {
      const a = [0, 1, 2, 3].map((k) => Math.abs(wantRot[4 * i + k]!));
      branches.add(a.indexOf(Math.max(...a)));
    }
    expect(branches.size).toBe(4);
  });

  it('gradients of positions and rotations match finite differences of the float64 oracle', async () => {
    const s = scene(2, true);
    const inputs = [
      { data: s.positions, shape: [N, 3], grad: true },
      { data: s.rotations, shape: [N, 4], grad: true },
      { data: s.weights, shape: [N, J] },
      { data: s.mats, shape: [J, 4, 4] },
    ];
    const gyPos = s.gy.subarray(0, N * 3);
    const pos = await runOp(skinPositions, inputs, () => gyPos);
    const wantGx = numericGrad(([x]) => lbsPoints(x!, s.weights, s.mats), [s.positions], gyPos, 0);
    expect(relError(pos.grads[0]!, wantGx)).toBeLessThan(1e-5);
    expect(pos.grads[1]).toBeNull();

    const rot = await runOp(skinRotations, inputs, () => s.gy);
    const wantGq = numericGrad(([q]) => lbsQuaternions(q!, s.weights, s.mats), [s.rotations], s.gy, 0);
    expect(relError(rot.grads[1]!, wantGq)).toBeLessThan(1e-4);
    expect(rot.grads[0]).toBeNull();
  });

  it('refuses bad shapes and trainable joint matrices with one-line errors', async () => {
    const w = Tensor.zeros([N, J]);
    const m = Tensor.zeros([J, 4, 4], { requiresGrad: true });
    expect(() => blendJointMatrices(w, m)).toThrow(/must not require grad/);
    expect(() => blendJointMatrices(w, Tensor.zeros([J, 3, 4]))).toThrow(/jointMats must be f32 \[55,4,4\]/);
    const b = noGrad(() => blendJointMatrices(w, Tensor.zeros([J, 4, 4])));
    expect(() => skinGaussians(Tensor.zeros([N, 3]), Tensor.zeros([N, 3]), b)).toThrow(/rotations must be/);
    for (const t of [w, m, b]) t.dispose();
  });
});

describe('viewCosines', () => {
  beforeAll(async () => {
    await initEngine();
  });

  const views: ViewParams[] = [
    { camPos: [0.3, -0.2, 3.1] },
    { camPos: [-2.5, 0.4, -1.2], seed: 0xdeadbeef, noiseStd: VIEW_NOISE_STD },
  ];
  for (const view of views) {
    it(`match the float64 reference (${view.noiseStd ? 'with' : 'without'} noise)`, async () => {
      const s = scene(3);
      const vp = createViewParams(view);
      const got = await runOp(
        (x0, n0, w, m) => viewCosines(blendJointMatrices(w, m), x0, n0, vp),
        [
          { data: s.positions, shape: [N, 3] },
          { data: s.normals, shape: [N, 3] },
          { data: s.weights, shape: [N, J] },
          { data: s.mats, shape: [J, 4, 4] },
        ],
      );
      vp.dispose();
      expect(got.shape).toEqual([N]);
      const want = viewCosinesRef(s.positions, s.normals, s.weights, s.mats, view);
      expect(relError(got.y, want)).toBeLessThan(1e-5);
      if (view.noiseStd) {
        const clean = viewCosinesRef(s.positions, s.normals, s.weights, s.mats, { camPos: view.camPos });
        expect(relError(clean, want)).toBeGreaterThan(1e-3); // the noise is there
      }
    });
  }

  it('the counter-based noise is standard normal (mean, variance, no correlation between components)', () => {
    const n = 20000;
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    let c01 = 0;
    for (let i = 0; i < n; i++) {
      const z = noiseNormals(12345, i);
      for (let k = 0; k < 3; k++) {
        m[k] += z[k]! / n;
        v[k] += (z[k]! * z[k]!) / n;
      }
      c01 += (z[0] * z[1]) / n;
    }
    for (let k = 0; k < 3; k++) {
      expect(Math.abs(m[k]!)).toBeLessThan(0.03);
      expect(Math.abs(v[k]! - 1)).toBeLessThan(0.04);
    }
    expect(Math.abs(c01)).toBeLessThan(0.03);
    expect(noiseNormals(1, 7)).not.toEqual(noiseNormals(2, 7));
  });
});

describe('capture', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('a captured forward + backward, replayed on new joint matrices and view parameters, equals the eager run', async () => {
    const a = scene(4, true);
    const b = scene(5);
    const gpu = engineGpu();
    const leaf = (data: Float32Array, shape: number[]) =>
      Tensor.from(data, shape, { requiresGrad: true, persistent: true });
    const consts = (data: Float32Array, shape: number[]) => Tensor.from(data, shape, { persistent: true });
    const x = leaf(a.positions, [N, 3]);
    const q = leaf(a.rotations, [N, 4]);
    const w = consts(a.weights, [N, J]);
    const m = consts(a.mats, [J, 4, 4]);
    const n0 = consts(a.normals, [N, 3]);
    const gp = consts(a.gy.subarray(0, N * 3), [N, 3]);
    const gr = consts(a.gy, [N, 4]);
    const vp = createViewParams({ camPos: [0.1, 0.2, 2.5], seed: 1, noiseStd: VIEW_NOISE_STD });
    const step = (): Tensor[] =>
      scope(() => {
        const blend = blendJointMatrices(w, m);
        const cos = viewCosines(blend, x, n0, vp);
        const posed = skinGaussians(x, q, blend);
        backward(add(sum(mul(posed.positions, gp)), sum(mul(posed.rotations, gr))));
        return [posed.positions, posed.rotations, cos, x.grad!, q.grad!];
      });
    const read = (ts: Tensor[]) => Promise.all(ts.map((t) => t.toArray()));

    // eager on the new inputs (b's joint matrices, a new camera and seed): the reference
    const viewB: ViewParams = { camPos: [-1, 0.5, 2], seed: 99, noiseStd: VIEW_NOISE_STD };
    gpu.upload(m.buffer, b.mats);
    uploadViewParams(vp, viewB);
    const eagerOut = step();
    const want = await read(eagerOut);
    for (const t of eagerOut) t.dispose();
    x.grad = null;
    q.grad = null;

    // capture on a's inputs, then replay on b's
    gpu.upload(m.buffer, a.mats);
    uploadViewParams(vp, { camPos: [0.1, 0.2, 2.5], seed: 1, noiseStd: VIEW_NOISE_STD });
    let outs: Tensor[] = [];
    const replay = gpu.capture(() => {
      outs = step();
    });
    const first = await read(outs);
    expect(relError(first[0]!, lbsPoints(a.positions, a.weights, a.mats))).toBeLessThan(1e-6);
    gpu.upload(m.buffer, b.mats);
    uploadViewParams(vp, viewB);
    replay.run();
    const got = await read(outs);
    for (let k = 0; k < want.length; k++) expect(relError(got[k]!, want[k]!), `output ${k}`).toBe(0);
    expect(relError(got[2]!, viewCosinesRef(a.positions, a.normals, a.weights, b.mats, viewB))).toBeLessThan(1e-5);

    replay.dispose();
    for (const t of [...outs, x, q, w, m, n0, gp, gr, vp]) t.dispose();
  });
});
