/**
 * Standard 3DGS `.ply` files: one `vertex` element with x, y, z, [nx, ny, nz], f_dc_0..2, f_rest_0..(3(K−1)−1),
 * opacity (logit), scale_0..2 (log), rot_0..3 (wxyz, unnormalised). f_rest is channel-major: f_rest[c·(K−1) + k−1]
 * is coefficient k of channel c. Reads binary (little- or big-endian) and ASCII; writes binary little-endian
 * (float32). Reading is strict (see decodePly): malformed, truncated or non-finite files are FormatErrors.
 */
import { FormatError, InputError } from '../io/errors.js';
import { parsePlyHeader, PLY_NUMBER_RE, PLY_TYPES, skipPlyElement } from '../io/ply.js';
import type { SplatScene } from './scene.js';

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

const GAUSSIAN_PROPS = 'x y z f_dc_0..2 opacity scale_0..2 rot_0..3';

/**
 * Decode a standard 3DGS PLY. Strict: the vertex count must fit the file, the Gaussian properties must be there
 * (a mesh or a plain point cloud is refused, saying so), and every value used must be finite, with scales whose
 * exponential is a positive float32 and non-zero rotations.
 */
export function decodePly(bytes: Uint8Array, source = '.ply data'): PlyGaussians {
  const bad = (why: string): never => {
    throw new FormatError(source, why);
  };
  const { format, elements, bodyStart } = parsePlyHeader(bytes, source);
  const vi = elements.findIndex((e) => e.name === 'vertex');
  if (vi < 0) bad(`no 'vertex' element: not a 3DGS PLY (${GAUSSIAN_PROPS})`);
  const vertex = elements[vi]!;
  const names = new Set(vertex.props.map((p) => p.name));
  const isMesh = elements.some((e) => e.name === 'face' && e.count > 0);
  if (!['f_dc_0', 'opacity', 'scale_0', 'rot_0'].some((k) => names.has(k))) {
    bad(
      (isMesh
        ? 'a triangle mesh (vertices and faces), not 3DGS Gaussians'
        : 'a point cloud without Gaussian properties, not 3DGS Gaussians') +
        `: render takes splats with ${GAUSSIAN_PROPS} (\`animgs prep\` writes canonical_gaussians.ply)`,
    );
  }
  const required = ['x', 'y', 'z', 'f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity'];
  for (let k = 0; k < 3; k++) required.push(`scale_${k}`);
  for (let k = 0; k < 4; k++) required.push(`rot_${k}`);
  const missing = required.filter((k) => !names.has(k));
  if (missing.length) bad(`vertex properties missing: ${missing.join(', ')} (a 3DGS PLY has ${GAUSSIAN_PROPS})`);
  if (vertex.props.some((p) => p.list)) bad(`the vertex element has a list property; 3DGS vertices have scalars only`);
  const n = vertex.count;
  if (n === 0) bad('holds no Gaussians (element vertex 0)');
  let rest = 0;
  while (names.has(`f_rest_${rest}`)) rest++;
  if (![0, 9, 24, 45].includes(rest)) bad(`${rest} f_rest properties; expected 0, 9, 24 or 45 (SH degree 0–3)`);
  const np = vertex.props.length;
  const le = format !== 'binary_big_endian';
  let values: Float64Array;
  if (format === 'ascii') {
    const body = new TextDecoder('latin1').decode(bytes.subarray(bodyStart)).split(/\r?\n/);
    let line = 0;
    for (const el of elements.slice(0, vi)) line += el.count;
    if (line + n > body.length) bad(`the header announces ${n} vertices but the file has ${body.length - line} lines`);
    values = new Float64Array(n * np);
    for (let i = 0; i < n; i++) {
      const w = (body[line + i] ?? '').trim().split(/\s+/);
      if (w.length < np) bad(`vertex ${i} has ${w.length} values, expected ${np}`);
      for (let k = 0; k < np; k++) {
        const t = w[k]!;
        const v = PLY_NUMBER_RE.test(t) ? Number(t) : NaN;
        if (Number.isNaN(v) && !/^[+-]?nan$/i.test(t)) bad(`vertex ${i}: '${t.slice(0, 20)}' is not a number`);
        values[i * np + k] = v;
      }
    }
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = bodyStart;
    for (const el of elements.slice(0, vi)) off = skipPlyElement(el, view, off, le, source);
    const stride = vertex.props.reduce((s, p) => s + PLY_TYPES[p.type]![0], 0);
    if (bytes.byteLength - off < n * stride) {
      bad(`truncated: ${n} vertices of ${stride} bytes need ${n * stride} bytes, found ${bytes.byteLength - off}`);
    }
    values = new Float64Array(n * np);
    const offs: number[] = [];
    let s = 0;
    for (const p of vertex.props) (offs.push(s), (s += PLY_TYPES[p.type]![0]));
    const readers = vertex.props.map((p) => PLY_TYPES[p.type]![1]);
    for (let i = 0; i < n; i++) {
      const base = off + i * stride;
      for (let k = 0; k < np; k++) values[i * np + k] = readers[k]!(view, base + offs[k]!, le);
    }
  }
  const idx = new Map(vertex.props.map((p, k) => [p.name, k]));
  const col = (name: string): number => idx.get(name)!;
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
  const used = [...cx, ...cdc, ...crest, cop, ...csc, ...crot];
  for (let i = 0; i < n; i++) {
    const v = (k: number) => values[i * np + k]!;
    for (const k of used) {
      const x = Math.fround(v(k));
      if (x - x !== 0) bad(`Gaussian ${i} has ${String(x)} in '${vertex.props[k]!.name}'; every value must be finite`);
    }
    for (const k of [...cx, ...cdc, ...crest]) {
      // positions beyond ±1e6 and SH coefficients beyond ±1e4 overflow float32 in projection and shading
      const lim = k === cx[0] || k === cx[1] || k === cx[2] ? 1e6 : 1e4;
      if (!(Math.abs(v(k)) <= lim)) bad(`Gaussian ${i} has ${v(k)} in '${vertex.props[k]!.name}', beyond ±${lim}`);
    }
    for (let a = 0; a < 3; a++) g.means[3 * i + a] = v(cx[a]!);
    for (let c = 0; c < 3; c++) {
      g.sh[i * K * 3 + c] = v(cdc[c]!);
      for (let k = 1; k < K; k++) g.sh[(i * K + k) * 3 + c] = v(crest[c * (K - 1) + k - 1]!);
    }
    g.opacityLogits[i] = v(cop);
    for (let a = 0; a < 3; a++) {
      const ls = v(csc[a]!);
      // exp(scale) must be a positive, finite float32
      // exp(scale)² must stay a finite float32 in the covariance: log scales in (−80, 30)
      if (!(ls > -80 && ls < 30)) bad(`Gaussian ${i} has scale_${a} = ${ls}: log scales must lie in (−80, 30)`);
      g.logScales[3 * i + a] = ls;
    }
    let q2 = 0;
    for (let a = 0; a < 4; a++) {
      const q = v(crot[a]!);
      g.rotations[4 * i + a] = q;
      q2 += q * q;
    }
    if (!(q2 > 1e-30) || !Number.isFinite(q2)) bad(`Gaussian ${i} has a zero (or overflowing) rotation quaternion`);
  }
  return g;
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
