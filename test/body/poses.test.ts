import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { handPose } from '../../src/body/hands.js';
import { frameParams, selectFrames } from '../../src/body/poses.js';
import { readPoseSequence } from '../../src/body/node/files.js';
import { ndarray } from '../../src/io/npy.js';
import { writeNpz } from '../../src/io/node/npz.js';

const dir = mkdtempSync(join(tmpdir(), 'poses-'));
const seqArray = (n: number, c: number, scale = 1): Float64Array =>
  Float64Array.from({ length: n * c }, (_, i) => i * scale);

describe('pose sequence readers', () => {
  it('selects frames like Python ranges, with lists of ranges and intervals', () => {
    expect(selectFrames(10, undefined, 4)).toEqual([0, 4, 8]);
    expect(selectFrames(10, [2, 7])).toEqual([2, 3, 4, 5, 6]);
    expect(selectFrames(10, [2, 20, 3])).toEqual([2, 5, 8]);
    expect(
      selectFrames(10, [
        [0, 2],
        [8, 10],
      ]),
    ).toEqual([0, 1, 8, 9]);
    expect(() => selectFrames(10, undefined, 0)).toThrow(/interval/);
  });

  it('reads smpl_params .npz (betas row 0, optional jaw/expression/hands) with frame range and interval', () => {
    const N = 6;
    const path = join(dir, 'smpl_params.npz');
    writeNpz(path, {
      betas: ndarray(seqArray(1, 10, 0.1), [1, 10]),
      global_orient: ndarray(seqArray(N, 3), [N, 3]),
      transl: ndarray(seqArray(N, 3, -1), [N, 3]),
      body_pose: ndarray(new Float32Array(seqArray(N, 63, 0.01)), [N, 63]),
      jaw_pose: ndarray(seqArray(N, 3), [N, 3]),
      expression: ndarray(seqArray(N, 10), [N, 10]),
      left_hand_pose: ndarray(seqArray(N, 45), [N, 45]),
      right_hand_pose: ndarray(seqArray(N, 45, 2), [N, 45]),
    });
    const s = readPoseSequence(path, { frameRange: [1, 6], frameInterval: 2 });
    expect(s.format).toBe('smpl_params');
    expect(s.frameIndices).toEqual([1, 3, 5]);
    expect(Array.from(s.betas)[3]).toBeCloseTo(0.3, 12);
    const f = frameParams(s, 1); // file frame 3
    expect(Array.from(f.globalOrient!)).toEqual([9, 10, 11]);
    expect(f.bodyPose![0]).toBeCloseTo(3 * 63 * 0.01, 6);
    expect(f.rightHandPose![0]).toBe(3 * 45 * 2);
    expect(f.expression![9]).toBe(39);
    // replace the hands; override betas with the avatar's
    const z = readPoseSequence(path, { handPoseType: 'zero', betas: [1, 2] });
    expect(z.leftHandPose.every((x) => x === 0)).toBe(true);
    expect(Array.from(z.betas.subarray(0, 3))).toEqual([1, 2, 0]);
  });

  it('uses the fist when a smpl_params file has no hands, and rejects inconsistent files', () => {
    const path = join(dir, 'nohands.npz');
    writeNpz(path, { global_orient: ndarray(seqArray(2, 3), [2, 3]), body_pose: ndarray(seqArray(2, 63), [2, 63]) });
    const s = readPoseSequence(path);
    expect(Array.from(s.leftHandPose.subarray(45, 90))).toEqual(Array.from(handPose('fist').left));
    expect(Array.from(s.rightHandPose.subarray(0, 45))).toEqual(Array.from(handPose('fist').right));
    const bad = join(dir, 'bad.npz');
    writeNpz(bad, { global_orient: ndarray(seqArray(3, 3), [3, 3]), body_pose: ndarray(seqArray(2, 63), [2, 63]) });
    expect(() => readPoseSequence(bad)).toThrow(/bad\.npz: 'global_orient' has 3 frames but the poses have 2/);
    const other = join(dir, 'other.npz');
    writeNpz(other, { foo: ndarray(seqArray(1, 3), [1, 3]) });
    expect(() => readPoseSequence(other)).toThrow(/other\.npz: not a recognised pose sequence \(found: foo\)/);
  });

  it('reads AMASS (SMPL-H 156) with the fix-ups and the given betas; SMPL-X 165 too', () => {
    const N = 3;
    const path = join(dir, 'walk_poses.npz');
    const poses = seqArray(N, 156, 0.001);
    writeNpz(path, {
      poses: ndarray(poses, [N, 156]),
      trans: ndarray(seqArray(N, 3), [N, 3]),
      gender: ndarray(['male'], []),
    });
    const s = readPoseSequence(path, { betas: [0.5] });
    expect(s.format).toBe('amass');
    const f = frameParams(s, 2);
    const raw = (c: number): number => poses[2 * 156 + c]!;
    expect(f.globalOrient![1]).toBeCloseTo(raw(1), 12);
    expect(f.bodyPose![0]).toBeCloseTo(raw(3), 12);
    expect(f.bodyPose![12 * 3 + 2]).toBeCloseTo(raw(3 + 12 * 3 + 2) + 0.3, 12);
    expect(f.bodyPose![13 * 3 + 2]).toBeCloseTo(raw(3 + 13 * 3 + 2) - 0.3, 12);
    expect(f.bodyPose![14 * 3]).toBe(0);
    expect(f.bodyPose![14 * 3 + 1]).toBeCloseTo(raw(3 + 14 * 3 + 1), 12);
    expect(Array.from((f.bodyPose as Float64Array).subarray(57, 63))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(f.leftHandPose![0]).toBeCloseTo(raw(66), 12);
    expect(f.rightHandPose![44]).toBeCloseTo(raw(155), 12);
    expect(s.betas[0]).toBe(0.5);
    const raw2 = readPoseSequence(path, { amassFixups: false });
    expect(frameParams(raw2, 2).bodyPose![14 * 3]).toBeCloseTo(raw(3 + 14 * 3), 12);

    const x = join(dir, 'smplx_poses.npz');
    writeNpz(x, { poses: ndarray(seqArray(1, 165), [1, 165]), trans: ndarray(seqArray(1, 3), [1, 3]) });
    const sx = frameParams(readPoseSequence(x), 0);
    expect(Array.from(sx.jawPose!)).toEqual([66, 67, 68]);
    expect(sx.leftHandPose![0]).toBe(75);
  });

  it('reads an AIST++ pickle: 22 SMPL joints, translation x 1e-3, fist hands by default', () => {
    const s = readPoseSequence(new URL('../fixtures/body/aist_tiny.pkl', import.meta.url).pathname, {
      frameRange: [1, 3],
    });
    expect(s.format).toBe('aistpp');
    expect(s.numFrames).toBe(2);
    const f = frameParams(s, 0); // file frame 1
    expect(f.globalOrient![0]).toBeCloseTo(0.072, 6);
    expect(f.bodyPose![62]).toBeCloseTo(0.072 + 0.065, 6);
    expect(Array.from(f.transl!).map((x) => +x.toFixed(6))).toEqual([0.3, 0.4, 0.5]);
    expect(Array.from(f.leftHandPose!)).toEqual(Array.from(handPose('fist').left));
  });
});

describe('hand poses', () => {
  it('fist curls the left fingers about -z and the right about +z; normal is gentler; mirrored thumbs', () => {
    const fist = handPose('fist');
    const normal = handPose('normal');
    for (let f = 0; f < 4; f++) {
      for (let k = 0; k < 3; k++) {
        const i = (f * 3 + k) * 3 + 2;
        expect(fist.left[i]).toBeLessThan(-0.5);
        expect(fist.right[i]).toBeGreaterThan(0.5);
        expect(Math.abs(normal.left[i]!)).toBeLessThan(Math.abs(fist.left[i]!));
      }
    }
    expect(fist.right[36]).toBe(fist.left[36]);
    expect(fist.right[37]).toBe(-fist.left[37]!);
    expect(handPose('zero').left.every((x) => x === 0)).toBe(true);
  });
});
