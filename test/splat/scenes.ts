/** Small random scenes and cameras for the rasterizer tests. */
import type { Camera } from '../../src/splat/camera.js';
import type { SplatScene } from '../../src/splat/reference.js';
import { seededRandom } from '../helpers/numeric.js';

export function rotationMatrix(ax: number, ay: number, az: number): number[] {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(ay), Math.sin(ay), Math.cos(az), Math.sin(az)];
  const Rx = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  const Ry = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  const Rz = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  const m = (A: number[], B: number[]) =>
    Array.from({ length: 9 }, (_, k) => {
      const [r, c] = [Math.floor(k / 3), k % 3];
      return A[3 * r]! * B[c]! + A[3 * r + 1]! * B[3 + c]! + A[3 * r + 2]! * B[6 + c]!;
    });
  return m(Rz, m(Ry, Rx));
}

/** A camera looking at the origin from distance `dist`, slightly rotated, with the principal point at (cx, cy). */
export function makeCamera(
  width: number,
  height: number,
  opts: { f?: number; cx?: number; cy?: number; dist?: number } = {},
): Camera {
  const f = opts.f ?? 0.9 * width;
  const R = rotationMatrix(0.1, -0.2, 0.05);
  const T = [0.05, -0.1, opts.dist ?? 4];
  return { width, height, K: [f, 0, opts.cx ?? width / 2, 0, f * 1.1, opts.cy ?? height / 2, 0, 0, 1], R, T };
}

/** Round to float32 so the float64 reference sees exactly what the GPU sees. */
const f32 = (a: number[]) => Array.from(new Float32Array(a));

export interface SceneOpts {
  n: number;
  seed: number;
  spread?: number;
  scale?: [number, number];
  shDegree?: number;
  opacity?: [number, number];
}

export function randomScene(o: SceneOpts): SplatScene {
  const rand = seededRandom(o.seed);
  const spread = o.spread ?? 1.2;
  const [s0, s1] = o.scale ?? [0.03, 0.25];
  const [o0, o1] = o.opacity ?? [0.15, 0.95];
  const means: number[] = [];
  const scales: number[] = [];
  const rotations: number[] = [];
  const opacities: number[] = [];
  const colors: number[] = [];
  for (let i = 0; i < o.n; i++) {
    means.push((rand() * 2 - 1) * spread, (rand() * 2 - 1) * spread * 0.8, (rand() * 2 - 1) * spread);
    for (let k = 0; k < 3; k++) scales.push(s0 * Math.pow(s1 / s0, rand()));
    const q = [rand() * 2 - 1, rand() * 2 - 1, rand() * 2 - 1, rand() * 2 - 1];
    const l = Math.hypot(...q);
    rotations.push(...q.map((v) => v / l));
    opacities.push(o0 + (o1 - o0) * rand());
    colors.push(rand(), rand(), rand());
  }
  const scene: SplatScene = {
    count: o.n,
    means: f32(means),
    scales: f32(scales),
    rotations: f32(rotations),
    opacities: f32(opacities),
  };
  if (o.shDegree !== undefined) {
    const K = (o.shDegree + 1) ** 2;
    const sh: number[] = [];
    for (let i = 0; i < o.n; i++)
      for (let k = 0; k < K; k++) for (let c = 0; c < 3; c++) sh.push((rand() * 2 - 1) * (k === 0 ? 1.5 : 0.4));
    scene.sh = f32(sh);
  } else {
    scene.colors = f32(colors);
  }
  return scene;
}
