import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canoToLive } from '../../src/body/canonical.js';
import { SMPLX_PARENTS } from '../../src/body/joints.js';
import { smplxModelFromArrays, type SmplxModel } from '../../src/body/model.js';
import { readSmplParams, writeSmplParams } from '../../src/data/smpl-params.js';
import { getGpu } from '../../src/gpu/index.js';
import { writeMesh } from '../../src/io/node/mesh.js';
import { ndarray, type NdArray } from '../../src/io/npy.js';
import { estimateCenter, readCanonicalMaps, readPca, readPoseMap } from '../../src/prep/files.js';
import { poseMapSampler, posedPositionMapCpu } from '../../src/prep/posemap.js';
import { prepare } from '../../src/prep/prep.js';
import { nearestVertexWeights, readPlyMesh } from '../../src/prep/template.js';
import { uvSphere } from './shapes.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-prep-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A tiny SMPL-X-format model: a sphere "body" whose joints are some of its vertices, 55 joints, weights by height. */
function tinyModel(): SmplxModel {
  const mesh = uvSphere([0, 0, 0], 0.5, 10, 12);
  const V = mesh.positions.length / 3;
  const J = 55;
  const weights = new Float64Array(V * J);
  const jr = new Float64Array(J * V);
  for (let j = 0; j < J; j++) jr[j * V + ((j * 7) % V)] = 1;
  for (let v = 0; v < V; v++) {
    const y = mesh.positions[v * 3 + 1]!;
    const a = y > 0 ? 3 : 1; // spine1 above, left hip below
    weights[v * J + a] = 0.7;
    weights[v * J + 0] = 0.3;
  }
  const kin = new Int32Array(2 * J);
  for (let j = 0; j < J; j++) {
    kin[j] = SMPLX_PARENTS[j]!;
    kin[J + j] = j;
  }
  const arrays: Record<string, NdArray> = {
    v_template: ndarray(Float64Array.from(mesh.positions), [V, 3]),
    shapedirs: ndarray(new Float64Array(V * 3 * 20), [V, 3, 20]),
    posedirs: ndarray(new Float64Array(V * 3 * 486), [V, 3, 486]),
    J_regressor: ndarray(jr, [J, V]),
    weights: ndarray(weights, [V, J]),
    kintree_table: ndarray(kin, [2, J]),
    f: ndarray(Int32Array.from(mesh.faces), [mesh.faces.length / 3, 3]),
  };
  return smplxModelFromArrays((k) => arrays[k], 'tiny model');
}

describe('prep pipeline', () => {
  it('writes the reference files and ours; they read back; posed maps and PCA are right', async () => {
    const gpu = await getGpu();
    const model = tinyModel();
    const dir = join(root, 'cap');
    mkdirSync(dir, { recursive: true });
    const frames = Array.from({ length: 4 }, (_, i) => ({
      bodyPose: Float32Array.from({ length: 63 }, (_, k) => (k === 8 || k === 2 ? 0.3 * Math.sin(i + k) : 0)),
      globalOrient: [0, 0.5 * i, 0],
      transl: [0.1 * i, 0, 0],
    }));
    writeSmplParams(join(dir, 'smpl_params.npz'), frames, new Array(10).fill(0));
    const smpl = readSmplParams(join(dir, 'smpl_params.npz'));
    const stages: string[] = [];
    const res = await prepare(gpu, {
      dataDir: dir,
      model,
      smpl,
      size: 32,
      pcaComponents: 2,
      onStage: (s) => stages.push(s),
    });
    expect(res.gaussians).toBeGreaterThan(100);
    expect(res.poseMaps).toBe(4);
    expect(stages.length).toBeGreaterThanOrEqual(3);

    const back = readCanonicalMaps(res.outDir);
    expect(back.size).toBe(32);
    expect(back.pixels).toEqual(res.maps.pixels);
    expect(back.position).toEqual(res.maps.position);
    expect(back.normal).toEqual(res.maps.normal);
    expect(back.weights).toEqual(res.maps.weights);
    expect(Array.from(back.center)).toEqual(Array.from(res.maps.center));
    // the centre is recoverable from the map alone (for the reference's files)
    const est = estimateCenter(back.position, 32, back.pixels);
    expect(est[0]).toBeCloseTo(res.maps.center[0]!, 5);
    expect(est[1]).toBeCloseTo(res.maps.center[1]!, 5);

    const s = poseMapSampler(res.maps);
    const want = posedPositionMapCpu(s, canoToLive(model, smpl.frame(2)).jointMatsWoRoot);
    const got = readPoseMap(res.outDir, 2);
    expect([got.width, got.height]).toEqual([32, 16]);
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got.data[i]! - want[i]!));
    expect(err).toBeLessThan(1e-5);
    // woRoot: global orientation and translation do not move the posed map
    const noRoot = posedPositionMapCpu(
      s,
      canoToLive(model, { ...smpl.frame(2), globalOrient: [0, 0, 0], transl: [0, 0, 0] }).jointMatsWoRoot,
    );
    for (let i = 0; i < want.length; i += 97) expect(noRoot[i]).toBeCloseTo(want[i]!, 6);

    const p = readPca(join(res.outDir, 'pca_2.safetensors'));
    expect(p.pca.count).toBe(2);
    expect(p.pca.dim).toBe(p.pixels.length * 3);
    expect(p.size).toBe(32);

    // resume: nothing rewritten
    const again = await prepare(gpu, { dataDir: dir, model, smpl, size: 32, pcaComponents: 0 });
    expect(again.poseMaps).toBe(0);
  });

  it('template.ply: read back and weights from the nearest SMPL-X vertex', () => {
    const path = join(root, 'template.ply');
    const m = uvSphere([0, 0, 0], 0.55, 6, 8);
    writeMesh(path, { positions: m.positions, faces: m.faces });
    const r = readPlyMesh(path);
    expect(r.positions.length).toBe(m.positions.length);
    for (let i = 0; i < r.positions.length; i++) expect(r.positions[i]).toBeCloseTo(m.positions[i]!, 6);
    expect(Array.from(r.faces)).toEqual(Array.from(m.faces));
    const src = Float64Array.of(0, 0, 0, 1, 0, 0, 0, 2, 0);
    const w = Float64Array.of(1, 0, 0, 1, 0.5, 0.5);
    const got = nearestVertexWeights(Float64Array.of(0.9, 0.1, 0, 0.1, 1.5, 0, -5, -5, -5), src, w, 2);
    expect(Array.from(got)).toEqual([0, 1, 0.5, 0.5, 1, 0]);
  });
});
