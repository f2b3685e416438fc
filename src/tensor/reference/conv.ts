/**
 * Float64 references for the convolution family (the oracles of the GPU kernels). Plain loops, NCHW, no speed.
 * Array arguments are any numeric arrays; results are Float64Array.
 */
import type { Conv2dGeom, ConvTranspose2dGeom } from '../conv/geometry.js';

type Arr = ArrayLike<number>;

/** conv2d forward (see geometry.ts for the formula). */
export function conv2dRef(g: Conv2dGeom, x: Arr, w: Arr, bias?: Arr | null): Float64Array {
  const out = new Float64Array(g.n * g.cout * g.ho * g.wo);
  for (let b = 0; b < g.n; b++)
    for (let o = 0; o < g.cout; o++)
      for (let y = 0; y < g.ho; y++)
        for (let xo = 0; xo < g.wo; xo++) {
          let s = bias ? bias[o]! : 0;
          for (let i = 0; i < g.cin; i++)
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = y * g.strideY - g.padTop + ky;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = xo * g.strideX - g.padLeft + kx;
                if (ix < 0 || ix >= g.w) continue;
                s += x[((b * g.cin + i) * g.h + iy) * g.w + ix]! * w[((o * g.cin + i) * g.kh + ky) * g.kw + kx]!;
              }
            }
          out[((b * g.cout + o) * g.ho + y) * g.wo + xo] = s;
        }
  return out;
}

/** Gradients of conv2d: input [n,cin,h,w], weight [cout,cin,kh,kw], bias [cout] from gy [n,cout,ho,wo]. */
export function conv2dBackwardRef(
  g: Conv2dGeom,
  x: Arr,
  w: Arr,
  gy: Arr,
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const gx = new Float64Array(g.n * g.cin * g.h * g.w);
  const gw = new Float64Array(g.cout * g.cin * g.kh * g.kw);
  const gb = new Float64Array(g.cout);
  for (let b = 0; b < g.n; b++)
    for (let o = 0; o < g.cout; o++)
      for (let y = 0; y < g.ho; y++)
        for (let xo = 0; xo < g.wo; xo++) {
          const d = gy[((b * g.cout + o) * g.ho + y) * g.wo + xo]!;
          gb[o]! += d;
          for (let i = 0; i < g.cin; i++)
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = y * g.strideY - g.padTop + ky;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = xo * g.strideX - g.padLeft + kx;
                if (ix < 0 || ix >= g.w) continue;
                const xi = ((b * g.cin + i) * g.h + iy) * g.w + ix;
                const wi = ((o * g.cin + i) * g.kh + ky) * g.kw + kx;
                gx[xi]! += d * w[wi]!;
                gw[wi]! += d * x[xi]!;
              }
            }
        }
  return { gx, gw, gb };
}

/** conv_transpose2d forward, PyTorch semantics, weight [cin, cout, kh, kw]; written directly (scatter form). */
export function convTranspose2dRef(t: ConvTranspose2dGeom, x: Arr, w: Arr, bias?: Arr | null): Float64Array {
  const g = t.conv;
  const out = new Float64Array(t.n * t.cout * t.hout * t.wout);
  for (let b = 0; b < t.n; b++)
    for (let o = 0; o < t.cout; o++) {
      const base = (b * t.cout + o) * t.hout * t.wout;
      if (bias) for (let p = 0; p < t.hout * t.wout; p++) out[base + p] = bias[o]!;
      for (let i = 0; i < t.cin; i++)
        for (let y = 0; y < t.h; y++)
          for (let xx = 0; xx < t.w; xx++) {
            const v = x[((b * t.cin + i) * t.h + y) * t.w + xx]!;
            for (let ky = 0; ky < g.kh; ky++) {
              const oy = y * g.strideY - g.padTop + ky;
              if (oy < 0 || oy >= t.hout) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ox = xx * g.strideX - g.padLeft + kx;
                if (ox < 0 || ox >= t.wout) continue;
                out[base + oy * t.wout + ox]! += v * w[((i * t.cout + o) * g.kh + ky) * g.kw + kx]!;
              }
            }
          }
    }
  return out;
}

/** Gradients of conv_transpose2d (it is the adjoint of conv2d in x, so they are conv2d forward and weight grad). */
export function convTranspose2dBackwardRef(
  t: ConvTranspose2dGeom,
  x: Arr,
  w: Arr,
  gy: Arr,
): { gx: Float64Array; gw: Float64Array; gb: Float64Array } {
  const gx = conv2dRef(t.conv, gy, w);
  // gw[i,o,ky,kx] = Σ x[n,i,y,x]·gy[n,o,y·s−p+ky, x·s−p+kx]: conv2d's weight gradient with (input, gy) = (gy_t, x_t).
  const gw = conv2dBackwardRef(t.conv, gy, w, x).gw;
  const gb = new Float64Array(t.cout);
  const hw = t.hout * t.wout;
  for (let b = 0; b < t.n; b++)
    for (let o = 0; o < t.cout; o++) for (let p = 0; p < hw; p++) gb[o]! += gy[(b * t.cout + o) * hw + p]!;
  return { gx, gw, gb };
}

