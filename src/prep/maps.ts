/**
 * Canonical Gaussian maps: the template rendered orthographically front and back, each
 * pixel resolved to the interpolated canonical position, normal and 55 skinning weights. Combined image = front |
 * back side by side (size x 2·size); the Gaussian set = its foreground pixels in row-major order.
 */
import type { Gpu } from '../gpu/index.js';
import { rasterizeFrontBack, type RasterSide } from './raster.js';
import { vertexNormals } from '../io/mesh.js';

export interface CanonicalMesh {
  /** (V*3) canonical vertex positions. */
  positions: ArrayLike<number>;
  /** (F*3) faces, counter-clockwise from outside. */
  faces: ArrayLike<number>;
  /** (V*J) skinning weights (row-major); optional (maps of pure geometry in tests). */
  weights?: ArrayLike<number>;
  /** Joints per weight row (55 for SMPL-X). */
  numJoints?: number;
}

export interface CanonicalMaps {
  /** Pixels per side; the combined image is size x (2·size). */
  size: number;
  /** The map centre (AABB centre of the canonical mesh unless given). */
  center: Float64Array;
  /** (size x 2·size x 3) canonical xyz per pixel, 0 on the background. */
  position: Float32Array;
  /** (size x 2·size x 3) unit normals per pixel, 0 on the background. */
  normal: Float32Array;
  /** Foreground pixel indices into the combined image (row-major): Gaussian i lives at pixel[i]. */
  pixels: Uint32Array;
  /** (N x J) skinning weights of the Gaussians (empty when the mesh has none). */
  weights: Float32Array;
  numJoints: number;
}

/** AABB centre of a point set (V*3). */
export function aabbCenter(positions: ArrayLike<number>): Float64Array {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      lo[k] = Math.min(lo[k]!, positions[i + k]!);
      hi[k] = Math.max(hi[k]!, positions[i + k]!);
    }
  }
  return Float64Array.from([0, 1, 2], (k) => (lo[k]! + hi[k]!) / 2);
}

/**
 * Resolve the id/barycentric images of both sides into the combined maps (float64 arithmetic): positions and
 * weights are barycentric blends of the triangle's vertex values, normals the normalised blend of vertex normals.
 */
export function resolveMaps(mesh: CanonicalMesh, sides: [RasterSide, RasterSide], center: Float64Array): CanonicalMaps {
  const size = sides[0].size;
  const W = 2 * size;
  const position = new Float32Array(size * W * 3);
  const normal = new Float32Array(size * W * 3);
  const vn = vertexNormals(mesh.positions, mesh.faces);
  const J = mesh.weights ? (mesh.numJoints ?? 55) : 0;
  const pixels: number[] = [];
  const corner = [0, 0, 0];
  const bc = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < W; x++) {
      const side = sides[x < size ? 0 : 1];
      const sp = y * size + (x % size);
      const tri = side.triangle[sp]!;
      if (tri < 0) continue;
      const b0 = side.bary[sp * 2]!,
        b1 = side.bary[sp * 2 + 1]!;
      bc[0] = b0;
      bc[1] = b1;
      bc[2] = 1 - b0 - b1;
      for (let k = 0; k < 3; k++) corner[k] = mesh.faces[tri * 3 + k]!;
      const o = (y * W + x) * 3;
      let nx = 0,
        ny = 0,
        nz = 0;
      for (let k = 0; k < 3; k++) {
        const v = corner[k]! * 3;
        for (let c = 0; c < 3; c++) position[o + c] += bc[k]! * mesh.positions[v + c]!;
        nx += bc[k]! * vn[v]!;
        ny += bc[k]! * vn[v + 1]!;
        nz += bc[k]! * vn[v + 2]!;
      }
      const l = Math.hypot(nx, ny, nz) || 1;
      normal[o] = nx / l;
      normal[o + 1] = ny / l;
      normal[o + 2] = nz / l;
      pixels.push(y * W + x);
    }
  }
  const N = pixels.length;
  const weights = new Float32Array(N * J);
  if (J > 0) {
    const mw = mesh.weights!;
    for (let i = 0; i < N; i++) {
      const p = pixels[i]!;
      const y = Math.floor(p / W),
        x = p % W;
      const side = sides[x < size ? 0 : 1];
      const sp = y * size + (x % size);
      const tri = side.triangle[sp]!;
      const b0 = side.bary[sp * 2]!,
        b1 = side.bary[sp * 2 + 1]!;
      const b = [b0, b1, 1 - b0 - b1];
      for (let k = 0; k < 3; k++) {
        const v = mesh.faces[tri * 3 + k]!;
        for (let j = 0; j < J; j++) {
          const w = mw[v * J + j]!;
          if (w !== 0) weights[i * J + j] += b[k]! * w;
        }
      }
    }
  }
  return { size, center, position, normal, pixels: Uint32Array.from(pixels), weights, numJoints: J };
}

/** Render and resolve the canonical front/back maps of a mesh. */
export async function canonicalMaps(
  gpu: Gpu,
  mesh: CanonicalMesh,
  options: { size?: number; center?: ArrayLike<number> } = {},
): Promise<CanonicalMaps> {
  const center = options.center ? Float64Array.from(options.center) : aabbCenter(mesh.positions);
  const sides = await rasterizeFrontBack(gpu, mesh, { size: options.size ?? 1024, center });
  return resolveMaps(mesh, sides, center);
}

/** The Gaussians' canonical positions (N x 3), gathered from the position map in pixel order. */
export function gaussianPositions(maps: CanonicalMaps): Float32Array {
  return gather(maps.position, maps.pixels);
}

/** The Gaussians' canonical normals (N x 3). */
export function gaussianNormals(maps: CanonicalMaps): Float32Array {
  return gather(maps.normal, maps.pixels);
}

function gather(map: Float32Array, pixels: Uint32Array): Float32Array {
  const out = new Float32Array(pixels.length * 3);
  for (let i = 0; i < pixels.length; i++) {
    const p = pixels[i]! * 3;
    out[i * 3] = map[p]!;
    out[i * 3 + 1] = map[p + 1]!;
    out[i * 3 + 2] = map[p + 2]!;
  }
  return out;
}

/**
 * The reference's rule for the Gaussian set from a position map it wrote: pixels with ‖xyz‖ > 0, row-major.
 * (Ours come from the rasterizer's coverage, which is the same set unless a surface point is exactly the origin.)
 */
export function foregroundPixels(position: Float32Array): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < position.length / 3; i++) {
    if (position[i * 3] !== 0 || position[i * 3 + 1] !== 0 || position[i * 3 + 2] !== 0) out.push(i);
  }
  return Uint32Array.from(out);
}
