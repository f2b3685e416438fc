/**
 * How well a posed template covers a capture's silhouettes: the template's vertices skinned to a frame with their
 * weights, its triangles filled in a camera's image (pixel centres at integer coordinates, OpenCV), compared with the
 * mask. `covered` = |mask ∧ template| / |mask| (what the Gaussians can reach), `excess` = |template ∧ ¬mask| /
 * |template|. A check of a fitted template against the bare SMPL-X one (docs/template.md).
 */
import { lbsPoints } from '../../body/lbs.js';
import type { Camera } from '../../data/camera.js';

/** Fill the triangles of a posed mesh into a W×H silhouette (1 = covered). */
export function silhouette(positions: ArrayLike<number>, faces: ArrayLike<number>, cam: Camera): Uint8Array {
  // every covered pixel gets some face's label whatever the depth order: the labelled z-buffer with one label
  const labels = visibleLabels(positions, faces, new Uint8Array(faces.length / 3), cam);
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i]! >= 0 ? 1 : 0;
  return out;
}

/**
 * The label of the nearest triangle at each pixel of a W×H image (−1 where none): a z-buffer over the faces, depth by
 * the perspective-correct 1/z, pixel centres at integer coordinates (OpenCV), as `silhouette`. `faceLabel` (one per
 * triangle, 0..127) says what each triangle is, e.g. the garment or body part of a clothed mesh, so that
 * `labels[i] === k` is the visible part k (occluded parts of it are not counted).
 */
export function visibleLabels(
  positions: ArrayLike<number>,
  faces: ArrayLike<number>,
  faceLabel: ArrayLike<number>,
  cam: Camera,
): Int8Array {
  const { K, R, T, width: W, height: H } = cam;
  const V = positions.length / 3;
  const uv = new Float64Array(2 * V);
  const invZ = new Float64Array(V);
  for (let i = 0; i < V; i++) {
    const x = positions[3 * i]!,
      y = positions[3 * i + 1]!,
      z = positions[3 * i + 2]!;
    const cx = R[0]! * x + R[1]! * y + R[2]! * z + T[0]!;
    const cy = R[3]! * x + R[4]! * y + R[5]! * z + T[1]!;
    const cz = R[6]! * x + R[7]! * y + R[8]! * z + T[2]!;
    invZ[i] = cz > 1e-6 ? 1 / cz : 0;
    uv[2 * i] = (K[0]! * cx + K[1]! * cy) / cz + K[2]!;
    uv[2 * i + 1] = (K[4]! * cy) / cz + K[5]!;
  }
  const out = new Int8Array(W * H).fill(-1);
  const depth = new Float64Array(W * H); // 1/z of the nearest surface so far (0 = none)
  for (let t = 0, f = 0; t < faces.length; t += 3, f++) {
    const a = faces[t]!,
      b = faces[t + 1]!,
      c = faces[t + 2]!;
    if (!invZ[a] || !invZ[b] || !invZ[c]) continue;
    const ax = uv[2 * a]!,
      ay = uv[2 * a + 1]!,
      bx = uv[2 * b]!,
      by = uv[2 * b + 1]!,
      cx = uv[2 * c]!,
      cy = uv[2 * c + 1]!;
    const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    if (area === 0) continue;
    const label = faceLabel[f]!;
    const x0 = Math.max(0, Math.ceil(Math.min(ax, bx, cx))),
      x1 = Math.min(W - 1, Math.floor(Math.max(ax, bx, cx)));
    const y0 = Math.max(0, Math.ceil(Math.min(ay, by, cy))),
      y1 = Math.min(H - 1, Math.floor(Math.max(ay, by, cy)));
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) {
        const w0 = ((bx - x) * (cy - y) - (by - y) * (cx - x)) / area;
        const w1 = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) / area;
        const w2 = 1 - w0 - w1;
        if (w0 < 0 || w1 < 0 || w2 < 0) continue;
        const iz = w0 * invZ[a]! + w1 * invZ[b]! + w2 * invZ[c]!;
        const i = y * W + x;
        if (iz > depth[i]!) {
          depth[i] = iz;
          out[i] = label;
        }
      }
  }
  return out;
}

export interface Coverage {
  covered: number;
  excess: number;
}

/** Coverage of a mask (1 = foreground) by a silhouette. */
export function coverage(sil: Uint8Array, mask: Uint8Array): Coverage {
  let m = 0,
    s = 0,
    both = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) m++;
    if (sil[i]) s++;
    if (mask[i] && sil[i]) both++;
  }
  return { covered: m ? both / m : 1, excess: s ? (s - both) / s : 0 };
}

/** The template (canonical positions, per-vertex weights) skinned with a frame's cano → live joint matrices. */
export function poseTemplate(
  positions: ArrayLike<number>,
  weights: ArrayLike<number>,
  jointMats: ArrayLike<number>,
): Float64Array {
  return lbsPoints(positions, weights, jointMats);
}
