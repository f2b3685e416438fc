import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSyntheticBody, syntheticSmplxModel } from '../../src/body/synthetic.js';
import { smplxCanonicalMesh } from '../../src/prep/template.js';
import {
  diffuseWeights,
  diffuseWeightsParallel,
  sampleWeights,
  sampleWeightsMany,
  surfaceConstraints,
  weightGradientVolume,
  type WeightVolume,
} from '../../src/prep/template/weight-volume.js';
import { readWeightVolume, writeWeightVolume } from '../../src/prep/template/volume-file.js';
import type { CanonicalMesh } from '../../src/prep/maps.js';

let mesh: Required<CanonicalMesh>;
let vol: WeightVolume;
const R = 32;
beforeAll(() => {
  const model = syntheticSmplxModel(buildSyntheticBody());
  mesh = smplxCanonicalMesh(model) as Required<CanonicalMesh>;
  vol = diffuseWeights({ ...mesh, numJoints: mesh.numJoints }, { res: R });
});

describe('canonical weight volume', () => {
  it('is a cube around the body, sums to 1 and stays in [0, 1]', () => {
    const b = vol.bounds;
    const side = b[3]! - b[0]!;
    for (let k = 0; k < 3; k++) {
      expect(b[3 + k]! - b[k]!).toBeCloseTo(side, 9);
      expect(b[k]!).toBeLessThanOrEqual(vol.bodyBounds[k]!);
      expect(b[3 + k]!).toBeGreaterThanOrEqual(vol.bodyBounds[3 + k]!);
    }
    const J = vol.joints;
    let worst = 0;
    let outside = 0;
    for (let r = 0; r < vol.weights.length; r += J) {
      let s = 0;
      for (let j = 0; j < J; j++) {
        const v = vol.weights[r + j]!;
        if (!(v >= 0 && v <= 1)) outside++;
        s += v;
      }
      worst = Math.max(worst, Math.abs(s - 1));
    }
    expect(worst).toBeLessThan(1e-5);
    expect(outside).toBe(0);
  });

  it("reproduces the body's weights at its vertices, closer on a finer grid", () => {
    const J = vol.joints;
    const V = mesh.positions.length / 3;
    // mean L1 distance of the looked-up weights from the body's, over vertices of the body's joints (the hands'
    // fingers are ~1 cm apart, below any of these voxels; they are checked through the constrained voxels below)
    const error = (v: WeightVolume): number => {
      const w = sampleWeightsMany(v, mesh.positions);
      let l1 = 0;
      let n = 0;
      for (let i = 0; i < V; i++) {
        let top = 0;
        for (let j = 0; j < J; j++) if (mesh.weights[i * J + j]! > mesh.weights[i * J + top]!) top = j;
        if (top >= 20) continue; // wrists, jaw, eyes, fingers
        for (let j = 0; j < J; j++) l1 += Math.abs(w[i * J + j]! - mesh.weights[i * J + j]!);
        n++;
      }
      return l1 / n;
    };
    const coarse = diffuseWeights({ ...mesh, numJoints: J }, { res: 20 });
    const eCoarse = error(coarse);
    const eFine = error(vol);
    expect(eFine).toBeLessThan(0.25);
    expect(eFine).toBeLessThan(0.85 * eCoarse);
    // voxels on the surface hold the weights of their closest surface point exactly
    const c = surfaceConstraints({ ...mesh, numJoints: J }, vol.bounds, R);
    expect(c.voxels.length).toBeGreaterThan(300);
    let worst = 0;
    for (let k = 0; k < c.voxels.length; k += 7) {
      for (let j = 0; j < J; j++)
        worst = Math.max(worst, Math.abs(vol.weights[c.voxels[k]! * J + j]! - c.values[k * J + j]!));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('is smooth away from the body and its gradient matches finite differences', () => {
    const J = vol.joints;
    const c = vol.center;
    // a point in front of the belly, off the surface
    const p = [c[0]! + 0.013, c[1]! + 0.021, c[2]! + 0.3];
    const w = new Float64Array(J);
    const g = new Float64Array(3 * J);
    sampleWeights(vol, p[0]!, p[1]!, p[2]!, w, g);
    const h = 1e-4;
    const wp = new Float64Array(J),
      wm = new Float64Array(J);
    for (let k = 0; k < 3; k++) {
      const q = p.slice(),
        r = p.slice();
      q[k]! += h;
      r[k]! -= h;
      sampleWeights(vol, q[0]!, q[1]!, q[2]!, wp);
      sampleWeights(vol, r[0]!, r[1]!, r[2]!, wm);
      for (let j = 0; j < J; j++) expect(g[k * J + j]!).toBeCloseTo((wp[j]! - wm[j]!) / (2 * h), 3);
    }
    const gv = weightGradientVolume(vol);
    expect(gv.length).toBe(R * R * R * 3 * J);
    let finite = true;
    for (let i = 0; i < gv.length; i++) if (!Number.isFinite(gv[i]!)) finite = false;
    expect(finite).toBe(true);
    // harmonic inside the free region: no voxel is far from the mean of its neighbours
    const W = vol.weights;
    const at = (x: number, y: number, z: number) => ((x * R + y) * R + z) * J;
    let worst = 0;
    for (const [x, y, z] of [
      [2, 3, 4],
      [R - 3, R - 4, 5],
      [R >> 1, 3, R - 4],
    ] as const) {
      for (let j = 0; j < J; j++) {
        const nb =
          (W[at(x + 1, y, z) + j]! +
            W[at(x - 1, y, z) + j]! +
            W[at(x, y + 1, z) + j]! +
            W[at(x, y - 1, z) + j]! +
            W[at(x, y, z + 1) + j]! +
            W[at(x, y, z - 1) + j]!) /
          6;
        worst = Math.max(worst, Math.abs(nb - W[at(x, y, z) + j]!));
      }
    }
    expect(worst).toBeLessThan(0.02);
  });

  it('writes and reads cano_weight_volume.npz in the reference layout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'animgs-wvol-'));
    const path = join(dir, 'cano_weight_volume.npz');
    writeWeightVolume(path, vol);
    const back = readWeightVolume(path);
    expect(back.res).toBe(R);
    expect(back.joints).toBe(vol.joints);
    expect(back.weights.length).toBe(vol.weights.length);
    let same = true;
    for (let i = 0; i < vol.weights.length; i++) if (back.weights[i] !== vol.weights[i]) same = false;
    expect(same).toBe(true);
    for (let k = 0; k < 6; k++) expect(back.bounds[k]!).toBeCloseTo(vol.bounds[k]!, 5);
    for (let k = 0; k < 3; k++) expect(back.center[k]!).toBeCloseTo(vol.center[k]!, 5);
  });

  it('solves the joints on worker threads to the same volume, bit for bit', async () => {
    const progress: number[] = [];
    const threaded = await diffuseWeightsParallel(
      { ...mesh, numJoints: mesh.numJoints },
      {
        res: R,
        workers: 1,
        workerUrl: new URL('../../src/prep/template/diffuse-worker.ts', import.meta.url),
        execArgv: ['--import', pathToFileURL(join(__dirname, '../train/ts-worker-register.mjs')).href],
        onProgress: (done) => progress.push(done),
      },
    );
    // (an element loop: toEqual on 1.8M floats takes seconds)
    const a = threaded.weights;
    const b = vol.weights;
    let differ = -1;
    for (let i = 0; i < b.length && differ < 0; i++) if (a[i] !== b[i]) differ = i;
    expect(a.length).toBe(b.length);
    expect(differ).toBe(-1);
    // in shared memory, so that the warp table's threads read it without a copy
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(threaded.bounds)).toEqual(Array.from(vol.bounds));
    expect(progress[progress.length - 1]).toBe(progress.length);
  });
});
