/**
 * Pinhole cameras in the OpenCV convention (x right, y down, z forward), as the reference uses them:
 * a world point X projects to K (R X + T). Calibration files of the three capture layouts:
 * - THuman4.0 / custom data: `calibration.json` and AvatarReX: `calibration_full.json`, an object keyed by camera
 *   name with K (3x3), R (3x3, world -> camera), T (3), imgSize [w, h];
 * - ActorsHQ: `calibration.csv`, columns name, w, h, rx, ry, rz, tx, ty, tz, fx, fy, px, py; the rotation
 *   (axis-angle) and translation are camera -> world, the intrinsics are normalised by the image size.
 */
import { readFileSync } from 'node:fs';
import { rodrigues } from '../body/rotation.js';
import { FormatError, InputError } from '../io/errors.js';
import { describeFsError, writeFileAtomic } from '../io/node/atomic.js';
import { cameraCenter, checkCamera, type CaptureCamera } from '../splat/camera.js';

/** A capture's camera: the rasterizer's Camera with its name in the calibration and float64 matrices. */
export type Camera = CaptureCamera;

/** Project a world point to pixel coordinates (u, v) and camera depth z. */
export function projectPoint(cam: Camera, x: number, y: number, z: number): [number, number, number] {
  const { K, R, T } = cam;
  const cx = R[0]! * x + R[1]! * y + R[2]! * z + T[0]!;
  const cy = R[3]! * x + R[4]! * y + R[5]! * z + T[1]!;
  const cz = R[6]! * x + R[7]! * y + R[8]! * z + T[2]!;
  return [(K[0]! * cx + K[1]! * cy) / cz + K[2]!, (K[4]! * cy) / cz + K[5]!, cz];
}

/** The 4x4 world -> camera matrix [R|T] (row-major). */
export function extrinsic(cam: Camera): Float64Array {
  const m = new Float64Array(16);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m[4 * r + c] = cam.R[3 * r + c]!;
    m[4 * r + 3] = cam.T[r]!;
  }
  m[15] = 1;
  return m;
}

/** A row-major 3×3 matrix from nested rows of 3 or a flat list of 9 finite numbers (anything else is refused). */
function matrix3(v: unknown, where: string, key: string): Float64Array {
  const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  let flat: unknown[] | undefined;
  if (Array.isArray(v) && v.length === 3 && v.every((r) => Array.isArray(r) && r.length === 3)) flat = v.flat();
  else if (Array.isArray(v) && v.length === 9) flat = v;
  if (!flat || !flat.every(isNum)) {
    throw new FormatError(
      where,
      `'${key}' must be a 3×3 matrix of finite numbers (three rows of 3, or 9 numbers), got ${brief(v)}`,
    );
  }
  return Float64Array.from(flat as number[]);
}

/** A 3-vector from [x, y, z] or [[x], [y], [z]]. */
function vector3(v: unknown, where: string, key: string): Float64Array {
  const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  let flat: unknown[] | undefined;
  if (Array.isArray(v) && v.length === 3 && v.every((x) => Array.isArray(x) && x.length === 1)) flat = v.flat();
  else if (Array.isArray(v) && v.length === 3) flat = v;
  if (!flat || !flat.every(isNum)) {
    throw new FormatError(where, `'${key}' must be 3 finite numbers, got ${brief(v)}`);
  }
  return Float64Array.from(flat as number[]);
}

