/**
 * The rasterizer's camera: OpenCV convention (x right, y down, z forward), intrinsics K (principal point anywhere)
 * and a world-to-camera extrinsic (R, T): p_cam = R·p_world + T. Derived quantities follow the reference
 * rasterizer: tan(fov) = W/(2fx), H/(2fy); projection P00 = 2fx/W, P11 = 2fy/H, P02 = (2cx − W)/W,
 * P12 = (2cy − H)/H, w = z; pixel = ((ndc + 1)·W − 1)/2.
 */
import { FormatError } from '../io/errors.js';
import { TILE } from './constants.js';

export interface Camera {
  width: number;
  height: number;
  /** 3×3 intrinsics, row-major (fx 0 cx; 0 fy cy; 0 0 1). */
  K: ArrayLike<number>;
  /** 3×3 world-to-camera rotation, row-major. */
  R: ArrayLike<number>;
  /** World-to-camera translation. */
  T: ArrayLike<number>;
}

/**
 * A camera of a capture's calibration: the same camera with its name there (e.g. 'cam00') and float64 matrices
 * (the capture readers and writers, data/camera.ts, and everything that samples a capture use it).
 */
export interface CaptureCamera extends Camera {
  name: string;
  K: Float64Array;
  R: Float64Array;
  T: Float64Array;
}

export interface CameraDerived {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  tanfovx: number;
  tanfovy: number;
  P00: number;
  P02: number;
  P11: number;
  P12: number;
  R: number[];
  T: number[];
  /** Camera centre in world space, −Rᵀ T. */
  campos: number[];
  tilesX: number;
  tilesY: number;
}

export { TILE };

/** The camera centre in world coordinates: −Rᵀ T. */
export function cameraCenter(cam: Camera): Float64Array {
  const { R, T } = cam;
  const c = new Float64Array(3);
  for (let i = 0; i < 3; i++) c[i] = -(R[i]! * T[0]! + R[3 + i]! * T[1]! + R[6 + i]! * T[2]!);
  return c;
}

export function deriveCamera(cam: Camera): CameraDerived {
  const { width: W, height: H } = cam;
  const K = Array.from(cam.K);
  const R = Array.from(cam.R);
  const T = Array.from(cam.T);
  const [fx, cx, fy, cy] = [K[0]!, K[2]!, K[4]!, K[5]!];
  const campos = Array.from(cameraCenter(cam));
  return {
    width: W,
    height: H,
    fx,
    fy,
    cx,
    cy,
    tanfovx: W / (2 * fx),
    tanfovy: H / (2 * fy),
    P00: (2 * fx) / W,
    P02: (2 * cx - W) / W,
    P11: (2 * fy) / H,
    P12: (2 * cy - H) / H,
    R,
    T,
    campos,
    tilesX: Math.ceil(W / TILE),
    tilesY: Math.ceil(H / TILE),
  };
}

/** The largest image side a camera may have (beyond any capture or render target we know of). */
export const MAX_CAMERA_SIZE = 65536;

/** How far R·Rᵀ may be from the identity (and det R from +1): calibrations store rotations to a few digits. */
export const ROTATION_TOLERANCE = 1e-3;

/**
 * The first thing wrong with a camera's numbers, as "'field' ... what to do", or null when it is usable: image sizes
 * positive integers; K, R, T finite; positive focal lengths and K's last row [0, 0, 1]; R a rotation (orthonormal
 * rows, determinant +1, to ROTATION_TOLERANCE). A NaN, an infinity, a mirrored or scaled R or a zero focal length
 * would otherwise render silently black, flipped or NaN images.
 */
