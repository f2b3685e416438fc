/** WGSL text shared by the generated conv kernels: exact f32 literals, a conv's constants, kernel labels. */
import type { Conv2dGeom } from './geometry.js';

/**
 * A WGSL literal that denotes exactly Math.fround(v): 17 significant digits of the f32 value parse back to that
 * very value as an AbstractFloat (f64), so its conversion to f32 involves no rounding.
 */
export function f32Literal(v: number): string {
  const t = Math.fround(v).toPrecision(17);
  return t.includes('.') || t.includes('e') ? t : `${t}.0`;
}

/** A kernel label naming the convolution (the profiler totals GPU time per label, so per layer shape). */
export function shapeName(g: Conv2dGeom): string {
  return `${g.kh}x${g.kw}/${g.strideY} ${g.cin}→${g.cout} @${g.h}x${g.w}`;
}

/** The geometry of `g` as WGSL constants (with `HW` = H·W where `withHw`). */
export function convConstsWgsl(g: Conv2dGeom, withHw: boolean): string {
  return /* wgsl */ `
const NB: u32 = ${g.n}u; const CIN: u32 = ${g.cin}u; const H: u32 = ${g.h}u; const W: u32 = ${g.w}u;
const COUT: u32 = ${g.cout}u; const KH: u32 = ${g.kh}u; const KW: u32 = ${g.kw}u;
const SY: u32 = ${g.strideY}u; const SX: u32 = ${g.strideX}u; const PT: i32 = ${g.padTop}; const PL: i32 = ${g.padLeft};
const HO: u32 = ${g.ho}u; const WO: u32 = ${g.wo}u; const HOWO: u32 = ${g.ho * g.wo}u;${withHw ? ` const HW: u32 = ${g.h * g.w}u;` : ''}
const KHW: u32 = ${g.kh * g.kw}u; const KTOT: u32 = ${g.cin * g.kh * g.kw}u;`;
}
