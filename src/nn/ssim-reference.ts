/** Float64 twin of ssim.ts: the Gaussian-window SSIM by direct 2-D sums over the zero-padded window. */
import { gaussianWindow } from '../tensor/reference/upfirdn.js';
import { DSSIM_WEIGHT, SSIM_C1, SSIM_C2, SSIM_SIGMA, SSIM_WINDOW } from './ssim.js';

type Arr = ArrayLike<number>;

/** Mean SSIM of a and b, [planes, h, w] flattened (planes = N·C). */
export function ssimRef(a: Arr, b: Arr, planes: number, h: number, w: number): number {
  const g = gaussianWindow(SSIM_WINDOW, SSIM_SIGMA);
  const r = (SSIM_WINDOW - 1) >> 1;
  let total = 0;
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let m1 = 0;
        let m2 = 0;
        let e11 = 0;
        let e22 = 0;
        let e12 = 0;
        for (let dy = -r; dy <= r; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -r; dx <= r; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            const k = g[dy + r]! * g[dx + r]!;
            const i = (p * h + yy) * w + xx;
            const u = a[i]!;
            const v = b[i]!;
            m1 += k * u;
            m2 += k * v;
            e11 += k * u * u;
            e22 += k * v * v;
            e12 += k * u * v;
          }
        }
        const s11 = e11 - m1 * m1;
        const s22 = e22 - m2 * m2;
        const s12 = e12 - m1 * m2;
        total +=
          ((2 * m1 * m2 + SSIM_C1) * (2 * s12 + SSIM_C2)) / ((m1 * m1 + m2 * m2 + SSIM_C1) * (s11 + s22 + SSIM_C2));
      }
  return total / (planes * h * w);
}

/** L1 + 0.2·(1 − SSIM). */
export function dssimLossRef(a: Arr, b: Arr, planes: number, h: number, w: number): number {
  let l1 = 0;
  for (let i = 0; i < a.length; i++) l1 += Math.abs(a[i]! - b[i]!);
  return l1 / a.length + DSSIM_WEIGHT * (1 - ssimRef(a, b, planes, h, w));
}
