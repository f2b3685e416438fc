/**
 * Which frame the template is fitted on. The reference fits one frame close to an A-pose, picked by hand per
 * subject (the first of the config's frame range). Loose clothes make the choice matter: a frame with the legs apart
 * bakes the skirt's flare into the template, which every other pose must then undo with large offsets, and the
 * posed -> canonical inversion is ill-posed where differently skinned limbs come close. `auto` therefore picks the
 * frame whose body is closest to the canonical pose (body/canonical.ts's distanceFromCanonical).
 */
import type { SmplxParams } from '../../body/forward.js';
import { distanceFromCanonical } from '../../body/canonical.js';
import type { SmplxModel } from '../../body/model.js';
import { InputError } from '../../io/errors.js';

/** `first`: the first frame of the range (the reference's); `auto`: the one closest to the canonical pose; or a frame id. */
export type TemplateFrameChoice = 'first' | 'auto' | number;

export interface PickedFrame {
  frame: number;
  /** Its body's mean joint distance (m) from the canonical pose. */
  distance: number;
  /** The candidate closest to the canonical pose (the pick when `auto`). */
  closest: { frame: number; distance: number };
}

/**
 * Pick among `frames` (the capture's frames the config selects, in order). `source` names the config file for
 * errors.
 */
export function pickTemplateFrame(
  frames: readonly number[],
  paramsOf: (frame: number) => SmplxParams,
  model: SmplxModel,
  choice: TemplateFrameChoice,
  source: string,
): PickedFrame {
  if (frames.length === 0) throw new InputError(`${source}: train.data.frame_range selects no frames of the capture`);
  if (typeof choice === 'number' && !frames.includes(choice)) {
    throw new InputError(
      `${source}: train.frame: frame ${choice} is not among the ${frames.length} frames train.data.frame_range selects ` +
        `(${frames[0]}..${frames[frames.length - 1]}): pick one of them or widen the range`,
    );
  }
  let closest = { frame: frames[0]!, distance: Infinity };
  const distance = new Map<number, number>();
  for (const f of frames) {
    const d = distanceFromCanonical(model, paramsOf(f));
    distance.set(f, d);
    if (d < closest.distance) closest = { frame: f, distance: d };
  }
  const frame = choice === 'auto' ? closest.frame : choice === 'first' ? frames[0]! : choice;
  return { frame, distance: distance.get(frame)!, closest };
}
