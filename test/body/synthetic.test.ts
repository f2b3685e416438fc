import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { smplxForward } from '../../src/body/forward.js';
import { jointIndex } from '../../src/body/joints.js';
import type { SmplxModel } from '../../src/body/model.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { buildSyntheticBody, syntheticSmplxModel, type SyntheticBody } from '../../src/body/synthetic.js';
import { writeSyntheticBody } from '../../src/body/node/files.js';
import { vertexNormals } from '../../src/io/mesh.js';

let body: SyntheticBody;
let model: SmplxModel;
beforeAll(() => {
  body = buildSyntheticBody();
  model = syntheticSmplxModel(body);
});

/** Axis-aligned box of the vertices of the parts whose names match. */
function box(v: Float64Array, match: RegExp): { lo: number[]; hi: number[] } {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  body.vertexPart.forEach((name, i) => {
    if (!match.test(name)) return;
    for (let c = 0; c < 3; c++) {
      lo[c] = Math.min(lo[c]!, v[i * 3 + c]!);
      hi[c] = Math.max(hi[c]!, v[i * 3 + c]!);
    }
  });
  return { lo, hi };
}

describe('synthetic body: rest mesh', () => {
  it('has SMPL-X layout arrays and a human size', () => {
    const V = model.numVertices;
    expect(V).toBeGreaterThan(5000);
    expect(V).toBeLessThan(15000);
    expect(body.arrays['shapedirs']!.shape).toEqual([V, 3, 20]);
    expect(body.arrays['posedirs']!.shape).toEqual([V, 3, 486]);
    expect(body.arrays['J_regressor']!.shape).toEqual([55, V]);
    expect(body.arrays['weights']!.shape).toEqual([V, 55]);
    expect(model.vTemplate.every(Number.isFinite)).toBe(true);
    const all = box(model.vTemplate, /./);
    expect(all.hi[1]! - all.lo[1]!).toBeGreaterThan(1.65);
    expect(all.hi[1]! - all.lo[1]!).toBeLessThan(1.8);
    expect(all.lo[1]).toBeCloseTo(-1.3, 2); // soles on the SMPL-X floor
    expect(all.hi[0]! - all.lo[0]!).toBeGreaterThan(1.6); // T-pose arm span
    expect(box(model.vTemplate, /^head$/).hi[2]).toBeGreaterThan(box(model.vTemplate, /^head$/).lo[2]! + 0.18); // nose out front
    for (const s of ['left', 'right'])
      for (const f of ['thumb', 'index', 'middle', 'ring', 'pinky']) expect(body.vertexPart).toContain(`${s}_${f}`);
  });

  it('every part is closed and wound outward (each edge shared by two faces, positive volume)', () => {
    const f = model.faces;
    const p = model.vTemplate;
    const volume = new Map<string, number>();
    const edges = new Map<string, number>();
    for (let t = 0; t < f.length / 3; t++) {
      const [a, b, c] = [f[t * 3]!, f[t * 3 + 1]!, f[t * 3 + 2]!];
      const part = body.vertexPart[a]!;
      const A = [p[a * 3]!, p[a * 3 + 1]!, p[a * 3 + 2]!];
      const B = [p[b * 3]!, p[b * 3 + 1]!, p[b * 3 + 2]!];
      const C = [p[c * 3]!, p[c * 3 + 1]!, p[c * 3 + 2]!];
      const det =
        A[0]! * (B[1]! * C[2]! - B[2]! * C[1]!) -
        A[1]! * (B[0]! * C[2]! - B[2]! * C[0]!) +
        A[2]! * (B[0]! * C[1]! - B[1]! * C[0]!);
      volume.set(part, (volume.get(part) ?? 0) + det / 6);
      for (const [u, v] of [
        [a, b],
        [b, c],
        [c, a],
      ] as const)
        edges.set(`${u},${v}`, (edges.get(`${u},${v}`) ?? 0) + 1);
    }
    // each directed edge once and its reverse once: closed and consistently wound
    const bad = [...edges].filter(([k, n]) => n !== 1 || edges.get(k.split(',').reverse().join(',')) !== 1);
    expect(bad).toEqual([]);
    for (const [part, vol] of volume) expect(vol, part).toBeGreaterThan(0);
    expect(volume.get('torso')).toBeGreaterThan(0.02);
  });

  it('skinning weights are normalised, non-negative, and 1 to 4 per vertex', () => {
    const W = model.weights;
    let worstSum = 0;
    let negative = 0;
    let minCount = 55;
    let maxCount = 0;
    for (let v = 0; v < model.numVertices; v++) {
      let s = 0;
      let n = 0;
      for (let j = 0; j < 55; j++) {
        const w = W[v * 55 + j]!;
        if (w < 0) negative++;
        s += w;
        if (w > 0) n++;
      }
      worstSum = Math.max(worstSum, Math.abs(s - 1));
      minCount = Math.min(minCount, n);
      maxCount = Math.max(maxCount, n);
    }
    expect(worstSum).toBeLessThan(1e-12);
    expect(negative).toBe(0);
    expect(minCount).toBeGreaterThanOrEqual(1);
    expect(maxCount).toBeLessThanOrEqual(4);
  });

  it('the joint regressor reproduces the skeleton the body was built on', () => {
    for (let i = 0; i < 165; i++) expect(Math.abs(model.jTemplate[i]! - body.joints[i]!)).toBeLessThan(1e-9);
    // and it is a local, mostly positive average (no large cancelling weights)
    const R = body.arrays['J_regressor']!.data as Float64Array;
    expect(R.reduce((a, b) => Math.min(a, b), 0)).toBeGreaterThan(-0.1);
  });
});

