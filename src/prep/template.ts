/**
 * The canonical template: the subject's canonical SMPL-X mesh (the "legs spread" pose,
 * the subject's betas), or a user's `template.ply` whose skinning weights are taken from the nearest canonical
 * SMPL-X vertex. (The reference diffuses SMPL-X weights into a 128³ volume for templates; nearest-vertex transfer is
 * our simpler stand-in, identical where the template hugs the body.)
 */
import { readFileSync } from 'node:fs';
import { FormatError, InputError } from '../io/errors.js';
import { describeFsError } from '../io/node/atomic.js';
import { parsePlyHeader, PLY_NUMBER_RE, PLY_TYPES, skipPlyElement, type PlyElement } from '../io/ply.js';
import { canonicalParams } from '../body/canonical.js';
import { smplxForward } from '../body/forward.js';
import type { SmplxModel } from '../body/model.js';
import type { CanonicalMesh } from './maps.js';
import { nearestVertices } from './template/geometry.js';

/** The canonical SMPL-X mesh with its weights for these betas (no jaw, expression or hand pose). */
export function smplxCanonicalMesh(model: SmplxModel, betas?: ArrayLike<number>): CanonicalMesh {
  const out = smplxForward(model, canonicalParams(betas ? { betas } : {}), { vertices: true });
  return { positions: out.vertices!, faces: model.faces, weights: model.weights, numJoints: model.numJoints };
}

/**
 * Read a triangle/polygon mesh from PLY (ascii or binary little/big endian; vertex x, y, z; face index lists,
 * fanned into triangles). Strict: counts are bounded by the file, indices must name existing vertices and
 * positions must be finite; every problem is a FormatError naming the file.
 */
