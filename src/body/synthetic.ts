/** The synthetic SMPL-X-compatible body (implementation in ./synthetic/). */
export { buildSyntheticBody, syntheticSmplxModel, type SyntheticBody } from './synthetic/index.js';
