import { describe, expect, it } from 'vitest';
import { lbsPoints, lbsQuaternions } from '../../src/body/lbs.js';
import { matrixToQuaternion, quaternionToMatrix, rodrigues } from '../../src/body/rotation.js';

const expectClose = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12): void => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(a.length).toBe(b.length);
  expect(worst).toBeLessThan(tol);
};
function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

describe('rotations', () => {
  it('matrix -> quaternion -> matrix round-trips, including 180-degree turns, with w >= 0', () => {
    const r = rng(1);
    const axes = [
      [Math.PI, 0, 0],
      [0, Math.PI, 0],
      [0, 0, Math.PI],
      [Math.PI / Math.sqrt(2), Math.PI / Math.sqrt(2), 0],
      [1e-9, 0, 0],
      [0, 0, 0],
    ];
    for (let i = 0; i < 200; i++) axes.push([r() * 3, r() * 3, r() * 3]);
    for (const a of axes) {
      const R = rodrigues(a[0]!, a[1]!, a[2]!);
      const q = matrixToQuaternion(R);
      expect(q[0]).toBeGreaterThanOrEqual(0);
      expect(Math.hypot(...q)).toBeCloseTo(1, 12);
      expectClose(quaternionToMatrix(q), R, 1e-12);
    }
  });

  it('Rodrigues gives the axis-angle rotation (about z by 90 degrees)', () => {
    expectClose(rodrigues(0, 0, Math.PI / 2), [0, -1, 0, 1, 0, 0, 0, 0, 1], 1e-15);
  });
});

describe('LBS of points and rotations', () => {
  const J = 5;
  const N = 50;
  const r = rng(2);
  const points = Float64Array.from({ length: N * 3 }, () => r());
  const quats = new Float64Array(N * 4);
  for (let i = 0; i < N; i++) matrixToQuaternion(rodrigues(r() * 2, r() * 2, r() * 2), 0, quats, i * 4);
  const weights = new Float64Array(N * J);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < J; j++) s += weights[i * J + j] = r() > 0 ? Math.abs(r()) : 0;
    if (s === 0) weights[i * J] = s = 1;
    for (let j = 0; j < J; j++) weights[i * J + j] /= s;
  }
  const stack = (m: ArrayLike<number>): Float64Array => {
    const out = new Float64Array(J * 16);
    for (let j = 0; j < J; j++) out.set(m, j * 16);
    return out;
  };

  it('identity transforms leave points and rotations unchanged', () => {
    const I = stack([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    expectClose(lbsPoints(points, weights, I), points, 1e-15);
    expectClose(lbsQuaternions(quats, weights, I), quats, 1e-12);
  });

  it('one rigid motion on every joint moves all points rigidly and composes rotations', () => {
    const R = rodrigues(0.3, -0.9, 1.4);
    const t = [0.5, -1, 2];
    const M = stack([R[0]!, R[1]!, R[2]!, t[0]!, R[3]!, R[4]!, R[5]!, t[1]!, R[6]!, R[7]!, R[8]!, t[2]!, 0, 0, 0, 1]);
    const moved = lbsPoints(points, weights, M);
    const rq = lbsQuaternions(quats, weights, M);
    for (let i = 0; i < N; i++) {
      const p = [points[i * 3]!, points[i * 3 + 1]!, points[i * 3 + 2]!];
      const want = [0, 1, 2].map((k) => R[3 * k]! * p[0]! + R[3 * k + 1]! * p[1]! + R[3 * k + 2]! * p[2]! + t[k]!);
      expectClose(moved.subarray(i * 3, i * 3 + 3), want, 1e-14);
      const Ri = quaternionToMatrix(quats, i * 4);
      const RR = new Float64Array(9);
      for (let a = 0; a < 3; a++)
        for (let b = 0; b < 3; b++)
          RR[3 * a + b] = R[3 * a]! * Ri[b]! + R[3 * a + 1]! * Ri[3 + b]! + R[3 * a + 2]! * Ri[6 + b]!;
      expectClose(quaternionToMatrix(rq, i * 4), RR, 1e-12);
    }
  });

  it('blends matrices linearly (a point half on two translations moves by their average)', () => {
    const T = new Float64Array(2 * 16);
    T.set([1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 0);
    T.set([1, 0, 0, 0, 0, 1, 0, 3, 0, 0, 1, 0, 0, 0, 0, 1], 16);
    expectClose(lbsPoints([1, 1, 1], [0.5, 0.5], T), [1.5, 2.5, 1], 1e-15);
    expect(() => lbsPoints([1, 1, 1], [1], T)).toThrow(/weights/);
  });
});
