/**
 * Float64 references for upfirdn2d (StyleGAN2's upsample → pad → FIR → downsample), the blur kernels built on it,
 * the Haar DWT/IWT of the DualStyleUNet, and a Gaussian window for SSIM.
 */
import type { UpfirdnGeom } from '../conv/upfirdn-geometry.js';

type Arr = ArrayLike<number>;

/**
 * upfirdn2d on `g.planes` independent planes of g.h×g.w (kernel kh×kw row-major):
 * U = zero-insertion upsample (U[u·upY, v·upX] = x[u, v], size H·upY × W·upX), padded by (padY0, padY1, padX0, padX1)
 * (negative = crop), correlated with the kernel flipped in both axes, then every downY-th row / downX-th column kept:
 *   out[oy, ox] = Σ_{ky,kx} k[kh−1−ky, kw−1−kx] · U[oy·downY + ky − padY0, ox·downX + kx − padX0].
 */
export function upfirdn2dRef(g: UpfirdnGeom, x: Arr, k: Arr): Float64Array {
  const out = new Float64Array(g.planes * g.ho * g.wo);
  for (let p = 0; p < g.planes; p++)
    for (let oy = 0; oy < g.ho; oy++)
      for (let ox = 0; ox < g.wo; ox++) {
        let s = 0;
        for (let ky = 0; ky < g.kh; ky++) {
          const u = oy * g.downY + ky - g.padY0;
          if (u < 0 || u % g.upY !== 0 || u / g.upY >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const v = ox * g.downX + kx - g.padX0;
            if (v < 0 || v % g.upX !== 0 || v / g.upX >= g.w) continue;
            s += k[(g.kh - 1 - ky) * g.kw + (g.kw - 1 - kx)]! * x[(p * g.h + u / g.upY) * g.w + v / g.upX]!;
          }
        }
        out[(p * g.ho + oy) * g.wo + ox] = s;
      }
  return out;
}

/** The adjoint of upfirdn2d in x (its backward): gx = Aᵀ·gy, written as the scatter of the forward's terms. */
export function upfirdn2dAdjointRef(g: UpfirdnGeom, gy: Arr, k: Arr): Float64Array {
  const gx = new Float64Array(g.planes * g.h * g.w);
  for (let p = 0; p < g.planes; p++)
    for (let oy = 0; oy < g.ho; oy++)
      for (let ox = 0; ox < g.wo; ox++) {
        const d = gy[(p * g.ho + oy) * g.wo + ox]!;
        for (let ky = 0; ky < g.kh; ky++) {
          const u = oy * g.downY + ky - g.padY0;
          if (u < 0 || u % g.upY !== 0 || u / g.upY >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const v = ox * g.downX + kx - g.padX0;
            if (v < 0 || v % g.upX !== 0 || v / g.upX >= g.w) continue;
            gx[(p * g.h + u / g.upY) * g.w + v / g.upX]! += k[(g.kh - 1 - ky) * g.kw + (g.kw - 1 - kx)]! * d;
          }
        }
      }
  return gx;
}

/** StyleGAN2's make_kernel: outer(k, k) / sum, times `factor²` (the upsample factor; 1 for plain blur). */
export function blurKernel(k1: readonly number[] = [1, 3, 3, 1], factor = 1): Float64Array {
  const n = k1.length;
  const out = new Float64Array(n * n);
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sum += k1[i]! * k1[j]!;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = ((k1[i]! * k1[j]!) / sum) * factor * factor;
  return out;
}

/**
 * The four 2×2 Haar filters [ll, lh, hl, hh] (row-major), outer products of l = (1,1)/√2 and h = (−1,1)/√2:
 * ll = lᵀl, lh = hᵀl (rows follow h), hl = lᵀh (columns follow h), hh = hᵀh.
 */
