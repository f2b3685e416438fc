import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/io/errors.js';
import { parseCalibrationJson, parseCameraJson, type Camera as CaptureCamera } from '../../src/data/camera.js';
import { cameraProblem, validateCamera, type Camera } from '../../src/splat/camera.js';

const good = () => ({
  width: 64,
  height: 48,
  K: [
    [50, 0, 32],
    [0, 50, 24],
    [0, 0, 1],
  ],
  R: [
    [1, 0, 0],
    [0, -1, 0],
    [0, 0, -1],
  ],
  T: [0, 0, 3],
});

/** The error of `validateCamera` on `c`, checked to be one line naming the camera. */
function error(c: unknown, source = 'cams.json', index?: number | string): string {
  try {
    validateCamera(c, source, index);
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    expect(m.startsWith(source)).toBe(true);
    return m;
  }
  throw new Error('expected validateCamera to throw');
}

describe('validateCamera', () => {
  it('accepts a good camera, nested or flat, and a rotation rounded to a few digits', () => {
    const cam = validateCamera(good());
    expect(Array.from(cam.K)).toEqual([50, 0, 32, 0, 50, 24, 0, 0, 1]);
    const flat = { ...good(), R: [0.7071, -0.7071, 0, 0.7071, 0.7071, 0, 0, 0, 1] };
    expect(validateCamera(flat).R[0]).toBe(0.7071);
  });

  it('names the file and the camera index or name', () => {
    expect(error({ ...good(), width: 0 }, 'cams.json', 3)).toMatch(
      /^cams\.json: camera #3: 'width' must be a positive/,
    );
    expect(error({ ...good(), height: 1.5 }, 'cams.json', 'cam07')).toMatch(/^cams\.json: camera 'cam07': 'height'/);
  });

  it.each([
    ['not an object', 7, /expected an object \{width, height, K/],
    ['an array', [good()], /expected an object/],
    ['a negative width', { ...good(), width: -4 }, /'width' must be a positive integer/],
    ['a huge height', { ...good(), height: 1e9 }, /'height' must be a positive integer ≤ 65536/],
    ['a NaN width', { ...good(), width: NaN }, /'width'/],
    ['no K', { ...good(), K: undefined }, /has no 'K'; add it/],
    [
      'a ragged R',
      {
        ...good(),
        R: [
          [1, 0, 0],
          [0, 1],
          [0, 0, 1, 0],
        ],
      },
      /'R' must be a 3×3 matrix/,
    ],
    ['a string in T', { ...good(), T: [0, '0', 3] }, /'T' must be 3 numbers/],
    ['NaN in K', { ...good(), K: [50, 0, NaN, 0, 50, 24, 0, 0, 1] }, /'K' must be finite, got NaN at \[0\]\[2\]/],
    ['Inf in T', { ...good(), T: [0, Infinity, 3] }, /'T' must be finite, got Infinity at \[1\]/],
    ['a zero focal length', { ...good(), K: [0, 0, 32, 0, 50, 24, 0, 0, 1] }, /positive focal lengths fx/],
    ['a negative fy', { ...good(), K: [50, 0, 32, 0, -50, 24, 0, 0, 1] }, /positive focal lengths/],
    [
      'a projective last row',
      { ...good(), K: [50, 0, 32, 0, 50, 24, 0, 1, 1] },
      /'K' must be \[\[fx, s, cx\], \[0, fy, cy\], \[0, 0, 1\]\]/,
    ],
    ['an all-zero R', { ...good(), R: [0, 0, 0, 0, 0, 0, 0, 0, 0] }, /'R' is not a rotation matrix/],
    ['a scaled R', { ...good(), R: [2, 0, 0, 0, 2, 0, 0, 0, 2] }, /'R' is not a rotation matrix/],
    ['a mirror', { ...good(), R: [-1, 0, 0, 0, 1, 0, 0, 0, 1] }, /determinant -1\.000/],
    ['a sheared R', { ...good(), R: [1, 0.01, 0, 0, 1, 0, 0, 0, 1] }, /'R' is not a rotation matrix/],
  ])('refuses %s', (_what, c, re) => {
    expect(error(c)).toMatch(re);
  });
});

describe('one camera check for capture calibrations and render cameras', () => {
  it('cameraProblem is null for a good camera and names the field otherwise', () => {
    const cam = validateCamera(good());
    expect(cameraProblem(cam)).toBeNull();
    const bad: Camera = { ...cam, T: [0, NaN, 0] };
    expect(cameraProblem(bad)).toMatch(/^'T' must be finite/);
  });

  it('a calibration entry is refused by the same rules, naming the file and the camera', () => {
    const entry = (R: number[][]) => ({ K: good().K, R, T: [0, 0, 3], imgSize: [64, 48] });
    const text = JSON.stringify({
      cam00: entry(good().R),
      cam01: entry([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 2],
      ]),
    });
    expect(() => parseCalibrationJson(text, 'calibration.json')).toThrow(
      /^calibration\.json: camera 'cam01': 'R' is not a rotation matrix/,
    );
    const cams: CaptureCamera[] = parseCalibrationJson(JSON.stringify({ cam00: entry(good().R) }), 'c.json');
    expect(cams[0]!.name).toBe('cam00');
    // a capture camera is a render camera
    const asRender: Camera = cams[0]!;
    expect(cameraProblem(asRender)).toBeNull();
    expect(() =>
      parseCameraJson(
        JSON.stringify({
          ...good(),
          K: [
            [50, 0, 32],
            [0, 0, 24],
            [0, 0, 1],
          ],
        }),
        'cam.json',
      ),
    ).toThrow(/^cam\.json: 'K' must have positive focal lengths/);
  });
});
