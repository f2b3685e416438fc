/**
 * Image metrics of the reference's evaluation, on the CPU in float64 (fast enough at capture sizes: see
 * docs/eval.md). Images are planar [C, H, W] with values in [0, 1] (data range 1).
 *
 * - PSNR as scikit-image's `peak_signal_noise_ratio(gt, pred, data_range=1)`: 10·log10(1 / MSE) over every value.
 * - SSIM as scikit-image's `structural_similarity` with its defaults (`channel_axis` set, `data_range=1`): a 7×7
 *   uniform window, sample (co)variances (× N/(N−1), N = 49), K1 = 0.01, K2 = 0.03, the SSIM map averaged over the
 *   pixels whose window lies inside the image (scikit-image crops (7−1)/2 = 3 pixels from each border before taking
 *   the mean, so its border mode never matters), per channel, then the mean of the channels.
 */

/** PSNR in dB of two images of the same size (Infinity when they are equal). */
export function psnr(pred: ArrayLike<number>, gt: ArrayLike<number>, dataRange = 1): number {
  if (pred.length !== gt.length) throw new Error(`psnr: images of ${pred.length} and ${gt.length} values`);
  if (pred.length === 0) throw new Error('psnr: empty images');
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i]! - gt[i]!;
    s += d * d;
  }
  const mse = s / pred.length;
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

export interface SsimOptions {
  /** Channels of the planar images (default 3). */
  channels?: number;
  /** Side of the uniform window, odd (default 7). */
  winSize?: number;
  k1?: number;
  k2?: number;
  dataRange?: number;
}

/**
 * Mean SSIM of two planar [C, H, W] images. The window statistics are running box sums: a horizontal sum per row,
 * then per column over the last `winSize` rows (a ring of row sums), so memory stays at a few rows.
 */
export function ssim(
  pred: ArrayLike<number>,
  gt: ArrayLike<number>,
  width: number,
  height: number,
  opts: SsimOptions = {},
): number {
  const C = opts.channels ?? 3;
  const win = opts.winSize ?? 7;
  const range = opts.dataRange ?? 1;
  const c1 = ((opts.k1 ?? 0.01) * range) ** 2;
  const c2 = ((opts.k2 ?? 0.03) * range) ** 2;
  const n = width * height;
  if (pred.length !== C * n || gt.length !== C * n) {
    throw new Error(`ssim: expected two ${C}×${height}×${width} images, got ${pred.length} and ${gt.length} values`);
  }
  if (win < 3 || win % 2 !== 1) throw new Error(`ssim: the window side must be odd and ≥ 3, got ${win}`);
  if (width < win || height < win) {
    throw new Error(`ssim: the ${win}×${win} window exceeds the ${width}×${height} image`);
  }
  const np = win * win;
  const covNorm = np / (np - 1);
  const ow = width - win + 1;
  const oh = height - win + 1;
  // q: 0 x, 1 y, 2 xx, 3 yy, 4 xy
  const ring = Array.from({ length: win }, () => new Float64Array(5 * ow));
  const acc = new Float64Array(5 * ow);
  let total = 0;
  for (let c = 0; c < C; c++) {
    acc.fill(0);
    let channel = 0;
    const base = c * n;
    for (let y = 0; y < height; y++) {
      const row = ring[y % win]!;
      if (y >= win) for (let i = 0; i < 5 * ow; i++) acc[i]! -= row[i]!;
      const o = base + y * width;
      let sx = 0,
        sy = 0,
        sxx = 0,
        syy = 0,
        sxy = 0;
      for (let x = 0; x < win; x++) {
        const a = pred[o + x]!,
          b = gt[o + x]!;
        sx += a;
        sy += b;
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
      }
      for (let x = 0; ; x++) {
        row[x] = sx;
        row[ow + x] = sy;
        row[2 * ow + x] = sxx;
        row[3 * ow + x] = syy;
        row[4 * ow + x] = sxy;
        if (x + 1 === ow) break;
        const a0 = pred[o + x]!,
          b0 = gt[o + x]!,
          a1 = pred[o + x + win]!,
          b1 = gt[o + x + win]!;
        sx += a1 - a0;
        sy += b1 - b0;
        sxx += a1 * a1 - a0 * a0;
        syy += b1 * b1 - b0 * b0;
        sxy += a1 * b1 - a0 * b0;
      }
      for (let i = 0; i < 5 * ow; i++) acc[i]! += row[i]!;
      if (y < win - 1) continue;
      for (let x = 0; x < ow; x++) {
        const ux = acc[x]! / np,
          uy = acc[ow + x]! / np;
        const vx = covNorm * (acc[2 * ow + x]! / np - ux * ux);
        const vy = covNorm * (acc[3 * ow + x]! / np - uy * uy);
        const vxy = covNorm * (acc[4 * ow + x]! / np - ux * uy);
        channel += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
      }
    }
    total += channel / (ow * oh);
  }
  return total / C;
}
