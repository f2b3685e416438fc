/** The fitted template mesh on disk: `template.ply` (binary PLY, float32 positions and normals, uint32 faces). */
import { encodePly, type TriMesh } from '../../io/mesh.js';
import { firstNonFinite } from '../../io/finite.js';
import { InputError } from '../../io/errors.js';
import { writeFileAtomic } from '../../io/node/atomic.js';

export const TEMPLATE_PLY = 'template.ply';

/** Write the template mesh atomically; refuses an empty mesh or non-finite values. */
export function writeTemplatePly(path: string, mesh: TriMesh): void {
  if (mesh.faces.length === 0) throw new InputError(`refusing to write ${path}: the template mesh has no triangles`);
  for (const [what, a] of [
    ['position', mesh.positions],
    ['normal', mesh.normals ?? []],
  ] as const) {
    const i = firstNonFinite(Array.from(a as ArrayLike<number>));
    if (i >= 0) throw new InputError(`refusing to write ${path}: vertex ${Math.floor(i / 3)} has a non-finite ${what}`);
  }
  writeFileAtomic(path, encodePly(mesh));
}
