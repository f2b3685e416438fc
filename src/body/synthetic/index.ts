/**
 * A synthetic, SMPL-X-compatible human body: a procedurally built mesh on the SMPL-X 55-joint skeleton in the
 * rest T-pose (Y up, facing +z, metres, ~1.72 m), with skinning weights, 10 shape and 10 expression directions,
 * pose correctives and a joint regressor. It is written in the SMPL-X .npz layout (same keys and shapes, fewer
 * vertices; shapedirs holds 10 shape + 10 expression columns like SMPL-X v1.0), so the SMPL-X loader reads it.
 * It lets everything run without the licensed SMPL-X files; it is not a statistical model of people.
 */
import { ndarray, type NdArray } from '../../io/npy.js';
import { vertexNormals } from '../../io/mesh.js';
import { NUM_JOINTS, NUM_POSE_FEATURES, SMPLX_PARENTS } from '../joints.js';
import { smplxModelFromArrays, type SmplxModel } from '../model.js';
import { NUM_EXPRESSION, NUM_SHAPE, expressionDirections, poseCorrectives, shapeDirections } from './blendshapes.js';
import { buildParts } from './parts.js';
import { jointRegressor } from './regressor.js';
import { boneSegments, restJointPositions } from './skeleton.js';
import { skinningWeights } from './skinning.js';
import type { Vec3 } from './vec.js';

export interface SyntheticBody {
  /** The model in the SMPL-X .npz layout (v_template, shapedirs, posedirs, J_regressor, weights, kintree_table, f, ...). */
  arrays: Record<string, NdArray>;
  /** Per-vertex part names (torso, head, left_arm, left_index, ...), for tests and tools. */
  vertexPart: string[];
  /** The rest joints the body was built on (55*3). */
  joints: Float64Array;
}

export function buildSyntheticBody(): SyntheticBody {
  const joints = restJointPositions();
  const segs = boneSegments(joints);
  const parts = buildParts(joints);
  const positions: Vec3[] = [];
  const faces: number[] = [];
  const partIds: number[] = [];
  parts.forEach((part, pi) => {
    const base = positions.length;
    positions.push(...part.positions);
    for (const f of part.faces) faces.push(f[0] + base, f[1] + base, f[2] + base);
    for (let i = 0; i < part.positions.length; i++) partIds.push(pi);
  });
  const partOf = Int32Array.from(partIds);
  const V = positions.length;
  const flat = Float64Array.from(positions.flat());
  const normals = vertexNormals(flat, faces);

  const shape = shapeDirections(positions, partOf, parts, segs);
  const expr = expressionDirections(positions, partOf, parts);
  const shapedirs = new Float64Array(V * 3 * (NUM_SHAPE + NUM_EXPRESSION));
  for (let i = 0; i < V * 3; i++) {
    for (let k = 0; k < NUM_SHAPE; k++) shapedirs[i * 20 + k] = shape[i * NUM_SHAPE + k]!;
    for (let k = 0; k < NUM_EXPRESSION; k++) shapedirs[i * 20 + NUM_SHAPE + k] = expr[i * NUM_EXPRESSION + k]!;
  }
  const kintree = new Int32Array(2 * NUM_JOINTS);
  for (let j = 0; j < NUM_JOINTS; j++) {
    kintree[j] = SMPLX_PARENTS[j]!;
    kintree[NUM_JOINTS + j] = j;
  }
  const eye45 = new Float64Array(45 * 45);
  for (let i = 0; i < 45; i++) eye45[i * 46] = 1;
  const arrays: Record<string, NdArray> = {
    v_template: ndarray(flat, [V, 3]),
    f: ndarray(Int32Array.from(faces), [faces.length / 3, 3]),
    shapedirs: ndarray(shapedirs, [V, 3, NUM_SHAPE + NUM_EXPRESSION]),
    posedirs: ndarray(poseCorrectives(positions, normals, partOf, parts, joints), [V, 3, NUM_POSE_FEATURES]),
    J_regressor: ndarray(jointRegressor(positions, partOf, parts, joints), [NUM_JOINTS, V]),
    weights: ndarray(skinningWeights(positions, partOf, parts, segs), [V, NUM_JOINTS]),
    kintree_table: ndarray(kintree, [2, NUM_JOINTS]),
    hands_meanl: ndarray(new Float64Array(45), [45]),
    hands_meanr: ndarray(new Float64Array(45), [45]),
    hands_componentsl: ndarray(eye45, [45, 45]),
    hands_componentsr: ndarray(eye45.slice(), [45, 45]),
  };
  return { arrays, vertexPart: partIds.map((i) => parts[i]!.name), joints: Float64Array.from(joints.flat()) };
}

/** The synthetic body as a loaded model (no file round trip). */
export function syntheticSmplxModel(body: SyntheticBody = buildSyntheticBody()): SmplxModel {
  return smplxModelFromArrays((k) => body.arrays[k], 'synthetic body');
}