describe('synthetic body: posed', () => {
  it('arms down and knees bent put hands and feet where a person has them', () => {
    const bodyPose = new Float64Array(63);
    bodyPose[(jointIndex('left_shoulder') - 1) * 3 + 2] = -1.2; // arms down (about z)
    bodyPose[(jointIndex('right_shoulder') - 1) * 3 + 2] = 1.2;
    bodyPose[(jointIndex('left_knee') - 1) * 3] = 1.5; // knee flexion (about x): the shin swings back
    const out = smplxForward(model, { bodyPose });
    const v = out.vertices!;
    expect(v.every(Number.isFinite)).toBe(true);
    const hand = box(v, /^left_(palm|index|middle|ring|pinky|thumb)$/);
    expect(hand.hi[1]).toBeLessThan(-0.2); // below the waist
    expect(hand.lo[0]).toBeGreaterThan(0.1); // still on the left side
    const rest = box(model.vTemplate, /^left_foot$/);
    const foot = box(v, /^left_foot$/);
    expect(foot.lo[2]).toBeLessThan(rest.lo[2]! - 0.3); // swung behind
    expect(foot.lo[1]).toBeGreaterThan(rest.lo[1]! + 0.2); // and up
    // normals stay outward after posing: the posed torso's front vertices face +z
    const n = vertexNormals(v, model.faces);
    let front = 0;
    body.vertexPart.forEach((p, i) => {
      if (p === 'torso' && v[i * 3 + 2]! > 0.09 && Math.abs(v[i * 3]!) < 0.05) front += n[i * 3 + 2]! > 0 ? 1 : -1;
    });
    expect(front).toBeGreaterThan(0);
  });

  it('pose correctives bulge outward at a bent elbow; jaw and expression move the face', () => {
    const bodyPose = new Float64Array(63);
    bodyPose[(jointIndex('left_elbow') - 1) * 3 + 1] = 1.4;
    const a = smplxForward(model, { bodyPose }, { poseCorrectives: false }).vertices!;
    const b = smplxForward(model, { bodyPose }).vertices!;
    let moved = 0;
    for (let i = 0; i < a.length; i++) moved = Math.max(moved, Math.abs(a[i]! - b[i]!));
    expect(moved).toBeGreaterThan(0.005);
    expect(moved).toBeLessThan(0.03);
    // the lower lip (the most forward vertex bound to the jaw) drops when the jaw opens or the "mouth open" expression is on
    const jaw = jointIndex('jaw');
    let chin = -1;
    for (let v = 0; v < model.numVertices; v++) {
      if (
        model.weights[v * 55 + jaw]! > 0.99 &&
        (chin < 0 || model.vTemplate[v * 3 + 2]! > model.vTemplate[chin * 3 + 2]!)
      )
        chin = v;
    }
    const restY = model.vTemplate[chin * 3 + 1]!;
    expect(smplxForward(model, { jawPose: [0.3, 0, 0] }).vertices![chin * 3 + 1]).toBeLessThan(restY - 0.01);
    expect(smplxForward(model, { expression: [1.5] }).vertices![chin * 3 + 1]).toBeLessThan(restY - 0.01);
  });

  it('shape directions: beta 0 makes it taller and the joints follow', () => {
    const tall = smplxForward(model, { betas: [2] });
    expect(box(tall.vertices!, /./).hi[1]).toBeGreaterThan(box(model.vTemplate, /./).hi[1]! + 0.08);
    expect(tall.joints[jointIndex('head') * 3 + 1]).toBeGreaterThan(body.joints[jointIndex('head') * 3 + 1]! + 0.08);
  });

  it('writes an .npz that the SMPL-X loader reads back to the same body', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'synth-')), 'synthetic_smplx.npz');
    writeSyntheticBody(path, body);
    const loaded = loadSmplxModel(path);
    const params = {
      betas: [0.5, -1],
      expression: [0.5],
      bodyPose: new Float64Array(63).fill(0.1),
      jawPose: [0.2, 0, 0],
    };
    const x = smplxForward(model, params).vertices!;
    const y = smplxForward(loaded, params).vertices!;
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    expect(worst).toBeLessThan(1e-6); // shapedirs/posedirs are stored as float32
  });
});
