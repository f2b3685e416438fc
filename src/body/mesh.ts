/** The body as a triangle mesh for export: posed (or canonical) vertices, the model's faces, vertex normals. */
import { vertexNormals, type TriMesh } from '../io/mesh.js';
import { canonicalParams } from './canonical.js';
import { smplxForward, type SmplxParams } from './forward.js';
import type { SmplxModel } from './model.js';

export interface BodyMeshOptions {
  /** Pose the canonical pose of the reference (legs spread, keeping the frame's shape, jaw and expression). */
  canonical?: boolean;
}

export function bodyMesh(model: SmplxModel, params: SmplxParams = {}, options: BodyMeshOptions = {}): TriMesh {
  const p = options.canonical ? canonicalParams(params) : params;
  const positions = smplxForward(model, p).vertices!;
  return { positions, faces: model.faces, normals: vertexNormals(positions, model.faces) };
}
