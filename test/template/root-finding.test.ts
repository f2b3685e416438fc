import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { canoToLive } from '../../src/body/canonical.js';
import { jointIndex } from '../../src/body/joints.js';
import { lbsPoints } from '../../src/body/lbs.js';
import type { SmplxModel } from '../../src/body/model.js';
import { smplxForward } from '../../src/body/forward.js';
import { buildSyntheticBody, syntheticSmplxModel } from '../../src/body/synthetic.js';
import { vertexNormals } from '../../src/io/mesh.js';
import type { CanonicalMesh } from '../../src/prep/maps.js';
import { nearestVertexWeights, smplxCanonicalMesh } from '../../src/prep/template.js';
import { posedToCanonical, posedToCanonicalByJoints, solve3 } from '../../src/prep/template/root-finding.js';
import { InverseWarp } from '../../src/prep/template/warp.js';
import { diffuseWeights, sampleWeightsMany, type WeightVolume } from '../../src/prep/template/weight-volume.js';

let model: SmplxModel;
let mesh: Required<CanonicalMesh>;
let vol: WeightVolume;
beforeAll(() => {
  model = syntheticSmplxModel(buildSyntheticBody());
  mesh = smplxCanonicalMesh(model) as Required<CanonicalMesh>;
  vol = diffuseWeights({ ...mesh, numJoints: mesh.numJoints }, { res: 32 });
});

/** A walking-like pose with a global turn and translation. */
function frame() {
  const body = new Float64Array(63);
  const set = (name: string, axis: number, v: number) => (body[(jointIndex(name) - 1) * 3 + axis] = v);
  set('left_knee', 0, 0.7);
  set('right_hip', 0, -0.4);
  set('left_elbow', 1, -0.8);
  set('right_shoulder', 2, 0.5);
  set('spine1', 0, 0.15);
  return { bodyPose: body, globalOrient: [0.1, 0.6, -0.05], transl: [0.3, -0.1, 1.2] };
}

