/**
 * Standard 3DGS `.ply` files: one `vertex` element with x, y, z, [nx, ny, nz], f_dc_0..2, f_rest_0..(3(K−1)−1),
 * opacity (logit), scale_0..2 (log), rot_0..3 (wxyz, unnormalised). f_rest is channel-major: f_rest[c·(K−1) + k−1]
 * is coefficient k of channel c. Reads binary little-endian and ASCII; writes binary little-endian (float32).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { SplatScene } from './reference.js';

/** Gaussians as stored in a PLY (raw, pre-activation values). */
export interface PlyGaussians {
  count: number;
  means: Float32Array;
  /** N×K×3, coefficient-major, channel-minor; coefficient 0 is f_dc. */
  sh: Float32Array;
  /** Coefficients per channel (1, 4, 9, 16). */
  shCoeffs: number;
  opacityLogits: Float32Array;
  logScales: Float32Array;
  rotations: Float32Array;
}

const TYPES: Record<string, [number, (v: DataView, o: number) => number]> = {
  char: [1, (v, o) => v.getInt8(o)],
  int8: [1, (v, o) => v.getInt8(o)],
  uchar: [1, (v, o) => v.getUint8(o)],
  uint8: [1, (v, o) => v.getUint8(o)],
  short: [2, (v, o) => v.getInt16(o, true)],
  int16: [2, (v, o) => v.getInt16(o, true)],
  ushort: [2, (v, o) => v.getUint16(o, true)],
  uint16: [2, (v, o) => v.getUint16(o, true)],
  int: [4, (v, o) => v.getInt32(o, true)],
  int32: [4, (v, o) => v.getInt32(o, true)],
  uint: [4, (v, o) => v.getUint32(o, true)],
  uint32: [4, (v, o) => v.getUint32(o, true)],
  float: [4, (v, o) => v.getFloat32(o, true)],
  float32: [4, (v, o) => v.getFloat32(o, true)],
  double: [8, (v, o) => v.getFloat64(o, true)],
  float64: [8, (v, o) => v.getFloat64(o, true)],
};

interface Element {
  name: string;
  count: number;
  props: { name: string; type: string }[];
}