export function haarFilters(): Float64Array[] {
  const l = [Math.SQRT1_2, Math.SQRT1_2];
  const h = [-Math.SQRT1_2, Math.SQRT1_2];
  const outer = (a: number[], b: number[]) =>
    Float64Array.from([a[0]! * b[0]!, a[0]! * b[1]!, a[1]! * b[0]!, a[1]! * b[1]!]);
  return [outer(l, l), outer(h, l), outer(l, h), outer(h, h)];
}

/** Haar DWT: [n,c,h,w] → [n,4c,⌊h/2⌋,⌊w/2⌋] = cat([ll(x), lh(x), hl(x), hh(x)], dim 1), each upfirdn2d(down=2). */
export function haarDwtRef(n: number, c: number, h: number, w: number, x: Arr): Float64Array {
  const ho = h >> 1;
  const wo = w >> 1;
  const out = new Float64Array(n * 4 * c * ho * wo);
  const filters = haarFilters();
  const g = {
    planes: c,
    h,
    w,
    kh: 2,
    kw: 2,
    upX: 1,
    upY: 1,
    downX: 2,
    downY: 2,
    padX0: 0,
    padX1: 0,
    padY0: 0,
    padY1: 0,
    ho,
    wo,
  };
  for (let b = 0; b < n; b++) {
    const xb = Array.prototype.slice.call(x, b * c * h * w, (b + 1) * c * h * w) as number[];
    filters.forEach((f, fi) => out.set(upfirdn2dRef(g, xb, f), (b * 4 + fi) * c * ho * wo));
  }
  return out;
}

/** Haar IWT: [n,4c,h,w] → [n,c,2h,2w]: Σ over the four c-groups of upfirdn2d(up=2, pad (1,0,1,0)), lh and hl negated. */
export function haarIwtRef(n: number, c: number, h: number, w: number, x: Arr): Float64Array {
  const out = new Float64Array(n * c * 4 * h * w);
  const filters = haarFilters();
  const sign = [1, -1, -1, 1];
  const g = {
    planes: c,
    h,
    w,
    kh: 2,
    kw: 2,
    upX: 2,
    upY: 2,
    downX: 1,
    downY: 1,
    padX0: 1,
    padX1: 0,
    padY0: 1,
    padY1: 0,
    ho: 2 * h,
    wo: 2 * w,
  };
  for (let b = 0; b < n; b++)
    for (let fi = 0; fi < 4; fi++) {
      const xs = Array.prototype.slice.call(x, (b * 4 + fi) * c * h * w, (b * 4 + fi + 1) * c * h * w) as number[];
      const k = filters[fi]!.map((v) => v * sign[fi]!);
      const y = upfirdn2dRef(g, xs, k);
      for (let i = 0; i < y.length; i++) out[b * c * 4 * h * w + i]! += y[i]!;
    }
  return out;
}

/**
 * The DualStyleUNet's ToRGB skip on Haar subbands: haarDwt(upfirdn2d(haarIwt(s), up 2, [1,3,3,1]·4, pad (2, 1))),
 * s [n, 4c, h, w] → [n, 4c, 2h, 2w] (StyleGAN2's Upsample(2) between the two transforms).
 */
export function haarSkipRef(n: number, c: number, h: number, w: number, s: Arr): Float64Array {
  const g: UpfirdnGeom = {
    planes: n * c,
    h: 2 * h,
    w: 2 * w,
    kh: 4,
    kw: 4,
    upX: 2,
    upY: 2,
    downX: 1,
    downY: 1,
    padX0: 2,
    padX1: 1,
    padY0: 2,
    padY1: 1,
    ho: 4 * h,
    wo: 4 * w,
  };
  return haarDwtRef(n, c, 4 * h, 4 * w, upfirdn2dRef(g, haarIwtRef(n, c, h, w, s), blurKernel([1, 3, 3, 1], 2)));
}

/** A normalised 1-D Gaussian window (SSIM uses size 11, σ 1.5). */
export function gaussianWindow(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) g[i]! /= sum;
  return g;
}
