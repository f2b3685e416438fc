import { describe, expect, it } from 'vitest';
import { canonicalBodyPose, distanceFromCanonical } from '../../src/body/canonical.js';
import { buildSyntheticBody, syntheticSmplxModel } from '../../src/body/synthetic/index.js';
import { trainingMotion } from '../../src/data/synth/motion.js';
import { pickTemplateFrame } from '../../src/prep/template/frame.js';

const model = syntheticSmplxModel(buildSyntheticBody());

describe('the template frame', () => {
  it('measures how far a body is from the canonical pose, ignoring the root', () => {
    const betas = Float64Array.from([0.3, -0.2]);
    const cano = { bodyPose: canonicalBodyPose(), betas };
    expect(distanceFromCanonical(model, cano)).toBeCloseTo(0, 12);
    // the global orientation and translation do not count
    const turned = { ...cano, globalOrient: Float64Array.of(0.3, 1.2, -0.4), transl: Float64Array.of(1, 2, 3) };
    expect(distanceFromCanonical(model, turned)).toBeCloseTo(0, 12);
    // legs together (the zero pose) are some centimetres away; bending a knee adds to it
    const zero = distanceFromCanonical(model, { bodyPose: new Float64Array(63), betas });
    expect(zero).toBeGreaterThan(0.01);
    const knee = new Float64Array(63);
    knee[3 * 3] = 1.2; // body_pose index 3 = joint 4 = left knee
    expect(distanceFromCanonical(model, { bodyPose: knee, betas })).toBeGreaterThan(zero);
  });

  it('auto picks the frame closest to the canonical pose: the legs together, not mid-stride', () => {
    const motion = trainingMotion(24, 1);
    const frames = motion.map((_, i) => i);
    const auto = pickTemplateFrame(frames, (f) => motion[f]!, model, 'auto', 'template.yaml');
    // the motion: walking (frames 0-7), arm swings with the legs together (8-15), a squat (16-23)
    expect(auto.frame).toBeGreaterThanOrEqual(8);
    expect(auto.frame).toBeLessThan(16);
    expect(auto.closest).toEqual({ frame: auto.frame, distance: auto.distance });
    for (const f of frames) expect(distanceFromCanonical(model, motion[f]!)).toBeGreaterThanOrEqual(auto.distance);
    const first = pickTemplateFrame(frames, (f) => motion[f]!, model, 'first', 'template.yaml');
    expect(first.frame).toBe(0);
    expect(first.distance).toBeGreaterThan(auto.distance);
    expect(first.closest.frame).toBe(auto.frame);
    expect(pickTemplateFrame(frames, (f) => motion[f]!, model, 5, 'template.yaml').frame).toBe(5);
  });

  it('refuses a frame outside the range, and an empty range', () => {
    const motion = trainingMotion(4, 1);
    expect(() => pickTemplateFrame([0, 2], (f) => motion[f]!, model, 3, 'tpl.yaml')).toThrow(
      /tpl.yaml: train.frame: frame 3 is not among the 2 frames/,
    );
    expect(() => pickTemplateFrame([], (f) => motion[f]!, model, 'auto', 'tpl.yaml')).toThrow(/selects no frames/);
  });
});