export function readPly(path: string): PlyGaussians {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return decodePly(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

export function decodePly(bytes: Uint8Array, source = '.ply data'): PlyGaussians {
  const headEnd = findHeaderEnd(bytes);
  if (headEnd < 0) throw new Error(`${source}: not a PLY file (no 'ply' magic or no 'end_header' line)`);
  const header = new TextDecoder('latin1').decode(bytes.subarray(0, headEnd));
  const lines = header.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== 'ply') throw new Error(`${source}: not a PLY file (first line is '${lines[0]}')`);
  let format = '';
  const elements: Element[] = [];
  for (const line of lines.slice(1)) {
    const w = line.split(/\s+/);
    if (w[0] === 'format') format = w[1] ?? '';
    else if (w[0] === 'element') elements.push({ name: w[1] ?? '', count: Number(w[2]), props: [] });
    else if (w[0] === 'property') {
      const el = elements[elements.length - 1];
      if (!el) throw new Error(`${source}: 'property' before any 'element' in the header`);
      if (w[1] === 'list')
        throw new Error(`${source}: list property '${w[4]}' of element '${el.name}' is not supported`);
      if (!TYPES[w[1] ?? '']) throw new Error(`${source}: unknown property type '${w[1]}' for '${w[2]}'`);
      el.props.push({ type: w[1]!, name: w[2]! });
    }
  }
  if (format !== 'binary_little_endian' && format !== 'ascii') {
    throw new Error(`${source}: unsupported PLY format '${format}' (binary_little_endian or ascii only)`);
  }
  const vi = elements.findIndex((e) => e.name === 'vertex');
  if (vi < 0) throw new Error(`${source}: no 'vertex' element`);
  const vertex = elements[vi]!;
  const n = vertex.count;
  if (!Number.isInteger(n) || n < 0) throw new Error(`${source}: bad vertex count '${vertex.count}'`);
  const np = vertex.props.length;
  const values = new Float64Array(n * np);
  if (format === 'ascii') {
    const body = new TextDecoder('latin1').decode(bytes.subarray(headEnd)).split(/\r?\n/);
    let line = 0;
    for (const el of elements.slice(0, vi)) line += el.count;
    for (let i = 0; i < n; i++) {
      const w = (body[line + i] ?? '').trim().split(/\s+/);
      if (w.length < np) throw new Error(`${source}: vertex ${i} has ${w.length} values, expected ${np}`);
      for (let k = 0; k < np; k++) values[i * np + k] = Number(w[k]);
    }
  } else {
    let off = headEnd;
    for (const el of elements.slice(0, vi)) off += el.count * el.props.reduce((s, p) => s + TYPES[p.type]![0], 0);
    const stride = vertex.props.reduce((s, p) => s + TYPES[p.type]![0], 0);
    if (bytes.byteLength - off < n * stride) {
      throw new Error(
        `${source}: truncated: ${n} vertices of ${stride} bytes need ${n * stride} bytes, found ${bytes.byteLength - off}`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const offs: number[] = [];
    let s = 0;
    for (const p of vertex.props) (offs.push(s), (s += TYPES[p.type]![0]));
    for (let i = 0; i < n; i++) {
      const base = off + i * stride;
      for (let k = 0; k < np; k++) values[i * np + k] = TYPES[vertex.props[k]!.type]![1](view, base + offs[k]!);
    }
  }
  const idx = new Map(vertex.props.map((p, k) => [p.name, k]));
  const col = (name: string): number => {
    const k = idx.get(name);
    if (k === undefined) {
      throw new Error(
        `${source}: vertex property '${name}' missing (a 3DGS PLY has x y z f_dc_0..2 opacity scale_0..2 rot_0..3)`,
      );
    }
    return k;
  };
  let rest = 0;
  while (idx.has(`f_rest_${rest}`)) rest++;
  if (rest % 3 !== 0 || ![0, 9, 24, 45].includes(rest)) {
    throw new Error(`${source}: ${rest} f_rest properties; expected 0, 9, 24 or 45 (SH degree 0–3)`);
  }
  const K = 1 + rest / 3;
  const g: PlyGaussians = {
    count: n,
    means: new Float32Array(3 * n),
    sh: new Float32Array(3 * K * n),
    shCoeffs: K,
    opacityLogits: new Float32Array(n),
    logScales: new Float32Array(3 * n),
    rotations: new Float32Array(4 * n),
  };
  const cx = ['x', 'y', 'z'].map(col);
  const cdc = [0, 1, 2].map((c) => col(`f_dc_${c}`));
  const crest = Array.from({ length: rest }, (_, r) => col(`f_rest_${r}`));
  const cop = col('opacity');
  const csc = [0, 1, 2].map((c) => col(`scale_${c}`));
  const crot = [0, 1, 2, 3].map((c) => col(`rot_${c}`));
  for (let i = 0; i < n; i++) {
    const v = (k: number) => values[i * np + k]!;
    for (let a = 0; a < 3; a++) g.means[3 * i + a] = v(cx[a]!);
    for (let c = 0; c < 3; c++) {
      g.sh[i * K * 3 + c] = v(cdc[c]!);
      for (let k = 1; k < K; k++) g.sh[(i * K + k) * 3 + c] = v(crest[c * (K - 1) + k - 1]!);
    }
    g.opacityLogits[i] = v(cop);
    for (let a = 0; a < 3; a++) g.logScales[3 * i + a] = v(csc[a]!);
    for (let a = 0; a < 4; a++) g.rotations[4 * i + a] = v(crot[a]!);
  }
  for (let i = 0; i < g.means.length; i++) {
    if (!Number.isFinite(g.means[i]!))
      throw new Error(`${source}: vertex ${Math.floor(i / 3)} has a non-finite position`);
  }
  return g;
}

function findHeaderEnd(b: Uint8Array): number {
  if (b[0] !== 0x70 || b[1] !== 0x6c || b[2] !== 0x79) return -1; // "ply"
  const tag = 'end_header';
  const lim = Math.min(b.length, 1 << 20);
  outer: for (let i = 0; i + tag.length < lim; i++) {
    for (let k = 0; k < tag.length; k++) if (b[i + k] !== tag.charCodeAt(k)) continue outer;
    let j = i + tag.length;
    if (b[j] === 0x0d) j++;
    if (b[j] !== 0x0a) return -1;
    return j + 1;
  }
  return -1;
}

export function encodePly(g: PlyGaussians): Uint8Array {
  const K = g.shCoeffs;
  const names = ['x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2'];
  for (let r = 0; r < 3 * (K - 1); r++) names.push(`f_rest_${r}`);
  names.push('opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3');
  const header =
    `ply\nformat binary_little_endian 1.0\nelement vertex ${g.count}\n` +
    names.map((p) => `property float ${p}\n`).join('') +
    'end_header\n';
  const head = new TextEncoder().encode(header);
  const np = names.length;
  const body = new Float32Array(g.count * np);
  for (let i = 0; i < g.count; i++) {
    const o = i * np;
    body.set(g.means.subarray(3 * i, 3 * i + 3), o);
    for (let c = 0; c < 3; c++) {
      body[o + 6 + c] = g.sh[i * K * 3 + c]!;
      for (let k = 1; k < K; k++) body[o + 9 + c * (K - 1) + k - 1] = g.sh[(i * K + k) * 3 + c]!;
    }
    const t = o + 9 + 3 * (K - 1);
    body[t] = g.opacityLogits[i]!;
    body.set(g.logScales.subarray(3 * i, 3 * i + 3), t + 1);
    body.set(g.rotations.subarray(4 * i, 4 * i + 4), t + 4);
  }
  const out = new Uint8Array(head.length + body.byteLength);
  out.set(head, 0);
  out.set(new Uint8Array(body.buffer), head.length);
  return out;
}

/** Write atomically (temporary file, then rename). */
export function writePly(path: string, g: PlyGaussians): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodePly(g));
  renameSync(tmp, path);
}

/** Activate: exp scales, sigmoid opacity, normalise quaternions; colours as SH of the stored degree. */
export function plyToScene(g: PlyGaussians): SplatScene {
  const scales = Float32Array.from(g.logScales, Math.exp);
  const opacities = Float32Array.from(g.opacityLogits, (x) => 1 / (1 + Math.exp(-x)));
  const rotations = new Float32Array(g.rotations);
  for (let i = 0; i < g.count; i++) {
    const q = rotations.subarray(4 * i, 4 * i + 4);
    const l = Math.hypot(q[0]!, q[1]!, q[2]!, q[3]!) || 1;
    for (let k = 0; k < 4; k++) q[k] = q[k]! / l;
  }
  return { count: g.count, means: g.means, scales, rotations, opacities, sh: g.sh };
}

export const SH_C0_INV = 1 / 0.28209479177387814;

/** Store a scene: log scales, logit opacities; precomputed colours become DC coefficients (RGB2SH). */
export function sceneToPly(s: SplatScene): PlyGaussians {
  const n = s.count;
  let sh: Float32Array;
  let K = 1;
  if (s.sh) {
    K = s.sh.length / (3 * n);
    sh = Float32Array.from(s.sh);
  } else {
    sh = Float32Array.from(s.colors!, (c) => (c - 0.5) * SH_C0_INV);
  }
  return {
    count: n,
    means: Float32Array.from(s.means),
    sh,
    shCoeffs: K,
    opacityLogits: Float32Array.from(s.opacities, (o) => Math.log(o / (1 - o))),
    logScales: Float32Array.from(s.scales, Math.log),
    rotations: Float32Array.from(s.rotations),
  };
}
