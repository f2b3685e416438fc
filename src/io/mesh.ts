/**
 * Triangle mesh writers: Wavefront OBJ (text) and PLY (binary little-endian, float32 positions and optional
 * normals, uint32 faces), as bytes; node/mesh.ts writes them to files (atomically).
 */
import { InputError } from './errors.js';
import { firstNonFinite } from './finite.js';

export interface TriMesh {
  /** (N*3) positions. */
  positions: ArrayLike<number>;
  /** (F*3) vertex indices, counter-clockwise seen from outside. */
  faces: ArrayLike<number>;
  /** Optional (N*3) per-vertex normals. */
  normals?: ArrayLike<number>;
}

export function encodeObj(mesh: TriMesh): string {
  const lines: string[] = ['# written by animgs'];
  const n = mesh.positions.length / 3;
  const p = mesh.positions;
  for (let i = 0; i < n; i++)
    lines.push(`v ${+p[i * 3]!.toFixed(6)} ${+p[i * 3 + 1]!.toFixed(6)} ${+p[i * 3 + 2]!.toFixed(6)}`);
  const nm = mesh.normals;
  if (nm)
    for (let i = 0; i < n; i++)
      lines.push(`vn ${+nm[i * 3]!.toFixed(5)} ${+nm[i * 3 + 1]!.toFixed(5)} ${+nm[i * 3 + 2]!.toFixed(5)}`);
  const f = mesh.faces;
  for (let t = 0; t < f.length / 3; t++) {
    const [a, b, c] = [f[t * 3]! + 1, f[t * 3 + 1]! + 1, f[t * 3 + 2]! + 1];
    lines.push(nm ? `f ${a}//${a} ${b}//${b} ${c}//${c}` : `f ${a} ${b} ${c}`);
  }
  return lines.join('\n') + '\n';
}

export function encodePly(mesh: TriMesh): Uint8Array {
  const n = mesh.positions.length / 3;
  const nf = mesh.faces.length / 3;
  const hasN = !!mesh.normals;
  const header =
    'ply\nformat binary_little_endian 1.0\ncomment written by animgs\n' +
    `element vertex ${n}\nproperty float x\nproperty float y\nproperty float z\n` +
    (hasN ? 'property float nx\nproperty float ny\nproperty float nz\n' : '') +
    `element face ${nf}\nproperty list uchar uint vertex_indices\nend_header\n`;
  const head = new TextEncoder().encode(header);
  const stride = hasN ? 24 : 12;
  const out = new Uint8Array(head.length + n * stride + nf * 13);
  out.set(head, 0);
  const view = new DataView(out.buffer);
  let o = head.length;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) view.setFloat32(o + c * 4, mesh.positions[i * 3 + c]!, true);
    if (hasN) for (let c = 0; c < 3; c++) view.setFloat32(o + 12 + c * 4, mesh.normals![i * 3 + c]!, true);
    o += stride;
  }
  for (let t = 0; t < nf; t++) {
    view.setUint8(o, 3);
    for (let c = 0; c < 3; c++) view.setUint32(o + 1 + c * 4, mesh.faces[t * 3 + c]!, true);
    o += 13;
  }
  return out;
}

/** Area-weighted vertex normals of a triangle mesh (unit length; zero for unused vertices). */
export function vertexNormals(positions: ArrayLike<number>, faces: ArrayLike<number>): Float64Array {
  const nrm = new Float64Array(positions.length);
  for (let t = 0; t < faces.length / 3; t++) {
    const a = faces[t * 3]! * 3,
      b = faces[t * 3 + 1]! * 3,
      c = faces[t * 3 + 2]! * 3;
    const e1 = [
      positions[b]! - positions[a]!,
      positions[b + 1]! - positions[a + 1]!,
      positions[b + 2]! - positions[a + 2]!,
    ];
    const e2 = [
      positions[c]! - positions[a]!,
      positions[c + 1]! - positions[a + 1]!,
      positions[c + 2]! - positions[a + 2]!,
    ];
    const n = [e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!];
    for (const v of [a, b, c]) for (let k = 0; k < 3; k++) nrm[v + k] += n[k]!;
  }
  for (let i = 0; i < nrm.length; i += 3) {
    const l = Math.hypot(nrm[i]!, nrm[i + 1]!, nrm[i + 2]!);
    if (l > 0) for (let k = 0; k < 3; k++) nrm[i + k] /= l;
  }
  return nrm;
}

/** Encode as .obj or .ply, chosen by the file name's extension. A mesh with NaN/Inf positions is refused. */
export function encodeMeshFile(path: string, mesh: TriMesh): Uint8Array | string {
  const lower = path.toLowerCase();
  if (!lower.endsWith('.obj') && !lower.endsWith('.ply')) {
    throw new InputError(`cannot write mesh ${path}: use a .obj or .ply file name`);
  }
  for (const [k, a] of [
    ['position', mesh.positions],
    ['normal', mesh.normals ?? []],
  ] as const) {
    const i = firstNonFinite(Array.from(a as ArrayLike<number>));
    if (i >= 0) {
      throw new InputError(`refusing to write ${path}: vertex ${Math.floor(i / 3)} has a non-finite ${k}`);
    }
  }
  return lower.endsWith('.obj') ? encodeObj(mesh) : encodePly(mesh);
}
