/**
 * Differentiable SSIM as 3D Gaussian Splatting trains with it: local means, variances and covariance under an 11×11
 * Gaussian window (σ 1.5, zero padding so the map keeps the image's size), the SSIM map
 * ((2μaμb + C1)(2σab + C2)) / ((μa² + μb² + C1)(σa² + σb² + C2)) with C1 = 0.01², C2 = 0.03² (data range 1), averaged
 * over every pixel and channel. The five filtered planes (a, b, a², b², ab) go through one separable filter.
 */
import { gaussianWindow } from '../tensor/reference/upfirdn.js';
import { separableFilter } from '../tensor/conv/ops.js';
import {
  add,
  concat,
  div,
  mean,
  mul,
  reshape,
  scale,
  scope,
  slice,
  square,
  sub,
  type Tensor,
} from '../tensor/index.js';
import { l1Loss } from './losses.js';

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
export const SSIM_C1 = 0.01 ** 2;
export const SSIM_C2 = 0.03 ** 2;
/** Weight of (1 − SSIM) beside L1 in the loss used when no LPIPS weights are available. */
export const DSSIM_WEIGHT = 0.2;

const WINDOW = Array.from(gaussianWindow(SSIM_WINDOW, SSIM_SIGMA));

/** Mean SSIM of two images [N, C, H, W] (or [C, H, W]) with values in [0, 1]; a scalar tensor. */
export function ssim(a: Tensor, b: Tensor): Tensor {
  if (a.shape.join() !== b.shape.join() || (a.rank !== 3 && a.rank !== 4)) {
    throw new Error(`ssim: images must both be [N, C, H, W] or [C, H, W], got [${a.shape}] and [${b.shape}]`);
  }
  // Memory (training runs this on the full 1500×2048 image): each image-sized temporary is released as soon as the
  // next op has read it (the scopes keep only what the following step reads; what a backward needs is held by the
  // tape alone), so ~17 planes are alive at the peak instead of ~30, with the same ops in the same order.
  return scope(() => {
    const x = a.rank === 3 ? reshape(a, [1, ...a.shape]) : a;
    const y = b.rank === 3 ? reshape(b, [1, ...b.shape]) : b;
    const n = x.shape[0]!;
    const f = scope(() => separableFilter(concat([x, y, square(x), square(y), mul(x, y)], 0), WINDOW, 'same'));
    const part = (k: number) => slice(f, 0, k * n, (k + 1) * n);
    const [mu1, mu2] = [part(0), part(1)];
    const num = scope(() => {
      const mu12 = mul(mu1, mu2);
      return mul(add(scale(mu12, 2), SSIM_C1), add(scale(sub(part(4), mu12), 2), SSIM_C2));
    });
    const den = scope(() => {
      const mu11 = square(mu1);
      const mu22 = square(mu2);
      return mul(add(add(mu11, mu22), SSIM_C1), add(add(sub(part(2), mu11), sub(part(3), mu22)), SSIM_C2));
    });
    f.dispose();
    return mean(div(num, den));
  });
}

/** The training loss without LPIPS: L1 + 0.2·(1 − SSIM) (a scalar tensor). */
export function dssimLoss(a: Tensor, b: Tensor): Tensor {
  return add(l1Loss(a, b), scale(sub(1, ssim(a, b)), DSSIM_WEIGHT));
}
