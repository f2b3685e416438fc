/**
 * Posed Gaussians as a standard 3DGS `.ply` (binary little-endian float32), the layout the original 3DGS code, its
 * SIBR viewer and the common web viewers read, and the one the reference's animation writes:
 *   x y z, nx ny nz (0), f_dc_0..2 = (rgb − 0.5) / C0 (SH degree 0 from precomputed colours), [f_rest_0..44 = 0],
 *   opacity = logit(α), scale_0..2 = log(s), rot_0..3 = q (wxyz, as given).
 * With `shRest` (the default) the 45 zero f_rest properties are written too: the SIBR viewer reads a fixed degree-3
 * record; without them the file is 3.6× smaller and still a valid degree-0 3DGS PLY (our reader and most web viewers
 * take either). Values that would not survive the conversion (opacity 0 or 1, scale 0) are clamped to finite logits
 * and logs; non-finite inputs are refused, naming the Gaussian. Pure (no file access): write the bytes atomically
 * where the caller keeps its files.
 */

/** SH band-0 constant: colour = 0.5 + C0 · f_dc. */
export const SH_C0 = 0.28209479177387814;

/** Activated Gaussians (what is splatted): positions, scales, rotations wxyz, opacities in (0, 1), RGB colours. */
export interface PosedGaussians {
  count: number;
  /** N × 3. */
  means: Float32Array;
  /** N × 3, > 0 (already exponentiated). */
  scales: Float32Array;
  /** N × 4 wxyz (written as given; readers normalise). */
  rotations: Float32Array;
  /** N, in [0, 1] (already through the sigmoid). */
  opacities: Float32Array;
  /** N × 3 RGB (raw: may leave [0, 1]). */
  colors: Float32Array;
}

export interface GaussianPlyOptions {
  /** Write the 45 zero `f_rest_*` properties (default true: the reference's layout, read by the SIBR viewer). */
  shRest?: boolean;
}

/** Opacities are clamped to [ε, 1 − ε] before the logit (|logit| ≤ ~16.1). */
const OPACITY_EPS = 1e-7;
/** Scales are clamped below at this before the log. */
const SCALE_MIN = 1e-30;

function checkSizes(g: PosedGaussians): void {
  const n = g.count;
  if (!Number.isInteger(n) || n < 0) throw new Error(`3DGS PLY: bad Gaussian count ${n}`);
  const want: Array<[keyof PosedGaussians, number]> = [
    ['means', 3],
    ['scales', 3],
    ['rotations', 4],
    ['opacities', 1],
    ['colors', 3],
  ];
  for (const [k, c] of want) {
    const a = g[k] as Float32Array;
    if (a.length !== n * c) throw new Error(`3DGS PLY: '${k}' has ${a.length} values, expected ${n} × ${c}`);
  }
}

/** The property names in file order. */
export function gaussianPlyProperties(opts: GaussianPlyOptions = {}): string[] {
  const names = ['x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2'];
  if (opts.shRest ?? true) for (let r = 0; r < 45; r++) names.push(`f_rest_${r}`);
  names.push('opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3');
  return names;
}

/** Encode posed Gaussians as a 3DGS `.ply`. Throws naming the first Gaussian with a non-finite value. */
export function encodeGaussianPly(g: PosedGaussians, opts: GaussianPlyOptions = {}): Uint8Array {
  checkSizes(g);
  const names = gaussianPlyProperties(opts);
  const header =
    `ply\nformat binary_little_endian 1.0\ncomment animatable-gaussians posed Gaussians (SH degree 0, colours precomputed)\n` +
    `element vertex ${g.count}\n` +
    names.map((p) => `property float ${p}\n`).join('') +
    'end_header\n';
  const head = new TextEncoder().encode(header);
  const np = names.length;
  const tail = np - 8; // opacity, scale ×3, rot ×4
  const out = new Uint8Array(head.length + g.count * np * 4);
  out.set(head, 0);
  // the body starts at a byte offset that need not be 4-aligned: write through a DataView
  const view = new DataView(out.buffer, head.length);
  const invC0 = 1 / SH_C0;
  for (let i = 0; i < g.count; i++) {
    const rec: number[] = [
      g.means[3 * i]!,
      g.means[3 * i + 1]!,
      g.means[3 * i + 2]!,
      0,
      0,
      0,
      (g.colors[3 * i]! - 0.5) * invC0,
      (g.colors[3 * i + 1]! - 0.5) * invC0,
      (g.colors[3 * i + 2]! - 0.5) * invC0,
    ];
    const o = g.opacities[i]!;
    const oc = Math.min(1 - OPACITY_EPS, Math.max(OPACITY_EPS, o));
    const s = [g.scales[3 * i]!, g.scales[3 * i + 1]!, g.scales[3 * i + 2]!];
    const q = [g.rotations[4 * i]!, g.rotations[4 * i + 1]!, g.rotations[4 * i + 2]!, g.rotations[4 * i + 3]!];
    for (const v of [...rec, o, ...s, ...q]) {
      if (!Number.isFinite(v)) {
        throw new Error(
          `3DGS PLY: Gaussian ${i} has a non-finite value (position, colour, opacity, scale or rotation)`,
        );
      }
    }
    const base = i * np * 4;
    for (let k = 0; k < 9; k++) view.setFloat32(base + 4 * k, rec[k]!, true);
    // f_rest (when present) stays 0
    let t = base + 4 * tail;
    view.setFloat32(t, Math.log(oc / (1 - oc)), true);
    for (let a = 0; a < 3; a++) view.setFloat32((t += 4), Math.log(Math.max(SCALE_MIN, s[a]!)), true);
    for (let a = 0; a < 4; a++) view.setFloat32((t += 4), q[a]!, true);
  }
  return out;
}
