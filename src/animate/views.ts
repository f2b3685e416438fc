/**
 * The cameras of an animation (`test.view_setting`):
 *   camera        a capture camera (by id in the calibration's order) at its own size, or scaled to --size
 *   front / back  rot_Y = 0 / π
 *   free          an orbit about the vertical axis, 216 frames per turn
 *   moving        the front view, following the body's horizontal translation
 *   front_bird / back_bird   the same from above (rot_X = 0.3 / π/8)
 *   cano          the canonical (unposed) avatar from the front, f = 5000
 * Synthetic views use K = [[1100, 0, W/2], [0, 1100, H/2], [0, 0, 1]] at 1024 × 1024 (focal scaled with
 * min(W, H) / 1024) and the world → camera transform T(0, 0, 2.5) · Rx(rot_X) · Ry(rot_Y) · U · T(−c), c the
 * centre of frame 0's posed body box. U makes the body upright and facing the camera:
 *   'body' (ours, the default): U = Rx(π) · R_go0⁻¹, R_go0 the first frame's global orientation, so the front view
 *          shows the subject's front whatever the capture's world axes (y up or down, z up as AMASS);
 *   'world': U = identity, the reference's framing without `global_orient` (right for captures whose world has y
 *          down and subjects facing −z).
 * The reference's `global_orient: true` is U = Rx(π) · R_go0⁻¹, i.e. 'body'.
 * 'cano' renders the canonical Gaussians (no skinning) from the front: U = Rx(π) (the canonical body is y up,
 * facing +z), centred on the canonical map centre, at the distance where a 2.2 m window fills the image at f = 5000
 * (the reference gives only the focal; ours keeps the body in frame).
 */
import { rodrigues } from '../body/rotation.js';
import type { Camera } from '../data/camera.js';

export const VIEW_SETTINGS = ['camera', 'free', 'front', 'back', 'moving', 'front_bird', 'back_bird', 'cano'] as const;
export type ViewSetting = (typeof VIEW_SETTINGS)[number];
export type SyntheticViewSetting = Exclude<ViewSetting, 'camera'>;
export type ViewOrientation = 'body' | 'world';

/** Frames per full turn of the free view. */
export const FREE_VIEW_FRAMES = 216;
/** The synthetic views' focal length and image side (the focal scales with the image). */
export const VIEW_FOCAL = 1100;
export const VIEW_SIZE = 1024;
/** Camera distance from the body centre (metres). */
export const VIEW_DISTANCE = 2.5;
export const BIRD_PITCH = 0.3;
export const BACK_BIRD_PITCH = Math.PI / 8;
export const CANO_FOCAL = 5000;
/** Height (metres) of the window the canonical view shows at f = 5000 and 1024 pixels. */
export const CANO_WINDOW = 2.2;

export interface ParsedView {
  setting: ViewSetting;
  /** For 'camera': the camera id given as `camera:ID` (else the config's render_view_idx applies). */
  camId?: number;
}

/** `front`, `free`, ..., `camera` or `camera:ID`. Throws a one-line error listing the settings. */
export function parseView(s: string): ParsedView {
  const m = /^camera:(\d+)$/.exec(s);
  if (m) return { setting: 'camera', camId: Number(m[1]) };
  if ((VIEW_SETTINGS as readonly string[]).includes(s)) return { setting: s as ViewSetting };
  throw new Error(`--view '${s}': expected one of ${VIEW_SETTINGS.join(', ')} or camera:ID (a capture camera's id)`);
}

type Mat3 = Float64Array;

function mul3(a: Mat3, b: Mat3): Mat3 {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) o[3 * i + j] += a[3 * i + k]! * b[3 * k + j]!;
  return o;
}

function mulVec(a: Mat3, v: ArrayLike<number>): [number, number, number] {
  return [0, 1, 2].map((i) => a[3 * i]! * v[0]! + a[3 * i + 1]! * v[1]! + a[3 * i + 2]! * v[2]!) as [
    number,
    number,
    number,
  ];
}

function transpose3(a: Mat3): Mat3 {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) o[3 * j + i] = a[3 * i + j]!;
  return o;
}

/** U, the rotation that makes the body upright and facing the camera (see the file comment). */
export function uprightRotation(orientation: ViewOrientation, globalOrient0: ArrayLike<number>): Mat3 {
  if (orientation === 'world') return rodrigues(0, 0, 0);
  const rgo = rodrigues(globalOrient0[0] ?? 0, globalOrient0[1] ?? 0, globalOrient0[2] ?? 0);
  return mul3(rodrigues(Math.PI, 0, 0), transpose3(rgo));
}

