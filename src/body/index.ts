/** SMPL-X body model: loading, forward kinematics, canonical pose, LBS, pose sequences, the synthetic body. */
export * from './joints.js';
export * from './rotation.js';
export * from './model.js';
export * from './forward.js';
export * from './canonical.js';
export * from './lbs.js';
export * from './hands.js';
export * from './poses.js';
export * from './mesh.js';
export { buildSyntheticBody, syntheticSmplxModel, type SyntheticBody } from './synthetic.js';