function brief(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export { cameraCenter, checkCamera };

/** One camera of a calibration file: { K, R, T, imgSize: [w, h] } (extra keys such as distortion are ignored). */
export function parseCameraEntry(
  name: string,
  c: unknown,
  source: string,
  where = `${source}: camera '${name}'`,
): Camera {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new FormatError(where, `expected an object with K, R, T and imgSize, got ${brief(c)}`);
  }
  const o = c as Record<string, unknown>;
  for (const k of ['K', 'R', 'T', 'imgSize']) if (!(k in o)) throw new FormatError(where, `has no '${k}'`);
  const size = o.imgSize;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((x) => typeof x === 'number')) {
    throw new FormatError(where, `'imgSize' must be [width, height], got ${brief(size)}`);
  }
  return checkCamera(
    {
      name,
      K: matrix3(o.K, where, 'K'),
      R: matrix3(o.R, where, 'R'),
      T: vector3(o.T, where, 'T'),
      width: size[0] as number,
      height: size[1] as number,
    },
    where,
  );
}

/** Parse a THuman4.0 / AvatarReX calibration JSON. Cameras come back sorted by name (the reference's order). */
export function parseCalibrationJson(text: string, source: string): Camera[] {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new FormatError(source, 'expected an object keyed by camera name');
  }
  const names = Object.keys(obj).sort();
  if (names.length === 0) throw new FormatError(source, 'the calibration holds no cameras');
  return names.map((name) => parseCameraEntry(name, (obj as Record<string, unknown>)[name], source));
}

/**
 * A single camera for rendering, from either a camera JSON { width, height, K, R, T } or a calibration JSON (an
 * object keyed by camera name) and `cam`, a camera name or index (optional when it holds one camera).
 */