export interface ModulateGeom {
  /** Batch of styles. */
  n: number;
  cout: number;
  cin: number;
  kh: number;
  kw: number;
  demodulate: boolean;
}

/**
 * StyleGAN2 ModulatedConv2d weights: w'[n,o,i,ky,kx] = w[o,i,ky,kx]·scale·s[n,i], scale = 1/√(cin·kh·kw);
 * with demodulation w'' = w'·d[n,o], d = 1/√(Σ_{i,ky,kx} w'² + 1e-8). Returns w'' [n,cout,cin,kh,kw] and d [n,cout]
 * (d = 1 without demodulation).
 */
export function modulateRef(m: ModulateGeom, w: Arr, s: Arr): { wm: Float64Array; d: Float64Array } {
  const kk = m.cin * m.kh * m.kw;
  const k2 = m.kh * m.kw;
  const scale = 1 / Math.sqrt(kk);
  const wm = new Float64Array(m.n * m.cout * kk);
  const d = new Float64Array(m.n * m.cout);
  for (let b = 0; b < m.n; b++)
    for (let o = 0; o < m.cout; o++) {
      let ss = 0;
      for (let j = 0; j < kk; j++) {
        const v = w[o * kk + j]! * scale * s[b * m.cin + Math.floor(j / k2)]!;
        wm[(b * m.cout + o) * kk + j] = v;
        ss += v * v;
      }
      const dd = m.demodulate ? 1 / Math.sqrt(ss + 1e-8) : 1;
      d[b * m.cout + o] = dd;
      for (let j = 0; j < kk; j++) wm[(b * m.cout + o) * kk + j]! *= dd;
    }
  return { wm, d };
}

/** Gradients of modulateRef with respect to w [cout,cin,kh,kw] and s [n,cin], from g = ∂L/∂w'' [n,cout,cin,kh,kw]. */
export function modulateBackwardRef(m: ModulateGeom, w: Arr, s: Arr, g: Arr): { gw: Float64Array; gs: Float64Array } {
  const kk = m.cin * m.kh * m.kw;
  const k2 = m.kh * m.kw;
  const scale = 1 / Math.sqrt(kk);
  const gw = new Float64Array(m.cout * kk);
  const gs = new Float64Array(m.n * m.cin);
  const wp = new Float64Array(kk);
  for (let b = 0; b < m.n; b++)
    for (let o = 0; o < m.cout; o++) {
      let ss = 0;
      let dot = 0;
      for (let j = 0; j < kk; j++) {
        wp[j] = w[o * kk + j]! * scale * s[b * m.cin + Math.floor(j / k2)]!;
        ss += wp[j]! * wp[j]!;
        dot += g[(b * m.cout + o) * kk + j]! * wp[j]!;
      }
      const d = m.demodulate ? 1 / Math.sqrt(ss + 1e-8) : 1;
      for (let j = 0; j < kk; j++) {
        const gj = g[(b * m.cout + o) * kk + j]!;
        // ∂L/∂w' = d·g − d³·w'·⟨g, w'⟩ (second term only with demodulation)
        const gp = m.demodulate ? d * gj - d * d * d * wp[j]! * dot : gj;
        const i = Math.floor(j / k2);
        gw[o * kk + j]! += gp * scale * s[b * m.cin + i]!;
        gs[b * m.cin + i]! += gp * scale * w[o * kk + j]!;
      }
    }
  return { gw, gs };
}

/** 2×2 max pool, stride 2, no padding: [n,c,h,w] → [n,c,⌊h/2⌋,⌊w/2⌋]; ties go to the first in row-major order. */
export function maxPool2Ref(nc: number, h: number, w: number, x: Arr): Float64Array {
  const ho = h >> 1;
  const wo = w >> 1;
  const out = new Float64Array(nc * ho * wo);
  for (let p = 0; p < nc; p++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++) {
        let m = -Infinity;
        for (let dy = 0; dy < 2; dy++)
          for (let dx = 0; dx < 2; dx++) m = Math.max(m, x[(p * h + 2 * y + dy) * w + 2 * xx + dx]!);
        out[(p * ho + y) * wo + xx] = m;
      }
  return out;
}

export function maxPool2BackwardRef(nc: number, h: number, w: number, x: Arr, gy: Arr): Float64Array {
  const ho = h >> 1;
  const wo = w >> 1;
  const gx = new Float64Array(nc * h * w);
  for (let p = 0; p < nc; p++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++) {
        let best = -1;
        let m = -Infinity;
        for (let dy = 0; dy < 2; dy++)
          for (let dx = 0; dx < 2; dx++) {
            const i = (p * h + 2 * y + dy) * w + 2 * xx + dx;
            if (x[i]! > m) {
              m = x[i]!;
              best = i;
            }
          }
        gx[best] = gy[(p * ho + y) * wo + xx]!;
      }
  return gx;
}
