/** The synthetic SMPL-X-compatible body (implementation in ./synthetic/). */
export { buildSyntheticBody, syntheticSmplxModel, writeSyntheticBody, type SyntheticBody } from './synthetic/index.js';
