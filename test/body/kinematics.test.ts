import { describe, expect, it } from 'vitest';
import { canoToLive, canonicalBodyPose, relativeTransforms } from '../../src/body/canonical.js';
import { kinematicChain, smplxForward } from '../../src/body/forward.js';
import { jointIndex, SMPLX_JOINT_NAMES, SMPLX_PARENTS } from '../../src/body/joints.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { invert4, mul4, rodrigues } from '../../src/body/rotation.js';
import { toFloat64 } from '../../src/io/npy.js';
import { readNpz } from '../../src/io/node/npz.js';

const fixture = (name: string): string => new URL(`../fixtures/body/${name}`, import.meta.url).pathname;
const expectClose = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-9): void => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThan(tol);
};
const mat4 = (R: Float64Array, t: number[]): Float64Array =>
  Float64Array.from([R[0]!, R[1]!, R[2]!, t[0]!, R[3]!, R[4]!, R[5]!, t[1]!, R[6]!, R[7]!, R[8]!, t[2]!, 0, 0, 0, 1]);
const mul = (a: Float64Array, b: Float64Array): Float64Array => {
  const o = new Float64Array(16);
  mul4(a, 0, b, 0, o, 0);
  return o;
};

describe('kinematic chain', () => {
  it('matches explicit matrix products on a hand-built 3-joint chain', () => {
    const rest = Float64Array.from([0.1, 0.2, 0.3, 0.5, 0.2, 0.3, 0.9, 0.1, 0.4]);
    const aa = [
      [0.3, -0.2, 0.5],
      [0, 1.2, 0],
      [-0.7, 0.1, 0.4],
    ];
    const rot = new Float64Array(27);
    aa.forEach((r, j) => rodrigues(r[0]!, r[1]!, r[2]!, rot, j * 9));
    const { A, joints } = kinematicChain([-1, 0, 1], rot, rest, [1, 2, 3]);
    const R = (j: number): Float64Array => rot.slice(j * 9, j * 9 + 9);
    const J = (j: number): number[] => [rest[j * 3]!, rest[j * 3 + 1]!, rest[j * 3 + 2]!];
    const I = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const T = (v: number[]): Float64Array => mat4(I, v);
    const sub = (a: number[], b: number[]): number[] => a.map((x, i) => x - b[i]!);
    // G0 = [R0|J0], G1 = G0 [R1|J1-J0], G2 = G1 [R2|J2-J1];  A_j = T(transl) G_j T(-J_j)
    const G0 = mat4(R(0), J(0));
    const G1 = mul(G0, mat4(R(1), sub(J(1), J(0))));
    const G2 = mul(G1, mat4(R(2), sub(J(2), J(1))));
    [G0, G1, G2].forEach((G, j) => {
      const expected = mul(T([1, 2, 3]), mul(G, T(J(j).map((x) => -x))));
      expectClose(A.subarray(j * 16, j * 16 + 16), expected, 1e-14);
      expectClose(joints.subarray(j * 3, j * 3 + 3), [G[3]! + 1, G[7]! + 2, G[11]! + 3], 1e-14);
    });
  });

  it('uses the SMPL-X joint order (joint 1 = left hip, 2 = right hip; hands off the wrists)', () => {
    expect(SMPLX_JOINT_NAMES.length).toBe(55);
    expect(jointIndex('left_hip')).toBe(1);
    expect(jointIndex('right_hip')).toBe(2);
    expect(jointIndex('jaw')).toBe(22);
    expect(jointIndex('left_index1')).toBe(25);
    expect(jointIndex('left_thumb3')).toBe(39);
    expect(jointIndex('right_index1')).toBe(40);
    expect(SMPLX_PARENTS[jointIndex('left_index1')]).toBe(jointIndex('left_wrist'));
    expect(SMPLX_PARENTS[jointIndex('right_thumb1')]).toBe(jointIndex('right_wrist'));
    const body = canonicalBodyPose();
    expect(body[2]).toBeCloseTo((25 * Math.PI) / 180, 15);
    expect(body[5]).toBeCloseTo((-25 * Math.PI) / 180, 15);
  });
});

