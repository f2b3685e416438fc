/** Real spherical harmonics up to degree 3 as in standard 3DGS (constants, basis, basis gradient). */
export const SH_C0 = 0.28209479177387814;
export const SH_C1 = 0.4886025119029199;
export const SH_C2 = [
  1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396,
];
export const SH_C3 = [
  -0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154, -0.4570457994644658,
  1.445305721320277, -0.5900435899266435,
];

/** Coefficients per colour channel for a degree: (d+1)². */
export function shCoeffs(degree: number): number {
  return (degree + 1) * (degree + 1);
}

/** The degree whose coefficient count is `k` (1, 4, 9, 16), or throws. */
export function shDegreeOf(k: number): number {
  const d = Math.round(Math.sqrt(k)) - 1;
  if (d < 0 || d > 3 || (d + 1) * (d + 1) !== k)
    throw new Error(`SH: ${k} coefficients per channel is not 1, 4, 9 or 16`);
  return d;
}

/** The basis values for a unit direction, the first (deg+1)² of them. */
export function shBasis(deg: number, x: number, y: number, z: number): number[] {
  const b = [SH_C0];
  if (deg > 0) b.push(-SH_C1 * y, SH_C1 * z, -SH_C1 * x);
  if (deg > 1) {
    const [xx, yy, zz] = [x * x, y * y, z * z];
    b.push(
      SH_C2[0]! * x * y,
      SH_C2[1]! * y * z,
      SH_C2[2]! * (2 * zz - xx - yy),
      SH_C2[3]! * x * z,
      SH_C2[4]! * (xx - yy),
    );
    if (deg > 2) {
      b.push(
        SH_C3[0]! * y * (3 * xx - yy),
        SH_C3[1]! * x * y * z,
        SH_C3[2]! * y * (4 * zz - xx - yy),
        SH_C3[3]! * z * (2 * zz - 3 * xx - 3 * yy),
        SH_C3[4]! * x * (4 * zz - xx - yy),
        SH_C3[5]! * z * (xx - yy),
        SH_C3[6]! * x * (xx - 3 * yy),
      );
    }
  }
  return b;
}

/** d basis_k / d(x, y, z) for the first (deg+1)² functions. */
export function shBasisGrad(deg: number, x: number, y: number, z: number): [number, number, number][] {
  const g: [number, number, number][] = [[0, 0, 0]];
  if (deg > 0) g.push([0, -SH_C1, 0], [0, 0, SH_C1], [-SH_C1, 0, 0]);
  if (deg > 1) {
    const c = SH_C2;
    g.push(
      [c[0]! * y, c[0]! * x, 0],
      [0, c[1]! * z, c[1]! * y],
      [-2 * c[2]! * x, -2 * c[2]! * y, 4 * c[2]! * z],
      [c[3]! * z, 0, c[3]! * x],
      [2 * c[4]! * x, -2 * c[4]! * y, 0],
    );
    if (deg > 2) {
      const d = SH_C3;
      const [xx, yy, zz] = [x * x, y * y, z * z];
      g.push(
        [d[0]! * 6 * x * y, d[0]! * (3 * xx - 3 * yy), 0],
        [d[1]! * y * z, d[1]! * x * z, d[1]! * x * y],
        [d[2]! * -2 * x * y, d[2]! * (4 * zz - xx - 3 * yy), d[2]! * 8 * y * z],
        [d[3]! * -6 * x * z, d[3]! * -6 * y * z, d[3]! * (6 * zz - 3 * xx - 3 * yy)],
        [d[4]! * (4 * zz - 3 * xx - yy), d[4]! * -2 * x * y, d[4]! * 8 * x * z],
        [d[5]! * 2 * x * z, d[5]! * -2 * y * z, d[5]! * (xx - yy)],
        [d[6]! * (3 * xx - 3 * yy), d[6]! * -6 * x * y, 0],
      );
    }
  }
  return g;
}