export function readPlyMesh(path: string): { positions: Float64Array; faces: Uint32Array } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read template ${path}: ${describeFsError(e)}`);
  }
  return decodePlyMesh(bytes, path);
}

export function decodePlyMesh(bytes: Uint8Array, path: string): { positions: Float64Array; faces: Uint32Array } {
  const bad = (why: string): never => {
    throw new FormatError(path, why);
  };
  const { format, elements, bodyStart } = parsePlyHeader(bytes, path);
  const vertex = elements.find((e) => e.name === 'vertex');
  const face = elements.find((e) => e.name === 'face');
  if (!vertex || !face || vertex.count === 0 || face.count === 0) {
    bad('the PLY has no vertices or no faces: a template must be a triangle mesh');
  }
  for (const k of ['x', 'y', 'z']) {
    const p = vertex!.props.find((q) => q.name === k);
    if (!p || p.list) bad(`the vertex element has no scalar '${k}' property`);
  }
  const fp = face!.props.find((q) => q.name === 'vertex_indices' || q.name === 'vertex_index');
  if (!fp?.list) bad(`the face element has no 'vertex_indices' list`);
  const V = vertex!.count;
  // every vertex takes at least one byte (binary) or two characters (ascii) of the body
  if (V > bytes.length - bodyStart) bad(`the header announces ${V} vertices, more than the file can hold`);
  if (face!.count > bytes.length - bodyStart)
    bad(`the header announces ${face!.count} faces, more than the file holds`);
  const positions = new Float64Array(V * 3);
  const faces: number[] = [];
  const addFace = (idx: number[], f: number) => {
    if (idx.length < 3) bad(`face ${f} has ${idx.length} vertices (at least 3 are needed)`);
    for (const i of idx) if (!(Number.isInteger(i) && i >= 0 && i < V)) bad(`face ${f} refers to vertex ${i} of ${V}`);
    for (let k = 1; k + 1 < idx.length; k++) faces.push(idx[0]!, idx[k]!, idx[k + 1]!);
  };
  const onRecord = (el: PlyElement, i: number, rec: Map<string, number | number[]>) => {
    if (el === vertex) {
      for (let c = 0; c < 3; c++) {
        const v = rec.get('xyz'[c]!) as number;
        if (!Number.isFinite(v)) bad(`vertex ${i} has a non-finite position (${v})`);
        positions[i * 3 + c] = v;
      }
    } else if (el === face) addFace(rec.get(fp!.name) as number[], i);
  };
  if (format === 'ascii') {
    const tokens = new TextDecoder('latin1')
      .decode(bytes.subarray(bodyStart))
      .split(/\s+/)
      .filter((t) => t !== '');
    let at = 0;
    const num = (): number => {
      if (at >= tokens.length) bad('truncated PLY body');
      const t = tokens[at++]!;
      if (!PLY_NUMBER_RE.test(t)) bad(`'${t.slice(0, 20)}' is not a number`);
      return Number(t);
    };
    for (const el of elements) {
      if (
        el !== vertex &&
        el !== face &&
        elements.indexOf(el) > Math.max(elements.indexOf(vertex!), elements.indexOf(face!))
      )
        break;
      for (let i = 0; i < el.count; i++) {
        const rec = new Map<string, number | number[]>();
        for (const p of el.props) {
          if (p.list) {
            const n = num();
            if (!(Number.isInteger(n) && n >= 0 && n <= tokens.length - at))
              bad(`a list of ${n} items in element '${el.name}'`);
            const idx: number[] = [];
            for (let k = 0; k < n; k++) idx.push(num());
            rec.set(p.name, idx);
          } else rec.set(p.name, num());
        }
        onRecord(el, i, rec);
      }
    }
  } else {
    const le = format === 'binary_little_endian';
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = bodyStart;
    const read = (type: string): number => {
      const [size, get] = PLY_TYPES[type]!;
      if (off + size > view.byteLength) bad('truncated PLY file');
      const v = get(view, off, le);
      off += size;
      return v;
    };
    for (const el of elements) {
      if (el !== vertex && el !== face) {
        off = skipPlyElement(el, view, off, le, path);
        continue;
      }
      for (let i = 0; i < el.count; i++) {
        const rec = new Map<string, number | number[]>();
        for (const p of el.props) {
          if (p.list) {
            const n = read(p.list.count);
            const step = PLY_TYPES[p.list.item]![0];
            if (!(Number.isInteger(n) && n >= 0 && off + n * step <= view.byteLength)) bad('truncated PLY file');
            const idx: number[] = [];
            for (let k = 0; k < n; k++) idx.push(read(p.list.item));
            rec.set(p.name, idx);
          } else rec.set(p.name, read(p.type));
        }
        onRecord(el, i, rec);
      }
    }
  }
  return { positions, faces: Uint32Array.from(faces) };
}

/** Skinning weights for arbitrary points: those of the nearest source vertex. */
export function nearestVertexWeights(
  points: ArrayLike<number>,
  source: ArrayLike<number>,
  sourceWeights: ArrayLike<number>,
  J: number,
): Float64Array {
  const near = nearestVertices(points, source);
  const out = new Float64Array(near.length * J);
  for (let p = 0; p < near.length; p++) {
    const v = near[p]!;
    if (v < 0) continue;
    for (let j = 0; j < J; j++) out[p * J + j] = sourceWeights[v * J + j]!;
  }
  return out;
}

/**
 * A user's template mesh with weights transferred from the canonical SMPL-X mesh (nearest vertex), or, with
 * `transfer: false`, with none: when a weight volume gives each map pixel its weights, a per-vertex transfer over a
 * fitted template's ~0.5M vertices would be thrown away.
 */
export function templateFromPly(path: string, smplx: CanonicalMesh, transfer = true): CanonicalMesh {
  const m = readPlyMesh(path);
  const J = smplx.numJoints ?? 55;
  if (!transfer) return { positions: m.positions, faces: m.faces, numJoints: J };
  const weights = nearestVertexWeights(m.positions, smplx.positions, smplx.weights!, J);
  return { positions: m.positions, faces: m.faces, weights, numJoints: J };
}