describe('SMPL-X forward', () => {
  const model = loadSmplxModel(fixture('tiny_smplx.npz'));
  const ex = readNpz(fixture('tiny_expected.npz'));
  const pose = toFloat64(ex.get('pose'));
  const params = {
    betas: toFloat64(ex.get('betas')),
    expression: toFloat64(ex.get('expression')),
    transl: toFloat64(ex.get('transl')),
    globalOrient: pose.subarray(0, 3),
    bodyPose: pose.subarray(3, 66),
    jawPose: pose.subarray(66, 69),
    leyePose: pose.subarray(69, 72),
    reyePose: pose.subarray(72, 75),
    leftHandPose: pose.subarray(75, 120),
    rightHandPose: pose.subarray(120, 165),
  };

  it('matches an independent numpy/scipy implementation (vertices, joints, A)', () => {
    const out = smplxForward(model, params);
    expectClose(out.vertices!, toFloat64(ex.get('vertices')));
    expectClose(out.joints, toFloat64(ex.get('joints')));
    expectClose(out.A, toFloat64(ex.get('A')));
  });

  it('reads the same model from .pkl (scipy sparse J_regressor) as from .npz', () => {
    const pkl = loadSmplxModel(fixture('tiny_smplx.pkl'));
    expectClose(smplxForward(pkl, params).vertices!, toFloat64(ex.get('vertices')));
  });

  it('rest pose gives identity transforms and the shaped template', () => {
    const out = smplxForward(model, {});
    for (let j = 0; j < 55; j++)
      expectClose(out.A.subarray(j * 16, j * 16 + 16), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 1e-15);
    expectClose(out.vertices!, model.vTemplate, 1e-15);
  });

  it('a global rotation + translation moves everything rigidly about the pelvis', () => {
    const rest = smplxForward(model, { betas: params.betas, bodyPose: params.bodyPose });
    const moved = smplxForward(model, {
      betas: params.betas,
      bodyPose: params.bodyPose,
      globalOrient: [0.4, -1.1, 0.3],
      transl: [1, 2, 3],
    });
    const R = rodrigues(0.4, -1.1, 0.3);
    const p = rest.joints.subarray(0, 3);
    for (let v = 0; v < model.numVertices; v++) {
      const x = [0, 1, 2].map((c) => rest.vertices![v * 3 + c]! - p[c]!);
      const want = [0, 1, 2].map(
        (r) => R[3 * r]! * x[0]! + R[3 * r + 1]! * x[1]! + R[3 * r + 2]! * x[2]! + p[r]! + [1, 2, 3][r]!,
      );
      expectClose(moved.vertices!.subarray(v * 3, v * 3 + 3), want, 1e-12);
    }
  });
});

describe('canonical -> live joint matrices', () => {
  const model = loadSmplxModel(fixture('tiny_smplx.npz'));
  const betas = [0.5, -0.3, 0.1];
  it('are the identity when the frame is the canonical pose', () => {
    const c = canoToLive(model, { betas, bodyPose: canonicalBodyPose(), jawPose: [0.2, 0, 0] });
    for (let j = 0; j < 55; j++)
      expectClose(c.jointMats.subarray(j * 16, j * 16 + 16), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 1e-12);
  });

  it('woRoot ignores global orient, transl and hands; with root = root transform . woRoot (no hands)', () => {
    const bodyPose = Array.from({ length: 63 }, (_, i) => Math.sin(i) * 0.3);
    const withRoot = canoToLive(model, { betas, bodyPose, globalOrient: [0.1, 0.8, -0.2], transl: [0.5, 0, 1] });
    const plain = canoToLive(model, { betas, bodyPose, leftHandPose: new Array(45).fill(0.2) });
    expectClose(withRoot.jointMatsWoRoot, plain.jointMatsWoRoot, 1e-12);
    // A_live = T_root . A_woRoot, where T_root rotates about the rest pelvis and translates
    const T = new Float64Array(16);
    const Rg = rodrigues(0.1, 0.8, -0.2);
    const p = withRoot.live.restJoints.subarray(0, 3);
    const Rp = [0, 1, 2].map((r) => Rg[3 * r]! * p[0]! + Rg[3 * r + 1]! * p[1]! + Rg[3 * r + 2]! * p[2]!);
    T.set(
      mat4(
        Rg,
        [0, 1, 2].map((r) => p[r]! - Rp[r]! + [0.5, 0, 1][r]!),
      ),
    );
    const want = new Float64Array(55 * 16);
    for (let j = 0; j < 55; j++) mul4(T, 0, withRoot.jointMatsWoRoot, j * 16, want, j * 16);
    expectClose(withRoot.jointMats, want, 1e-12);
  });

  it('relativeTransforms(a, b) . b = a', () => {
    const a = smplxForward(model, { bodyPose: new Array(63).fill(0.2) }, { vertices: false }).A;
    const b = smplxForward(model, { bodyPose: canonicalBodyPose() }, { vertices: false }).A;
    const rel = relativeTransforms(a, b);
    const back = new Float64Array(16);
    const inv = new Float64Array(16);
    for (let j = 0; j < 55; j++) {
      mul4(rel, j * 16, b, j * 16, back, 0);
      expectClose(back, a.subarray(j * 16, j * 16 + 16), 1e-12);
      invert4(back, 0, inv, 0);
    }
  });
});