describe('posed -> canonical root finding', () => {
  it('solves 3x3 systems', () => {
    const A = [2, 1, 0, -1, 3, 0.5, 0.2, 0.1, 4];
    const x = new Float64Array(3);
    expect(solve3(A, [1, 2, 3], x)).toBe(true);
    for (let r = 0; r < 3; r++)
      expect(A[3 * r]! * x[0]! + A[3 * r + 1]! * x[1]! + A[3 * r + 2]! * x[2]!).toBeCloseTo([1, 2, 3][r]!, 12);
    expect(solve3([1, 2, 3, 2, 4, 6, 0, 0, 1], [1, 1, 1], x)).toBe(false);
  });

  it('inverts LBS through the weight volume on and off the body', () => {
    const J = vol.joints;
    const c2l = canoToLive(model, frame());
    const V = mesh.positions.length / 3;
    const nrm = vertexNormals(mesh.positions, mesh.faces);
    // canonical points: every 23rd vertex, pushed 0, 2 or 4 cm out along its normal (a loose garment's distance)
    const pts: number[] = [];
    for (let i = 0, k = 0; i < V; i += 23, k++) {
      const d = [0, 0.02, 0.04][k % 3]!;
      for (let c = 0; c < 3; c++) pts.push(mesh.positions[3 * i + c]! + d * nrm[3 * i + c]!);
    }
    const canonical = Float64Array.from(pts);
    const N = canonical.length / 3;
    const w = sampleWeightsMany(vol, canonical);
    const posed = lbsPoints(canonical, w, c2l.jointMats);
    // start from the weights of the nearest posed body vertex (as the reference starts from the nearest posed face)
    const posedBody = smplxForward(model, frame()).vertices!;
    const init = nearestVertexWeights(posed, posedBody, model.weights, J);
    const res = posedToCanonical(posed, init, c2l.jointMats, vol, { iterations: 30 });
    const errors: number[] = [];
    for (let n = 0; n < N; n++) {
      errors.push(
        Math.hypot(
          res.canonical[3 * n]! - canonical[3 * n]!,
          res.canonical[3 * n + 1]! - canonical[3 * n + 1]!,
          res.canonical[3 * n + 2]! - canonical[3 * n + 2]!,
        ),
      );
    }
    errors.sort((a, b) => a - b);
    const within = errors.filter((e) => e < 1e-4).length / N;
    // LBS is not injective near folding joints: a few points may converge to another canonical preimage
    expect(within).toBeGreaterThan(0.95);
    expect(errors[Math.floor(N / 2)]!).toBeLessThan(1e-6);
    // whatever it converged to maps back onto the posed point
    let good = 0;
    for (let n = 0; n < N; n++) if (res.residual[n]! < 1e-5) good++;
    expect(good / N).toBeGreaterThan(0.97);
    // the returned weights are the volume's at the found points
    const again = sampleWeightsMany(vol, res.canonical);
    let worst = 0;
    for (let i = 0; i < again.length; i++) worst = Math.max(worst, Math.abs(again[i]! - res.weights[i]!));
    expect(worst).toBeLessThan(1e-12);
  });

  it("through the voxels' blended matrices as joint by joint (to float64 rounding), off the body too", () => {
    const J = vol.joints;
    const c2l = canoToLive(model, frame());
    const posedBody = smplxForward(model, frame()).vertices!;
    // posed points on a coarse grid over the posed body's box ± 15 cm: near, inside and far from the body
    const lo = [0, 1, 2].map(
      (k) => Math.min(...Array.from({ length: posedBody.length / 3 }, (_, i) => posedBody[3 * i + k]!)) - 0.15,
    );
    const hi = [0, 1, 2].map(
      (k) => Math.max(...Array.from({ length: posedBody.length / 3 }, (_, i) => posedBody[3 * i + k]!)) + 0.15,
    );
    const pts: number[] = [];
    for (let x = 0; x < 7; x++)
      for (let y = 0; y < 13; y++)
        for (let z = 0; z < 6; z++)
          pts.push(
            lo[0]! + ((hi[0]! - lo[0]!) * x) / 6,
            lo[1]! + ((hi[1]! - lo[1]!) * y) / 12,
            lo[2]! + ((hi[2]! - lo[2]!) * z) / 5,
          );
    const posed = Float64Array.from(pts);
    const N = posed.length / 3;
    const init = nearestVertexWeights(posed, posedBody, model.weights, J);
    for (const gradWeight of [0.1, 1, 0]) {
      const a = posedToCanonical(posed, init, c2l.jointMats, vol, { iterations: 15, gradWeight });
      const b = posedToCanonicalByJoints(posed, init, c2l.jointMats, vol, { iterations: 15, gradWeight });
      let worst = 0,
        worstW = 0,
        converged = 0;
      for (let i = 0; i < 3 * N; i++) worst = Math.max(worst, Math.abs(a.canonical[i]! - b.canonical[i]!));
      for (let i = 0; i < N * J; i++) worstW = Math.max(worstW, Math.abs(a.weights[i]! - b.weights[i]!));
      for (let n = 0; n < N; n++) {
        if (b.residual[n]! < 1e-3) converged++;
        expect(a.residual[n]! < 1e-3 === b.residual[n]! < 1e-3).toBe(true);
      }
      expect(worst).toBeLessThan(1e-9);
      expect(worstW).toBeLessThan(1e-9);
      expect(converged).toBeGreaterThan(N / 10);
    }
  });
});

describe('the posed -> canonical table', () => {
  it('solves its nodes on worker threads to the same table, bit for bit', async () => {
    const c2l = canoToLive(model, frame(), { vertices: true });
    const body = { vertices: c2l.live.vertices!, weights: model.weights, jointMats: c2l.jointMats };
    const box = Float64Array.from([-0.6, -1.2, 0.9, 1.0, 0.9, 1.6]);
    // 41·53·19 = 41,287 nodes: three jobs of at most 16,384, on two threads
    const dims = InverseWarp.dimsFor(box, 0.041);
    expect(dims[0] * dims[1] * dims[2]).toBeGreaterThan(1 << 14);
    const serial = new InverseWarp(box, dims, body, vol);
    const done: number[] = [];
    const threaded = await InverseWarp.solve(box, dims, body, vol, {
      workers: 2,
      workerUrl: new URL('../../src/prep/template/warp-worker.ts', import.meta.url),
      execArgv: ['--import', pathToFileURL(join(__dirname, '../train/ts-worker-register.mjs')).href],
      onProgress: (d) => done.push(d),
    });
    expect(threaded).toBeInstanceOf(InverseWarp);
    expect(threaded.converged).toBe(serial.converged);
    let differ = -1;
    for (let i = 0; i < serial.canonical.length && differ < 0; i++)
      if (threaded.canonical[i] !== serial.canonical[i]) differ = i;
    expect(differ).toBe(-1);
    expect(done[done.length - 1]).toBe(dims[0] * dims[1] * dims[2]);
    const out = new Float64Array(3);
    threaded.lookup(0.1, 0.2, 1.2, out);
    expect(out.every(Number.isFinite)).toBe(true);
  });
});
