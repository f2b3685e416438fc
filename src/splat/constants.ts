/**
 * The rasterizer's constants, one definition for the float64 reference (reference.ts) and the WGSL kernels
 * (spliced in as WGSL `const`s by `rasterConstsWgsl`). They are standard 3D Gaussian splatting's.
 */

/** Pixels per tile side: a blend workgroup covers one TILE × TILE tile. */
export const TILE = 16;
/** A Gaussian adds to a pixel only where its alpha reaches this (and a tile only where it can). */
export const ALPHA_MIN = 1 / 255;
/** Alpha is clamped to this, so that no Gaussian alone makes a pixel opaque. */
export const ALPHA_MAX = 0.99;
/** A pixel stops blending before its transmittance would fall below this. */
export const T_MIN = 1e-4;
/** Gaussians at view depth ≤ NEAR are culled. */
export const NEAR = 0.2;
/** Added to the projected 2D covariance's diagonal: a pixel's footprint, so tiny Gaussians stay visible. */
export const DILATION = 0.3;
/** The screen radius of a Gaussian, in standard deviations of its largest axis. */
export const RADIUS_SIGMAS = 3;

/** The constants as WGSL declarations (floats as f32 literals, TILE and its pixel count as u32). */
export function rasterConstsWgsl(): string {
  const f = (v: number) => (Number.isInteger(v) ? `${v}.0` : `${v}`);
  return /* wgsl */ `
const TILE = ${TILE}u;
const TILE_PIXELS = ${TILE * TILE}u;
const ALPHA_MIN = ${f(ALPHA_MIN)};
const INV_ALPHA_MIN = ${f(1 / ALPHA_MIN)};
const ALPHA_MAX = ${f(ALPHA_MAX)};
const T_MIN = ${f(T_MIN)};
const NEAR = ${f(NEAR)};
const DILATION = ${f(DILATION)};
const RADIUS_SIGMAS = ${f(RADIUS_SIGMAS)};`;
}
