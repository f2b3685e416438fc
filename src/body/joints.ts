/**
 * The SMPL-X skeleton: 55 joints in the model's order (22 body joints, jaw, two eyes, 15 per hand), and the
 * kinematic tree. The order is fixed by the model files (kintree_table); these names and parents are the
 * published SMPL-X layout, used by the synthetic body and to index poses by name.
 */
export const SMPLX_JOINT_NAMES = [
  'pelvis',
  'left_hip',
  'right_hip',
  'spine1',
  'left_knee',
  'right_knee',
  'spine2',
  'left_ankle',
  'right_ankle',
  'spine3',
  'left_foot',
  'right_foot',
  'neck',
  'left_collar',
  'right_collar',
  'head',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'jaw',
  'left_eye_smplhf',
  'right_eye_smplhf',
  ...handJointNames('left'),
  ...handJointNames('right'),
] as const;

function handJointNames(side: 'left' | 'right'): string[] {
  const out: string[] = [];
  for (const finger of ['index', 'middle', 'pinky', 'ring', 'thumb'])
    for (let k = 1; k <= 3; k++) out.push(`${side}_${finger}${k}`);
  return out;
}

export const NUM_JOINTS = 55;
/** Joints 1..21 are driven by body_pose (body_pose index = joint - 1). */
export const NUM_BODY_JOINTS = 21;
export const NUM_HAND_JOINTS = 15;
export const JAW = 22;
export const LEFT_EYE = 23;
export const RIGHT_EYE = 24;
export const LEFT_HAND_START = 25;
export const RIGHT_HAND_START = 40;
/** Pose blend shapes use (R - I) of every joint but the root: 54 x 9 = 486 features. */
export const NUM_POSE_FEATURES = (NUM_JOINTS - 1) * 9;

/** Parent of each joint (-1 for the pelvis). */
export const SMPLX_PARENTS: readonly number[] = [
  -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
  // left hand: index, middle, pinky, ring, thumb chains hang off the left wrist (20)
  20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
  // right hand off the right wrist (21)
  21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
];

export function jointIndex(name: string): number {
  const i = (SMPLX_JOINT_NAMES as readonly string[]).indexOf(name);
  if (i < 0) throw new Error(`unknown SMPL-X joint '${name}'`);
  return i;
}