/** What the synthetic views of a sequence share. */
export interface ViewRig {
  width: number;
  height: number;
  /** Centre of frame 0's posed body box (world), or the canonical centre for 'cano'. */
  center: ArrayLike<number>;
  /** U (3 × 3 row-major), from `uprightRotation` (ignored by 'cano'). */
  upright: Mat3;
}

/** Rotation angles (rot_X, rot_Y) of a synthetic view at output frame i. */
export function viewAngles(setting: SyntheticViewSetting, i: number): [number, number] {
  switch (setting) {
    case 'front':
    case 'moving':
    case 'cano':
      return [0, 0];
    case 'back':
      return [0, Math.PI];
    case 'front_bird':
      return [BIRD_PITCH, 0];
    case 'back_bird':
      return [BACK_BIRD_PITCH, Math.PI];
    case 'free':
      return [0, (2 * Math.PI * i) / FREE_VIEW_FRAMES];
  }
}

/**
 * The camera of a synthetic view at output frame i. `shift` (world, 'moving' only): the body's translation since
 * frame 0; its horizontal part (in the upright frame) moves the camera with the body.
 */
export function syntheticCamera(
  setting: SyntheticViewSetting,
  rig: ViewRig,
  i: number,
  shift: ArrayLike<number> = [0, 0, 0],
): Camera {
  const cano = setting === 'cano';
  const [ax, ay] = viewAngles(setting, i);
  return orbitCamera(rig, ax, ay, {
    focal: cano ? CANO_FOCAL : VIEW_FOCAL,
    distance: cano ? (CANO_FOCAL * CANO_WINDOW) / VIEW_SIZE : VIEW_DISTANCE,
    upright: cano ? rodrigues(Math.PI, 0, 0) : rig.upright,
    ...(setting === 'moving' ? { shift } : {}),
    name: `${setting}_${i}`,
  });
}

export interface OrbitOptions {
  /** Focal length in pixels at a 1024-pixel image (scaled with min(W, H)); default VIEW_FOCAL. */
  focal?: number;
  /** Distance from the centre (metres); default VIEW_DISTANCE. */
  distance?: number;
  /** U (default the rig's). */
  upright?: Mat3;
  /** World translation of the body since frame 0: its horizontal part (upright frame) moves the centre. */
  shift?: ArrayLike<number>;
  name?: string;
}

/**
 * A camera looking at the rig's centre from pitch `ax` and yaw `ay` (radians) in the upright frame, at a distance:
 * the synthetic views are this at fixed angles, and the browser player's orbit control is this at the user's.
 */
export function orbitCamera(rig: ViewRig, ax: number, ay: number, opts: OrbitOptions = {}): Camera {
  const { width: W, height: H } = rig;
  const f = (opts.focal ?? VIEW_FOCAL) * (Math.min(W, H) / VIEW_SIZE);
  const U = opts.upright ?? rig.upright;
  const Rxy = mul3(rodrigues(ax, 0, 0), rodrigues(0, ay, 0));
  const R = mul3(Rxy, U);
  // the point the camera looks at, in the upright frame: the centre, moved with the body when a shift is given
  const c = mulVec(U, rig.center);
  if (opts.shift) {
    const d = mulVec(U, opts.shift);
    c[0] += d[0];
    c[2] += d[2];
  }
  const rc = mulVec(Rxy, c);
  return {
    name: opts.name ?? 'orbit',
    K: Float64Array.of(f, 0, W / 2, 0, f, H / 2, 0, 0, 1),
    R,
    T: Float64Array.of(-rc[0], -rc[1], (opts.distance ?? VIEW_DISTANCE) - rc[2]),
    width: W,
    height: H,
  };
}

/** A capture camera at another image size (intrinsics scaled per axis). */
export function scaledCamera(cam: Camera, width: number, height: number): Camera {
  if (width === cam.width && height === cam.height) return cam;
  const sx = width / cam.width;
  const sy = height / cam.height;
  const K = Float64Array.from(cam.K);
  K[0] *= sx;
  K[1] *= sx;
  K[2] *= sx;
  K[4] *= sy;
  K[5] *= sy;
  return { ...cam, K, width, height };
}

/** The centre of an axis-aligned box of points (N × 3). */
export function boxCenter(points: ArrayLike<number>): [number, number, number] {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i + 2 < points.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      lo[k] = Math.min(lo[k]!, points[i + k]!);
      hi[k] = Math.max(hi[k]!, points[i + k]!);
    }
  }
  if (!(lo[0]! <= hi[0]!)) return [0, 0, 0];
  return [0, 1, 2].map((k) => (lo[k]! + hi[k]!) / 2) as [number, number, number];
}
