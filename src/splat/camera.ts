/**
 * The rasterizer's camera: OpenCV convention (x right, y down, z forward), intrinsics K (principal point anywhere)
 * and a world-to-camera extrinsic (R, T): p_cam = R·p_world + T. Derived quantities follow the reference
 * rasterizer: tan(fov) = W/(2fx), H/(2fy); projection P00 = 2fx/W, P11 = 2fy/H, P02 = (2cx − W)/W,
 * P12 = (2cy − H)/H, w = z; pixel = ((ndc + 1)·W − 1)/2.
 */
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

export const TILE = 16;

export function deriveCamera(cam: Camera): CameraDerived {
  const { width: W, height: H } = cam;
  const K = Array.from(cam.K);
  const R = Array.from(cam.R);
  const T = Array.from(cam.T);
  const [fx, cx, fy, cy] = [K[0]!, K[2]!, K[4]!, K[5]!];
  const campos = [0, 1, 2].map((j) => -(R[j]! * T[0]! + R[3 + j]! * T[1]! + R[6 + j]! * T[2]!));
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

/** Check a camera (from JSON or code); `source` names it in errors. */
export function validateCamera(c: unknown, source = 'camera'): Camera {
  if (typeof c !== 'object' || c === null)
    throw new Error(`${source}: expected a JSON object with width, height, K, R, T`);
  const o = c as Record<string, unknown>;
  const int = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 16384) {
      throw new Error(`${source}: '${k}' must be a positive integer ≤ 16384 (got ${JSON.stringify(v)})`);
    }
    return v;
  };
  const mat = (k: string, n: number): number[] => {
    const v = o[k];
    const flat = Array.isArray(v) ? (v as unknown[]).flat() : undefined;
    if (!flat || flat.length !== n || !flat.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      const shape = n === 9 ? '3×3 (nested or flat, row-major)' : `${n} numbers`;
      throw new Error(`${source}: '${k}' must be ${shape} finite numbers (got ${JSON.stringify(v)})`);
    }
    return flat as number[];
  };
  const cam: Camera = { width: int('width'), height: int('height'), K: mat('K', 9), R: mat('R', 9), T: mat('T', 3) };
  if (!(cam.K[0]! > 0) || !(cam.K[4]! > 0))
    throw new Error(`${source}: K must have positive fx (K[0][0]) and fy (K[1][1])`);
  return cam;
}
