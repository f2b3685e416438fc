/**
 * Default 45-D hand poses (15 joints x axis-angle, SMPL-X order index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3)
 * for pose sequences without hands: 'fist', 'normal' (relaxed, slightly curled) and 'zero' (flat).
 * These are our own: in the rest pose the left hand's fingers point along +x with the palm down (-y), so curling a
 * finger toward the palm is a rotation about -z; the right hand is the mirror image (about +z). Mirroring through
 * the x = 0 plane maps an axis-angle (x, y, z) to (x, -y, -z).
 */
export type HandPoseType = 'ori' | 'fist' | 'normal' | 'zero';

/** Per finger joint: [x, y, z] axis-angle of the LEFT hand. */
function leftHand(curl: [number, number, number], thumb: [number, number, number][], spread: number): Float64Array {
  const out = new Float64Array(45);
  // index, middle, pinky, ring: fingers converge slightly (about y) as they curl, like a real fist
  const fan = [spread, 0, -spread * 1.5, -spread * 0.7];
  for (let f = 0; f < 4; f++) {
    for (let k = 0; k < 3; k++) {
      out[(f * 3 + k) * 3 + 1] = k === 0 ? fan[f]! : 0;
      out[(f * 3 + k) * 3 + 2] = -curl[k]! * (f === 2 ? 1.05 : 1); // the pinky curls a little more
    }
  }
  for (let k = 0; k < 3; k++) out.set(thumb[k]!, (12 + k) * 3);
  return out;
}

function mirror(left: Float64Array): Float64Array {
  const right = left.slice();
  for (let i = 0; i < 45; i += 3) {
    right[i + 1] = -left[i + 1]!;
    right[i + 2] = -left[i + 2]!;
  }
  return right;
}

// fist: knuckles ~75 deg, middle joints ~95 deg, tips ~55 deg; the thumb folds across the front of the fingers
const FIST_LEFT = leftHand(
  [1.3, 1.65, 0.95],
  [
    [0.35, 0.85, -0.1],
    [0.15, 0.45, -0.1],
    [0.0, 0.5, -0.1],
  ],
  0.08,
);
// relaxed: a gentle natural curl
const NORMAL_LEFT = leftHand(
  [0.25, 0.35, 0.2],
  [
    [0.1, 0.2, -0.05],
    [0.05, 0.15, -0.05],
    [0.0, 0.15, 0.0],
  ],
  0.03,
);

/** The (left, right) 45-D hand poses of a hand pose type ('ori' has none of its own: callers use the file's). */
export function handPose(type: Exclude<HandPoseType, 'ori'>): { left: Float64Array; right: Float64Array } {
  if (type === 'zero') return { left: new Float64Array(45), right: new Float64Array(45) };
  const left = type === 'fist' ? FIST_LEFT : NORMAL_LEFT;
  return { left: left.slice(), right: mirror(left) };
}
