/**
 * Small float64 rotation and 4x4 matrix helpers. Matrices are row-major: a 4x4 at offset o is m[o + 4*r + c],
 * a 3x3 is m[o + 3*r + c]. Quaternions are (w, x, y, z), real part first (the pytorch3d convention the reference uses).
 */

/** Axis-angle (rx, ry, rz) -> 3x3 rotation (Rodrigues), written at out[o..o+9]. */
export function rodrigues(
  rx: number,
  ry: number,
  rz: number,
  out: Float64Array = new Float64Array(9),
  o = 0,
): Float64Array {
  const t2 = rx * rx + ry * ry + rz * rz;
  const t = Math.sqrt(t2);
  // sin(t)/t and (1-cos(t))/t^2, by Taylor series near 0 so tiny rotations stay exact and NaN-free
  const a = t < 1e-4 ? 1 - t2 / 6 : Math.sin(t) / t;
  const b = t < 1e-4 ? 0.5 - t2 / 24 : (1 - Math.cos(t)) / t2;
  out[o] = 1 - b * (ry * ry + rz * rz);
  out[o + 1] = b * rx * ry - a * rz;
  out[o + 2] = b * rx * rz + a * ry;
  out[o + 3] = b * rx * ry + a * rz;
  out[o + 4] = 1 - b * (rx * rx + rz * rz);
  out[o + 5] = b * ry * rz - a * rx;
  out[o + 6] = b * rx * rz - a * ry;
  out[o + 7] = b * ry * rz + a * rx;
  out[o + 8] = 1 - b * (rx * rx + ry * ry);
  return out;
}

/**
 * 3x3 (possibly not orthonormal, e.g. a blend of rotations) -> quaternion (w, x, y, z) with w >= 0.
 * Shepperd's method: of the four expressions 4w^2, 4x^2, 4y^2, 4z^2 computable from the diagonal, use the
 * largest as the divisor, so the result is well conditioned for every rotation (including 180 degrees).
 * Like pytorch3d's matrix_to_quaternion it does not renormalise: a blended matrix gives a near-unit quaternion,
 * and the splatting code normalises rotations anyway.
 */
export function matrixToQuaternion(
  m: ArrayLike<number>,
  mo = 0,
  out: Float64Array = new Float64Array(4),
  o = 0,
): Float64Array {
  const m00 = m[mo]!,
    m01 = m[mo + 1]!,
    m02 = m[mo + 2]!;
  const m10 = m[mo + 3]!,
    m11 = m[mo + 4]!,
    m12 = m[mo + 5]!;
  const m20 = m[mo + 6]!,
    m21 = m[mo + 7]!,
    m22 = m[mo + 8]!;
  const s = [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22];
  let k = 0;
  for (let i = 1; i < 4; i++) if (s[i]! > s[k]!) k = i;
  const r = Math.sqrt(Math.max(s[k]!, 0)); // = 2|q_k|
  const d = 2 * Math.max(r, 0.1); // pytorch3d clamps the divisor the same way, which only matters for degenerate input
  let w: number, x: number, y: number, z: number;
  if (k === 0) [w, x, y, z] = [r * r, m21 - m12, m02 - m20, m10 - m01];
  else if (k === 1) [w, x, y, z] = [m21 - m12, r * r, m10 + m01, m02 + m20];
  else if (k === 2) [w, x, y, z] = [m02 - m20, m10 + m01, r * r, m12 + m21];
  else [w, x, y, z] = [m10 - m01, m20 + m02, m21 + m12, r * r];
  const sign = w < 0 ? -1 : 1;
  out[o] = (sign * w) / d;
  out[o + 1] = (sign * x) / d;
  out[o + 2] = (sign * y) / d;
  out[o + 3] = (sign * z) / d;
  return out;
}

/** Quaternion (w, x, y, z), normalised first, -> 3x3 rotation. */
export function quaternionToMatrix(
  q: ArrayLike<number>,
  qo = 0,
  out: Float64Array = new Float64Array(9),
  o = 0,
): Float64Array {
  let w = q[qo]!,
    x = q[qo + 1]!,
    y = q[qo + 2]!,
    z = q[qo + 3]!;
  const n = Math.hypot(w, x, y, z) || 1;
  w /= n;
  x /= n;
  y /= n;
  z /= n;
  out[o] = 1 - 2 * (y * y + z * z);
  out[o + 1] = 2 * (x * y - w * z);
  out[o + 2] = 2 * (x * z + w * y);
  out[o + 3] = 2 * (x * y + w * z);
  out[o + 4] = 1 - 2 * (x * x + z * z);
  out[o + 5] = 2 * (y * z - w * x);
  out[o + 6] = 2 * (x * z - w * y);
  out[o + 7] = 2 * (y * z + w * x);
  out[o + 8] = 1 - 2 * (x * x + y * y);
  return out;
}

/** out[oo..] = a[ao..] * b[bo..] for 4x4 row-major matrices (out may not alias a or b). */
export function mul4(
  a: ArrayLike<number>,
  ao: number,
  b: ArrayLike<number>,
  bo: number,
  out: Float64Array,
  oo: number,
): void {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      out[oo + 4 * r + c] =
        a[ao + 4 * r]! * b[bo + c]! +
        a[ao + 4 * r + 1]! * b[bo + 4 + c]! +
        a[ao + 4 * r + 2]! * b[bo + 8 + c]! +
        a[ao + 4 * r + 3]! * b[bo + 12 + c]!;
    }
  }
}

