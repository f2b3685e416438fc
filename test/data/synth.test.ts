import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { smplxForward } from '../../src/body/forward.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { projectPoint } from '../../src/data/camera.js';
import { CaptureDataset } from '../../src/data/dataset.js';
import { readSmplParams } from '../../src/data/smpl-params.js';
import { skirt, sleeves } from '../../src/data/synth/clothes.js';
import { synthesizeCapture } from '../../src/data/synth/capture.js';
import { heldOutMotion, trainingMotion } from '../../src/data/synth/motion.js';
import { getGpu } from '../../src/gpu/index.js';
import { prepare } from '../../src/prep/prep.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-synth-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('synthetic capture', () => {
  it('writes a THuman4.0-layout capture that the loader reads, with masks where the body projects', async () => {
    const gpu = await getGpu();
    const out = join(root, 'cap');
    const res = await synthesizeCapture(gpu, {
      out,
      cameras: 2,
      camerasAbove: 1,
      width: 48,
      height: 40,
      frames: 3,
      testFrames: 2,
      seed: 5,
    });
    expect(res.cameras.length).toBe(2);
    for (const f of ['calibration.json', 'smpl_params.npz', 'smplx_model.npz', 'poses_test.npz', 'synth.json']) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    const ds = new CaptureDataset({ layout: 'thuman4', dataDir: out });
    expect(ds.items.length).toBe(6);
    expect(readSmplParams(join(out, 'poses_test.npz')).length).toBe(2);
    const model = loadSmplxModel(join(out, 'smplx_model.npz'));
    for (const item of ds.items) {
      const li = await ds.load(item, { bg: [1, 1, 1] });
      const cover = li.mask.reduce((a, b) => a + b, 0);
      expect(cover).toBeGreaterThan(0.03 * 48 * 40);
      // torso joints of the posed body land on the mask
      const posed = smplxForward(model, ds.smpl.frame(item.frame), { vertices: false });
      for (const j of [0, 3, 6, 9]) {
        const [u, v, z] = projectPoint(
          li.camera,
          posed.joints[j * 3]!,
          posed.joints[j * 3 + 1]!,
          posed.joints[j * 3 + 2]!,
        );
        expect(z).toBeGreaterThan(1);
        expect(li.mask[Math.round(v) * 48 + Math.round(u)]).toBe(1);
      }
      // corners are background
      expect(li.mask[0]).toBe(0);
    }
    // the capture preps like a real one
    const prep = await prepare(gpu, { dataDir: out, model, smpl: ds.smpl, size: 64, pcaComponents: 2 });
    expect(prep.gaussians).toBeGreaterThan(300);
    expect(prep.poseMaps).toBe(3);
    expect(prep.maps.weights.length).toBe(prep.gaussians * 55);
  });

  it('is deterministic from the seed; the skirt flares with leg spread and sleeves fold with the elbows', async () => {
    const a = trainingMotion(12, 3),
      b = trainingMotion(12, 3),
      c = trainingMotion(12, 4);
    expect(Array.from(a[7]!.bodyPose!)).toEqual(Array.from(b[7]!.bodyPose!));
    expect(Array.from(a[7]!.bodyPose!)).not.toEqual(Array.from(c[7]!.bodyPose!));
    expect(heldOutMotion(4, 1).length).toBe(4);
    const model = loadSmplxModel(join(root, 'cap', 'smplx_model.npz'));
    const hemWidth = (spread: number) => {
      const body = new Float64Array(63);
      body[0 * 3 + 2] = spread; // left hip out
      body[1 * 3 + 2] = -spread; // right hip out
      const g = skirt(smplxForward(model, { bodyPose: body }));
      let lo = Infinity,
        hi = -Infinity;
      const V = g.positions.length / 3;
      for (let v = V - 56; v < V; v++) {
        lo = Math.min(lo, g.positions[v * 3]!);
        hi = Math.max(hi, g.positions[v * 3]!);
      }
      return hi - lo;
    };
    expect(hemWidth(0.5)).toBeGreaterThan(hemWidth(0) + 0.1);
    /** Per ring of the left sleeve: the mean distance of its vertices to the ring centre. */
    const ringSpread = (bend: number) => {
      const body = new Float64Array(63);
      body[17 * 3 + 1] = -bend; // left elbow (joint 18), forearm forward
      const g = sleeves(smplxForward(model, { bodyPose: body }))[0]!;
      const segs = 20;
      const spread: number[] = [];
      for (let i = 0; i < g.positions.length / 3 / segs; i++) {
        const c = [0, 0, 0];
        for (let j = 0; j < segs; j++) for (let k = 0; k < 3; k++) c[k] += g.positions[(i * segs + j) * 3 + k]! / segs;
        let m = 0;
        for (let j = 0; j < segs; j++) {
          const o = (i * segs + j) * 3;
          m += Math.hypot(g.positions[o]! - c[0]!, g.positions[o + 1]! - c[1]!, g.positions[o + 2]! - c[2]!) / segs;
        }
        spread.push(m);
      }
      return spread;
    };
    const straight = ringSpread(0),
      bent = ringSpread(1.6);
    const ratio = Math.max(...bent.map((b, i) => b / straight[i]!));
    expect(ratio).toBeGreaterThan(1.1); // folds bulge near the elbow
    expect(bent[0]! / straight[0]!).toBeCloseTo(1, 2); // the shoulder end is unchanged
  });
});