export function cameraProblem(cam: Camera): string | null {
  for (const k of ['width', 'height'] as const) {
    const n = cam[k];
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_CAMERA_SIZE)) {
      return `the image ${k} must be a positive integer ≤ ${MAX_CAMERA_SIZE}, got ${n}`;
    }
  }
  for (const [k, v, n] of [
    ['K', cam.K, 9],
    ['R', cam.R, 9],
    ['T', cam.T, 3],
  ] as const) {
    if (v.length !== n) return `'${k}' must hold ${n} numbers, got ${v.length}`;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(v[i])) {
        return `'${k}' must be finite, got ${v[i]} at ${n === 9 ? `[${Math.floor(i / 3)}][${i % 3}]` : `[${i}]`}; fix the calibration`;
      }
    }
  }
  const { K, R } = cam;
  if (!(K[0]! > 0 && K[4]! > 0)) {
    return `'K' must have positive focal lengths fx (K[0][0]) and fy (K[1][1]) in pixels, got ${K[0]} and ${K[4]}`;
  }
  if (Math.abs(K[3]!) > 1e-9 || Math.abs(K[6]!) > 1e-9 || Math.abs(K[7]!) > 1e-9 || Math.abs(K[8]! - 1) > 1e-6) {
    return `'K' must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]], got rows 2–3 [${K[3]}, ${K[4]}, ${K[5]}], [${K[6]}, ${K[7]}, ${K[8]}]`;
  }
  let worst = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const d = R[3 * i]! * R[3 * j]! + R[3 * i + 1]! * R[3 * j + 1]! + R[3 * i + 2]! * R[3 * j + 2]!;
      worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
    }
  }
  const det =
    R[0]! * (R[4]! * R[8]! - R[5]! * R[7]!) -
    R[1]! * (R[3]! * R[8]! - R[5]! * R[6]!) +
    R[2]! * (R[3]! * R[7]! - R[4]! * R[6]!);
  if (worst > ROTATION_TOLERANCE || Math.abs(det - 1) > ROTATION_TOLERANCE) {
    return (
      `'R' is not a rotation matrix (its rows must be orthonormal with determinant +1; got determinant ` +
      `${det.toPrecision(4)}); R is the world-to-camera rotation in the OpenCV convention`
    );
  }
  return null;
}

/** Throw a FormatError naming `where` (the file, and the camera's name or index) when the camera is unusable. */
export function checkCamera<C extends Camera>(cam: C, where: string): C {
  const problem = cameraProblem(cam);
  if (problem) throw new FormatError(where, problem);
  return cam;
}

/**
 * Check a camera object { width, height, K, R, T } (from a JSON file or code; K and R 3×3 nested or flat, row-major)
 * and return it as a Camera. `source` names the file, `index` the camera's place in it when it holds several; each
 * error is one line naming them, the field and what to do.
 */
export function validateCamera(c: unknown, source = 'camera', index?: number | string): Camera {
  const where =
    index === undefined ? source : `${source}: camera ${typeof index === 'number' ? `#${index}` : `'${index}'`}`;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new FormatError(where, 'expected an object {width, height, K (3×3), R (3×3, world→camera), T (3)}');
  }
  const o = c as Record<string, unknown>;
  const size = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > MAX_CAMERA_SIZE) {
      throw new FormatError(where, `'${k}' must be a positive integer ≤ ${MAX_CAMERA_SIZE} (pixels), got ${brief(v)}`);
    }
    return v;
  };
  const numbers = (k: string, n: number): number[] => {
    const v = o[k];
    if (v === undefined)
      throw new FormatError(where, `has no '${k}'; add it (${n === 9 ? 'a 3×3 matrix' : '3 numbers'})`);
    const flat = Array.isArray(v) ? (v as unknown[]).flat() : undefined;
    const rows =
      n === 9 && Array.isArray(v) && v.length === 3 ? v.every((r) => Array.isArray(r) && r.length === 3) : true;
    if (!flat || flat.length !== n || !rows || !flat.every((x) => typeof x === 'number')) {
      const shape = n === 9 ? 'a 3×3 matrix (three rows of 3, or 9 numbers, row-major)' : '3 numbers';
      throw new FormatError(where, `'${k}' must be ${shape}, got ${brief(v)}`);
    }
    return flat as number[];
  };
  const cam: Camera = {
    width: size('width'),
    height: size('height'),
    K: numbers('K', 9),
    R: numbers('R', 9),
    T: numbers('T', 3),
  };
  return checkCamera(cam, where);
}

function brief(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