/** General 4x4 inverse (cofactors). Throws on a singular matrix. */
export function invert4(m: ArrayLike<number>, mo: number, out: Float64Array, oo: number): void {
  const a = Array.from({ length: 16 }, (_, i) => m[mo + i]!);
  const inv = new Array<number>(16);
  inv[0] =
    a[5]! * a[10]! * a[15]! -
    a[5]! * a[11]! * a[14]! -
    a[9]! * a[6]! * a[15]! +
    a[9]! * a[7]! * a[14]! +
    a[13]! * a[6]! * a[11]! -
    a[13]! * a[7]! * a[10]!;
  inv[4] =
    -a[4]! * a[10]! * a[15]! +
    a[4]! * a[11]! * a[14]! +
    a[8]! * a[6]! * a[15]! -
    a[8]! * a[7]! * a[14]! -
    a[12]! * a[6]! * a[11]! +
    a[12]! * a[7]! * a[10]!;
  inv[8] =
    a[4]! * a[9]! * a[15]! -
    a[4]! * a[11]! * a[13]! -
    a[8]! * a[5]! * a[15]! +
    a[8]! * a[7]! * a[13]! +
    a[12]! * a[5]! * a[11]! -
    a[12]! * a[7]! * a[9]!;
  inv[12] =
    -a[4]! * a[9]! * a[14]! +
    a[4]! * a[10]! * a[13]! +
    a[8]! * a[5]! * a[14]! -
    a[8]! * a[6]! * a[13]! -
    a[12]! * a[5]! * a[10]! +
    a[12]! * a[6]! * a[9]!;
  inv[1] =
    -a[1]! * a[10]! * a[15]! +
    a[1]! * a[11]! * a[14]! +
    a[9]! * a[2]! * a[15]! -
    a[9]! * a[3]! * a[14]! -
    a[13]! * a[2]! * a[11]! +
    a[13]! * a[3]! * a[10]!;
  inv[5] =
    a[0]! * a[10]! * a[15]! -
    a[0]! * a[11]! * a[14]! -
    a[8]! * a[2]! * a[15]! +
    a[8]! * a[3]! * a[14]! +
    a[12]! * a[2]! * a[11]! -
    a[12]! * a[3]! * a[10]!;
  inv[9] =
    -a[0]! * a[9]! * a[15]! +
    a[0]! * a[11]! * a[13]! +
    a[8]! * a[1]! * a[15]! -
    a[8]! * a[3]! * a[13]! -
    a[12]! * a[1]! * a[11]! +
    a[12]! * a[3]! * a[9]!;
  inv[13] =
    a[0]! * a[9]! * a[14]! -
    a[0]! * a[10]! * a[13]! -
    a[8]! * a[1]! * a[14]! +
    a[8]! * a[2]! * a[13]! +
    a[12]! * a[1]! * a[10]! -
    a[12]! * a[2]! * a[9]!;
  inv[2] =
    a[1]! * a[6]! * a[15]! -
    a[1]! * a[7]! * a[14]! -
    a[5]! * a[2]! * a[15]! +
    a[5]! * a[3]! * a[14]! +
    a[13]! * a[2]! * a[7]! -
    a[13]! * a[3]! * a[6]!;
  inv[6] =
    -a[0]! * a[6]! * a[15]! +
    a[0]! * a[7]! * a[14]! +
    a[4]! * a[2]! * a[15]! -
    a[4]! * a[3]! * a[14]! -
    a[12]! * a[2]! * a[7]! +
    a[12]! * a[3]! * a[6]!;
  inv[10] =
    a[0]! * a[5]! * a[15]! -
    a[0]! * a[7]! * a[13]! -
    a[4]! * a[1]! * a[15]! +
    a[4]! * a[3]! * a[13]! +
    a[12]! * a[1]! * a[7]! -
    a[12]! * a[3]! * a[5]!;
  inv[14] =
    -a[0]! * a[5]! * a[14]! +
    a[0]! * a[6]! * a[13]! +
    a[4]! * a[1]! * a[14]! -
    a[4]! * a[2]! * a[13]! -
    a[12]! * a[1]! * a[6]! +
    a[12]! * a[2]! * a[5]!;
  inv[3] =
    -a[1]! * a[6]! * a[11]! +
    a[1]! * a[7]! * a[10]! +
    a[5]! * a[2]! * a[11]! -
    a[5]! * a[3]! * a[10]! -
    a[9]! * a[2]! * a[7]! +
    a[9]! * a[3]! * a[6]!;
  inv[7] =
    a[0]! * a[6]! * a[11]! -
    a[0]! * a[7]! * a[10]! -
    a[4]! * a[2]! * a[11]! +
    a[4]! * a[3]! * a[10]! +
    a[8]! * a[2]! * a[7]! -
    a[8]! * a[3]! * a[6]!;
  inv[11] =
    -a[0]! * a[5]! * a[11]! +
    a[0]! * a[7]! * a[9]! +
    a[4]! * a[1]! * a[11]! -
    a[4]! * a[3]! * a[9]! -
    a[8]! * a[1]! * a[7]! +
    a[8]! * a[3]! * a[5]!;
  inv[15] =
    a[0]! * a[5]! * a[10]! -
    a[0]! * a[6]! * a[9]! -
    a[4]! * a[1]! * a[10]! +
    a[4]! * a[2]! * a[9]! +
    a[8]! * a[1]! * a[6]! -
    a[8]! * a[2]! * a[5]!;
  const det = a[0]! * inv[0]! + a[1]! * inv[4]! + a[2]! * inv[8]! + a[3]! * inv[12]!;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-300) throw new Error('invert4: singular 4x4 matrix');
  for (let i = 0; i < 16; i++) out[oo + i] = inv[i]! / det;
}
