/**
 * The canonical template (reference-system.md §2.4): the subject's canonical SMPL-X mesh (the "legs spread" pose,
 * the subject's betas), or a user's `template.ply` whose skinning weights are taken from the nearest canonical
 * SMPL-X vertex. (The reference diffuses SMPL-X weights into a 128³ volume for templates; nearest-vertex transfer is
 * our simpler stand-in, identical where the template hugs the body.)
 */
import { readFileSync } from 'node:fs';
import { canonicalParams } from '../body/canonical.js';
import { smplxForward } from '../body/forward.js';
import type { SmplxModel } from '../body/model.js';
import type { CanonicalMesh } from './maps.js';

/** The canonical SMPL-X mesh with its weights for these betas (no jaw, expression or hand pose). */
export function smplxCanonicalMesh(model: SmplxModel, betas?: ArrayLike<number>): CanonicalMesh {
  const out = smplxForward(model, canonicalParams(betas ? { betas } : {}), { vertices: true });
  return { positions: out.vertices!, faces: model.faces, weights: model.weights, numJoints: model.numJoints };
}

/** Read a triangle/polygon mesh from PLY (ascii or binary little/big endian; vertex x, y, z; face index lists). */
export function readPlyMesh(path: string): { positions: Float64Array; faces: Uint32Array } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read template ${path}: ${(e as Error).message}`);
  }
  const headEnd = bytes.indexOf('end_header');
  if (bytes.subarray(0, 3).toString() !== 'ply' || headEnd < 0) throw new Error(`${path}: not a PLY file`);
  const bodyStart = bytes.indexOf(10, headEnd) + 1;
  const header = bytes.subarray(0, headEnd).toString('latin1').split(/\r?\n/);
  let format = 'ascii';
  interface Prop {
    name: string;
    type: string;
    list?: { count: string; item: string };
  }
  const elements: { name: string; count: number; props: Prop[] }[] = [];
  for (const line of header) {
    const t = line.trim().split(/\s+/);
    if (t[0] === 'format') format = t[1]!;
    else if (t[0] === 'element') elements.push({ name: t[1]!, count: Number(t[2]), props: [] });
    else if (t[0] === 'property') {
      const el = elements[elements.length - 1];
      if (!el) throw new Error(`${path}: property before any element`);
      if (t[1] === 'list') el.props.push({ name: t[4]!, type: 'list', list: { count: t[2]!, item: t[3]! } });
      else el.props.push({ name: t[2]!, type: t[1]! });
    }
  }
  const size: Record<string, number> = {
    char: 1,
    uchar: 1,
    int8: 1,
    uint8: 1,
    short: 2,
    ushort: 2,
    int16: 2,
    uint16: 2,
    int: 4,
    uint: 4,
    int32: 4,
    uint32: 4,
    float: 4,
    float32: 4,
    double: 8,
    float64: 8,
  };
  const positions: number[] = [];
  const faces: number[] = [];
  const addFace = (idx: number[]) => {
    for (let k = 1; k + 1 < idx.length; k++) faces.push(idx[0]!, idx[k]!, idx[k + 1]!);
  };
  if (format === 'ascii') {
    const tokens = bytes
      .subarray(bodyStart)
      .toString('latin1')
      .split(/\s+/)
      .filter((s) => s !== '');
    let at = 0;
    for (const el of elements) {
      for (let i = 0; i < el.count; i++) {
        const rec: Record<string, number | number[]> = {};
        for (const p of el.props) {
          if (p.list) {
            const n = Number(tokens[at++]);
            rec[p.name] = tokens.slice(at, at + n).map(Number);
            at += n;
          } else rec[p.name] = Number(tokens[at++]);
        }
        if (el.name === 'vertex') positions.push(rec.x as number, rec.y as number, rec.z as number);
        else if (el.name === 'face') addFace((rec.vertex_indices ?? rec.vertex_index) as number[]);
      }
    }
  } else {
    const le = format === 'binary_little_endian';
    if (!le && format !== 'binary_big_endian') throw new Error(`${path}: unknown PLY format '${format}'`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + bodyStart, bytes.length - bodyStart);
    let at = 0;
    const read = (type: string): number => {
      const s = size[type];
      if (!s) throw new Error(`${path}: unknown PLY type '${type}'`);
      let v: number;
      switch (type) {
        case 'char':
        case 'int8':
          v = dv.getInt8(at);
          break;
        case 'uchar':
        case 'uint8':
          v = dv.getUint8(at);
          break;
        case 'short':
        case 'int16':
          v = dv.getInt16(at, le);
          break;
        case 'ushort':
        case 'uint16':
          v = dv.getUint16(at, le);
          break;
        case 'int':
        case 'int32':
          v = dv.getInt32(at, le);
          break;
        case 'uint':
        case 'uint32':
          v = dv.getUint32(at, le);
          break;
        case 'float':
        case 'float32':
          v = dv.getFloat32(at, le);
          break;
        default:
          v = dv.getFloat64(at, le);
      }
      at += s;
      return v;
    };
    try {
      for (const el of elements) {
        for (let i = 0; i < el.count; i++) {
          const rec: Record<string, number | number[]> = {};
          for (const p of el.props) {
            if (p.list) {
              const n = read(p.list.count);
              const idx: number[] = [];
              for (let k = 0; k < n; k++) idx.push(read(p.list.item));
              rec[p.name] = idx;
            } else rec[p.name] = read(p.type);
          }
          if (el.name === 'vertex') positions.push(rec.x as number, rec.y as number, rec.z as number);
          else if (el.name === 'face') addFace((rec.vertex_indices ?? rec.vertex_index) as number[]);
        }
      }
    } catch (e) {
      if (e instanceof RangeError) throw new Error(`${path}: truncated PLY file`);
      throw e;
    }
  }
  if (positions.length === 0 || faces.length === 0) throw new Error(`${path}: the PLY has no vertices or no faces`);
  return { positions: Float64Array.from(positions), faces: Uint32Array.from(faces) };
}

/** Skinning weights for arbitrary points: those of the nearest source vertex (uniform-grid search). */
export function nearestVertexWeights(
  points: ArrayLike<number>,
  source: ArrayLike<number>,
  sourceWeights: ArrayLike<number>,
  J: number,
): Float64Array {
  const V = source.length / 3;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < V; i++) {
    for (let k = 0; k < 3; k++) {
      lo[k] = Math.min(lo[k]!, source[i * 3 + k]!);
      hi[k] = Math.max(hi[k]!, source[i * 3 + k]!);
    }
  }
  const cell = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 64 || 1;
  const dims = [0, 1, 2].map((k) => Math.floor((hi[k]! - lo[k]!) / cell) + 1);
  const key = (x: number, y: number, z: number) => (z * dims[1]! + y) * dims[0]! + x;
  const grid = new Map<number, number[]>();
  const cellOf = (v: number, k: number) => Math.min(dims[k]! - 1, Math.max(0, Math.floor((v - lo[k]!) / cell)));
  for (let i = 0; i < V; i++) {
    const kk = key(cellOf(source[i * 3]!, 0), cellOf(source[i * 3 + 1]!, 1), cellOf(source[i * 3 + 2]!, 2));
    const list = grid.get(kk);
    if (list) list.push(i);
    else grid.set(kk, [i]);
  }
  const N = points.length / 3;
  const out = new Float64Array(N * J);
  for (let p = 0; p < N; p++) {
    const x = points[p * 3]!,
      y = points[p * 3 + 1]!,
      z = points[p * 3 + 2]!;
    const c = [cellOf(x, 0), cellOf(y, 1), cellOf(z, 2)];
    let best = -1;
    let bestD = Infinity;
    const maxR = Math.max(dims[0]!, dims[1]!, dims[2]!);
    for (let r = 0; r <= maxR; r++) {
      // search shells of growing radius until a found vertex is closer than the unsearched region
      for (let dz = Math.max(-r, -c[2]!); dz <= Math.min(r, dims[2]! - 1 - c[2]!); dz++) {
        for (let dy = Math.max(-r, -c[1]!); dy <= Math.min(r, dims[1]! - 1 - c[1]!); dy++) {
          const onShell = Math.abs(dz) === r || Math.abs(dy) === r;
          for (let dx = Math.max(-r, -c[0]!); dx <= Math.min(r, dims[0]! - 1 - c[0]!); dx++) {
            if (!onShell && Math.abs(dx) !== r) continue;
            const list = grid.get(key(c[0]! + dx, c[1]! + dy, c[2]! + dz));
            if (!list) continue;
            for (const i of list) {
              const d = (source[i * 3]! - x) ** 2 + (source[i * 3 + 1]! - y) ** 2 + (source[i * 3 + 2]! - z) ** 2;
              if (d < bestD) {
                bestD = d;
                best = i;
              }
            }
          }
        }
      }
      if (best >= 0 && Math.sqrt(bestD) <= r * cell) break;
    }
    for (let j = 0; j < J; j++) out[p * J + j] = sourceWeights[best * J + j]!;
  }
  return out;
}

/** A user's template mesh with weights transferred from the canonical SMPL-X mesh. */
export function templateFromPly(path: string, smplx: CanonicalMesh): CanonicalMesh {
  const m = readPlyMesh(path);
  const J = smplx.numJoints ?? 55;
  const weights = nearestVertexWeights(m.positions, smplx.positions, smplx.weights!, J);
  return { positions: m.positions, faces: m.faces, weights, numJoints: J };
}