export function parseCameraJson(text: string, source: string, cam?: string): Camera {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new FormatError(source, 'expected a camera object {width, height, K, R, T} or a calibration file');
  }
  const o = obj as Record<string, unknown>;
  if ('K' in o || 'R' in o || 'width' in o) {
    if (cam !== undefined) throw new InputError(`--cam ${cam}: ${source} holds a single camera, not a calibration`);
    for (const k of ['width', 'height']) {
      if (typeof o[k] !== 'number')
        throw new FormatError(source, `'${k}' must be a positive integer, got ${brief(o[k])}`);
    }
    return parseCameraEntry('camera', { ...o, imgSize: [o.width, o.height] }, source, source);
  }
  const cams = parseCalibrationJson(text, source);
  const names = cams.map((c) => c.name);
  if (cam === undefined) {
    if (cams.length === 1) return cams[0]!;
    throw new InputError(
      `${source} is a calibration of ${cams.length} cameras: choose one with --cam NAME or --cam INDEX ` +
        `(${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''})`,
    );
  }
  const byName = cams.find((c) => c.name === cam);
  if (byName) return byName;
  if (/^\d+$/.test(cam) && Number(cam) < cams.length) return cams[Number(cam)]!;
  throw new InputError(
    `--cam ${cam}: ${source} has no such camera (names: ${names.slice(0, 8).join(', ')}` +
      `${names.length > 8 ? ', ...' : ''}; or an index 0..${cams.length - 1})`,
  );
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what} ${path}: ${describeFsError(e)}`);
  }
}

export function readCalibrationJson(path: string): Camera[] {
  return parseCalibrationJson(readText(path, 'calibration'), path);
}

/** A camera JSON or a calibration JSON plus a camera name/index (see parseCameraJson). */
export function readCameraJson(path: string, cam?: string): Camera {
  return parseCameraJson(readText(path, 'camera'), path, cam);
}

const nested = (m: Float64Array) => [
  Array.from(m.subarray(0, 3)),
  Array.from(m.subarray(3, 6)),
  Array.from(m.subarray(6, 9)),
];

/** Write cameras as a THuman4.0-style calibration JSON (K, R nested 3x3; T; imgSize [w, h]), atomically. */
export function writeCalibrationJson(path: string, cams: readonly Camera[]): void {
  const obj: Record<string, unknown> = {};
  for (const c of cams)
    obj[c.name] = { K: nested(c.K), R: nested(c.R), T: Array.from(c.T), imgSize: [c.width, c.height] };
  writeFileAtomic(path, JSON.stringify(obj, null, 1));
}

const ACTORSHQ_COLUMNS = ['name', 'w', 'h', 'rx', 'ry', 'rz', 'tx', 'ty', 'tz', 'fx', 'fy', 'px', 'py'];

/** Parse an ActorsHQ calibration.csv (cameras in file order). */
export function parseActorsHqCsv(text: string, source: string): Camera[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new FormatError(source, 'empty calibration');
  const header = lines[0]!.split(',').map((s) => s.trim());
  const col = ACTORSHQ_COLUMNS.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new FormatError(source, `no column '${c}' (header: ${header.join(',').slice(0, 120)})`);
    return i;
  });
  return lines.slice(1).map((line, li) => {
    const f = line.split(',').map((s) => s.trim());
    const num = (k: number) => {
      const v = Number(f[col[k]!]);
      if (!Number.isFinite(v)) {
        throw new FormatError(source, `line ${li + 2}: bad ${ACTORSHQ_COLUMNS[k]} '${f[col[k]!]?.slice(0, 30)}'`);
      }
      return v;
    };
    const name = f[col[0]!]!;
    const [w, h, rx, ry, rz, tx, ty, tz, fx, fy, px, py] = Array.from({ length: 12 }, (_, i) => num(i + 1)) as number[];
    const Rc2w = rodrigues(rx!, ry!, rz!);
    const R = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) R[3 * i + j] = Rc2w[3 * j + i]!;
    const T = new Float64Array(3);
    for (let i = 0; i < 3; i++) T[i] = -(R[3 * i]! * tx! + R[3 * i + 1]! * ty! + R[3 * i + 2]! * tz!);
    const K = Float64Array.of(fx! * w!, 0, px! * w!, 0, fy! * h!, py! * h!, 0, 0, 1);
    return checkCamera({ name, K, R, T, width: w!, height: h! }, `${source}: camera '${name}'`);
  });
}

export function readActorsHqCsv(path: string): Camera[] {
  return parseActorsHqCsv(readText(path, 'calibration'), path);
}

/** Rotation matrix -> axis-angle (for writing ActorsHQ-style files). */
export function matrixToAxisAngle(R: ArrayLike<number>): [number, number, number] {
  const cos = Math.min(1, Math.max(-1, (R[0]! + R[4]! + R[8]! - 1) / 2));
  const angle = Math.acos(cos);
  if (angle < 1e-12) return [0, 0, 0];
  if (Math.PI - angle < 1e-6) {
    // near 180°: axis from the diagonal
    const x = Math.sqrt(Math.max(0, (R[0]! + 1) / 2));
    const y = Math.sqrt(Math.max(0, (R[4]! + 1) / 2)) * (R[1]! >= 0 ? 1 : -1);
    const z = Math.sqrt(Math.max(0, (R[8]! + 1) / 2)) * (R[2]! >= 0 ? 1 : -1);
    const l = Math.hypot(x, y, z);
    return [(x / l) * angle, (y / l) * angle, (z / l) * angle];
  }
  const k = angle / (2 * Math.sin(angle));
  return [(R[7]! - R[5]!) * k, (R[2]! - R[6]!) * k, (R[3]! - R[1]!) * k];
}

/** Format cameras as an ActorsHQ calibration.csv (camera -> world, normalised intrinsics). */
export function formatActorsHqCsv(cams: readonly Camera[]): string {
  const rows = [ACTORSHQ_COLUMNS.join(',')];
  for (const c of cams) {
    const Rc2w = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) Rc2w[3 * i + j] = c.R[3 * j + i]!;
    const [rx, ry, rz] = matrixToAxisAngle(Rc2w);
    const t = cameraCenter(c);
    const v = [c.width, c.height, rx, ry, rz, t[0]!, t[1]!, t[2]!];
    v.push(c.K[0]! / c.width, c.K[4]! / c.height, c.K[2]! / c.width, c.K[5]! / c.height);
    rows.push([c.name, ...v.map((x) => String(x))].join(','));
  }
  return rows.join('\n') + '\n';
}
