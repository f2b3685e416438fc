/** The animation's cameras look at the subject from where their names say; flags parse or fail in one line. */
import { describe, expect, it } from 'vitest';
import { parseFrameRange, selectFrameIds } from '../../src/animate/pose-source.js';
import {
  FREE_VIEW_FRAMES,
  parseView,
  scaledCamera,
  syntheticCamera,
  uprightRotation,
  VIEW_DISTANCE,
  type ViewRig,
} from '../../src/animate/views.js';
import { rodrigues } from '../../src/body/rotation.js';
import { cameraCenter, projectPoint, type Camera } from '../../src/data/camera.js';

const W = 640;
const H = 480;
// a body turned and tilted in its world (as AMASS's z-up data or a capture's y-down world would be)
const go = [0.9, -1.7, 0.4];
const Rgo = rodrigues(go[0]!, go[1]!, go[2]!);
const col = (k: number) => [Rgo[k]!, Rgo[3 + k]!, Rgo[6 + k]!];
const up = col(1); // the body's up (its y axis)
const facing = col(2); // where its front looks (its z axis)
const center = [0.3, -1.2, 2.0];
const rig: ViewRig = { width: W, height: H, center, upright: uprightRotation('body', go) };

const add = (a: number[], b: number[], s = 1) => a.map((v, i) => v + s * b[i]!);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
const project = (cam: Camera, p: number[]) => projectPoint(cam, p[0]!, p[1]!, p[2]!);
const unitFromCenter = (cam: Camera) => {
  const d = add(Array.from(cameraCenter(cam)), center, -1);
  const l = Math.hypot(...d);
  return { d: d.map((v) => v / l), l };
};

describe('animation cameras', () => {
  it('front, back, free and bird views look at the body centre from its front, back, side and above', () => {
    for (const [setting, i] of [
      ['front', 0],
      ['back', 0],
      ['front_bird', 0],
      ['back_bird', 0],
      ['free', 0],
      ['free', 54],
      ['moving', 0],
    ] as const) {
      const cam = syntheticCamera(setting, rig, i);
      const [u, v, z] = project(cam, center);
      expect(u).toBeCloseTo(W / 2, 9);
      expect(v).toBeCloseTo(H / 2, 9);
      expect(z).toBeCloseTo(VIEW_DISTANCE, 9);
      expect(cam.K[0]).toBeCloseTo((1100 * H) / 1024, 9);
      // the head is above the centre in the image, on the vertical through it
      const [hu, hv] = project(cam, add(center, up, 0.5));
      expect(hv).toBeLessThan(H / 2 - 50);
      expect(hu).toBeCloseTo(W / 2, 6);
      const { d, l } = unitFromCenter(cam);
      expect(l).toBeCloseTo(VIEW_DISTANCE, 9);
      const along = dot(d, facing);
      if (setting === 'front' || setting === 'moving' || (setting === 'free' && i === 0))
        expect(along).toBeCloseTo(1, 9);
      if (setting === 'back') expect(along).toBeCloseTo(-1, 9);
      if (setting === 'front_bird') expect(along).toBeCloseTo(Math.cos(0.3), 9);
      if (setting === 'back_bird') expect(along).toBeCloseTo(-Math.cos(Math.PI / 8), 9);
      if (setting.endsWith('bird'))
        expect(dot(d, up)).toBeGreaterThan(0.25); // from above
      else expect(dot(d, up)).toBeCloseTo(0, 9);
      if (setting === 'free' && i === 54) expect(along).toBeCloseTo(0, 9); // a quarter turn: the side
    }
    // the orbit comes round in 216 frames
    const a = syntheticCamera('free', rig, 7);
    const b = syntheticCamera('free', rig, 7 + FREE_VIEW_FRAMES);
    for (let k = 0; k < 9; k++) expect(b.R[k]).toBeCloseTo(a.R[k]!, 9);
  });

  it('the moving view follows the body horizontally, not up and down', () => {
    const shift = add(add([0, 0, 0], facing, 0.7), up, 0.4); // forward and up (a jump)
    const side = [0, 1, 2].map(
      (k) => up[(k + 1) % 3]! * facing[(k + 2) % 3]! - up[(k + 2) % 3]! * facing[(k + 1) % 3]!,
    );
    const s2 = add(shift, side, 0.5);
    const cam = syntheticCamera('moving', rig, 3, s2);
    const moved = add(center, add(add([0, 0, 0], facing, 0.7), side, 0.5));
    const [u, v] = project(cam, moved);
    expect(u).toBeCloseTo(W / 2, 9);
    expect(v).toBeCloseTo(H / 2, 9);
    // the front view ignores the shift
    const front = syntheticCamera('front', rig, 3, s2);
    expect(project(front, center)[0]).toBeCloseTo(W / 2, 9);
  });

  it("'world' keeps the capture's axes; 'cano' frames the canonical body at f = 5000", () => {
    const world: ViewRig = { ...rig, upright: uprightRotation('world', go) };
    const cam = syntheticCamera('front', world, 0);
    expect(Array.from(cam.R)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const cano = syntheticCamera('cano', { ...rig, center: [0, 0.2, 0] }, 0);
    expect(cano.K[0]).toBeCloseTo((5000 * H) / 1024, 9);
    const [u, v] = project(cano, [0, 0.2, 0]);
    expect([u, v].map((x) => Math.round(x))).toEqual([W / 2, H / 2]);
    // the canonical body (y up, facing +z) stands upright and fits: head and feet 0.9 m from the centre
    const [, head] = project(cano, [0, 1.1, 0]);
    const [, feet] = project(cano, [0, -0.7, 0]);
    expect(head).toBeGreaterThan(0);
    expect(feet).toBeLessThan(H);
    expect(head).toBeLessThan(feet);
    expect(cameraCenter(cano)[2]).toBeGreaterThan(0); // in front of the face (+z)
  });

  it('a capture camera scales to another image size', () => {
    const cam = syntheticCamera('front', rig, 0);
    const big = scaledCamera({ ...cam, name: 'c' }, 2 * W, 3 * H);
    const p = add(center, [0.1, 0.2, -0.1]);
    const [u, v] = project(cam, p);
    const [u2, v2] = project(big, p);
    expect(u2).toBeCloseTo(2 * u, 9);
    expect(v2).toBeCloseTo(3 * v, 9);
  });

  it('views, frame ranges and selections parse or fail with one line', () => {
    expect(parseView('free')).toEqual({ setting: 'free' });
    expect(parseView('camera:12')).toEqual({ setting: 'camera', camId: 12 });
    expect(() => parseView('orbit')).toThrow(/--view 'orbit': expected one of camera, free/);
    expect(parseFrameRange('2:9:3')).toEqual([2, 9, 3]);
    expect(parseFrameRange('0:4')).toEqual([0, 4]);
    for (const bad of ['5:2', '1:1', 'a:b', '3', '1:5:0', '-1:4', '1:2:3:4'])
      expect(() => parseFrameRange(bad)).toThrow(/^--frames/);
    expect(selectFrameIds(10, [2, 9, 3], 1, 'p.npz')).toEqual([2, 5, 8]);
    expect(
      selectFrameIds(
        10,
        [
          [0, 2],
          [6, 10],
        ],
        2,
        'p.npz',
      ),
    ).toEqual([0, 6, 8]);
    expect(selectFrameIds(5, null, 2, 'p.npz')).toEqual([0, 2, 4]);
    expect(() => selectFrameIds(10, [4, 12], 1, 'p.npz')).toThrow(
      /p\.npz: frame range \[4, 12\] goes past the file's 10 frames/,
    );
  });
});
