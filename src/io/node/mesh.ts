/** Mesh files on disk: the encoders of ../mesh.ts with the atomic write. */
import { encodeMeshFile, type TriMesh } from '../mesh.js';
import { writeFileAtomic } from './atomic.js';

/** Write .obj or .ply, chosen by the file extension, atomically. A mesh with NaN/Inf positions is refused. */
export function writeMesh(path: string, mesh: TriMesh): void {
  writeFileAtomic(path, encodeMeshFile(path, mesh));
}
