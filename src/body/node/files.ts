/**
 * The body model's files on disk: SMPL-X models, pose sequences and the synthetic body. The parsers (model.ts,
 * poses.ts) take bytes so a browser can feed them fetched data; this module is the Node side that reads the files.
 */
import { readBytes } from '../../io/node/files.js';
import { writeNpz } from '../../io/node/npz.js';
import { decodeSmplxModel, SMPLX_DOWNLOAD_HINT, type LoadOptions, type SmplxModel } from '../model.js';
import { decodePoseSequence, type PoseReadOptions, type PoseSequence } from '../poses.js';
import { buildSyntheticBody, type SyntheticBody } from '../synthetic/index.js';

export function loadSmplxModel(path: string, options: LoadOptions = {}): SmplxModel {
  return decodeSmplxModel(readBytes(path, 'the SMPL-X model', SMPLX_DOWNLOAD_HINT), path, options);
}

export function readPoseSequence(path: string, options: PoseReadOptions = {}): PoseSequence {
  return decodePoseSequence(readBytes(path, 'the pose file'), path, options);
}

/**
 * Write the synthetic body as an SMPL-X-layout .npz (deflated; posedirs stored as float32, which keeps the file
 * small while staying well above the precision the bulges need).
 */
export function writeSyntheticBody(path: string, body: SyntheticBody = buildSyntheticBody()): void {
  writeNpz(path, body.arrays, {
    compress: true,
    level: 1,
    arrayOptions: { posedirs: { dtype: 'f4' }, shapedirs: { dtype: 'f4' } },
  });
}
