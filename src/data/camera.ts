/**
 * Pinhole cameras in the OpenCV convention (x right, y down, z forward), as the reference uses them:
 * a world point X projects to K (R X + T). Calibration files of the three capture layouts (reference-system.md §2.1):
 * - THuman4.0 / custom data: `calibration.json` and AvatarReX: `calibration_full.json`, an object keyed by camera
 *   name with K (3x3), R (3x3, world -> camera), T (3), imgSize [w, h];
 * - ActorsHQ: `calibration.csv`, columns name, w, h, rx, ry, rz, tx, ty, tz, fx, fy, px, py; the rotation
 *   (axis-angle) and translation are camera -> world, the intrinsics are normalised by the image size.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rodrigues } from '../body/rotation.js';

export interface Camera {
  name: string;
  /** 3x3 row-major intrinsics in pixels. */
  K: Float64Array;
  /** 3x3 row-major world -> camera rotation. */
  R: Float64Array;
  /** World -> camera translation. */
  T: Float64Array;
  width: number;
  height: number;
}

/** The camera centre in world coordinates: −Rᵀ T. */
export function cameraCenter(cam: Camera): Float64Array {
  const { R, T } = cam;
  const c = new Float64Array(3);
  for (let i = 0; i < 3; i++) c[i] = -(R[i]! * T[0]! + R[3 + i]! * T[1]! + R[6 + i]! * T[2]!);
  return c;
}

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

function flat(v: unknown, n: number, what: string): Float64Array {
  const out: number[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (typeof x === 'number') out.push(x);
    else throw new Error(`${what}: expected numbers`);
  };
  walk(v);
  if (out.length !== n) throw new Error(`${what}: expected ${n} numbers, got ${out.length}`);
  return Float64Array.from(out);
}

/** Parse a THuman4.0 / AvatarReX calibration JSON. Cameras come back sorted by name (the reference's order). */
export function parseCalibrationJson(text: string, source: string): Camera[] {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${source}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new Error(`${source}: expected an object keyed by camera name`);
  }
  const names = Object.keys(obj).sort();
  return names.map((name) => {
    const c = obj[name] as Record<string, unknown>;
    const where = `${source}: camera '${name}'`;
    for (const k of ['K', 'R', 'T', 'imgSize']) if (!(k in c)) throw new Error(`${where} has no '${k}'`);
    const size = flat(c.imgSize, 2, `${where} imgSize`);
    return {
      name,
      K: flat(c.K, 9, `${where} K`),
      R: flat(c.R, 9, `${where} R`),
      T: flat(c.T, 3, `${where} T`),
      width: size[0]!,
      height: size[1]!,
    };
  });
}

export function readCalibrationJson(path: string): Camera[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read calibration ${path}: ${(e as Error).message}`);
  }
  return parseCalibrationJson(text, path);
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
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(obj, null, 1));
  renameSync(tmp, path);
}

const ACTORSHQ_COLUMNS = ['name', 'w', 'h', 'rx', 'ry', 'rz', 'tx', 'ty', 'tz', 'fx', 'fy', 'px', 'py'];

/** Parse an ActorsHQ calibration.csv (cameras in file order). */
export function parseActorsHqCsv(text: string, source: string): Camera[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error(`${source}: empty calibration`);
  const header = lines[0]!.split(',').map((s) => s.trim());
  const col = ACTORSHQ_COLUMNS.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`${source}: no column '${c}' (header: ${header.join(',')})`);
    return i;
  });
  return lines.slice(1).map((line, li) => {
    const f = line.split(',').map((s) => s.trim());
    const num = (k: number) => {
      const v = Number(f[col[k]!]);
      if (!Number.isFinite(v)) throw new Error(`${source}: line ${li + 2}: bad ${ACTORSHQ_COLUMNS[k]} '${f[col[k]!]}'`);
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
    return { name, K, R, T, width: w!, height: h! };
  });
}

export function readActorsHqCsv(path: string): Camera[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read calibration ${path}: ${(e as Error).message}`);
  }
  return parseActorsHqCsv(text, path);
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
