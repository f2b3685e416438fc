/**
 * The evaluation metrics against straightforward float64 computations written independently of the implementation:
 * PSNR from its definition, SSIM by looping over every 7×7 window of every pixel whose window fits (two-pass means
 * and sample variances, no box sums), the LPIPS crop by building the padded square and resizing it pixel by pixel.
 */
import { describe, expect, it } from 'vitest';
import { psnr, ssim } from '../../src/eval/metrics.js';
import { lpipsEvalBox, squareCropResize } from '../../src/eval/crop.js';
import { seededRandom } from '../helpers/numeric.js';

const rand = seededRandom(7);

function image(c: number, h: number, w: number, f: (i: number) => number = () => rand()): Float32Array {
  return Float32Array.from({ length: c * h * w }, (_, i) => f(i));
}

/** A prediction near `gt` (noise, clamped), so SSIM is neither ~0 nor ~1. */
function near(gt: Float32Array, amount: number): Float32Array {
  return gt.map((v) => Math.min(1, Math.max(0, v + amount * (rand() - 0.5))));
}

function psnrOracle(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10(1 / (s / a.length));
}

/** scikit-image's structural_similarity defaults, one window at a time. */
function ssimOracle(a: ArrayLike<number>, b: ArrayLike<number>, w: number, h: number, C: number): number {
  const r = 3,
    N = 49,
    c1 = 0.01 ** 2,
    c2 = 0.03 ** 2;
  let total = 0;
  for (let c = 0; c < C; c++) {
    let sum = 0,
      count = 0;
    for (let y = r; y < h - r; y++)
      for (let x = r; x < w - r; x++) {
        const xs: number[] = [],
          ys: number[] = [];
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const i = c * w * h + (y + dy) * w + (x + dx);
            xs.push(a[i]!);
            ys.push(b[i]!);
          }
        const mx = xs.reduce((s, v) => s + v, 0) / N;
        const my = ys.reduce((s, v) => s + v, 0) / N;
        let vx = 0,
          vy = 0,
          vxy = 0;
        for (let k = 0; k < N; k++) {
          vx += (xs[k]! - mx) ** 2;
          vy += (ys[k]! - my) ** 2;
          vxy += (xs[k]! - mx) * (ys[k]! - my);
        }
        vx /= N - 1;
        vy /= N - 1;
        vxy /= N - 1;
        sum += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        count++;
      }
    total += sum / count;
  }
  return total / C;
}

describe('PSNR and SSIM (float64, scikit-image defaults)', () => {
  it('PSNR matches its definition; equal images give Infinity', () => {
    const gt = image(3, 23, 37);
    const pred = near(gt, 0.2);
    expect(psnr(pred, gt)).toBeCloseTo(psnrOracle(pred, gt), 12);
    expect(psnr(gt, gt)).toBe(Infinity);
    expect(() => psnr(gt, gt.subarray(1))).toThrow(/values/);
  });

  it('SSIM matches a per-window loop on odd sizes, one and three channels', () => {
    for (const [C, h, w, amount] of [
      [3, 23, 37, 0.3],
      [1, 9, 7, 0.5],
      [3, 7, 16, 0.1],
      [3, 31, 11, 1.0],
    ] as const) {
      const gt = image(C, h, w);
      const pred = near(gt, amount);
      const got = ssim(pred, gt, w, h, { channels: C });
      const want = ssimOracle(pred, gt, w, h, C);
      expect(Math.abs(got - want), `${C}×${h}×${w}`).toBeLessThan(1e-12);
    }
    // structure: a smooth image and a constant one
    const grad = image(3, 15, 13, (i) => (i % 13) / 12);
    const flat = image(3, 15, 13, () => 0.5);
    expect(ssim(grad, flat, 13, 15)).toBeCloseTo(ssimOracle(grad, flat, 13, 15, 3), 12);
    expect(ssim(grad, grad, 13, 15)).toBeCloseTo(1, 12);
    expect(() => ssim(grad, grad, 13, 15, { winSize: 8 })).toThrow(/odd/);
    expect(() => ssim(image(3, 6, 13), image(3, 6, 13), 13, 6)).toThrow(/exceeds/);
  });

  it('SSIM takes well under a second on a 1500×2048 image', () => {
    const w = 1500,
      h = 2048;
    const gt = image(3, h, w);
    const pred = near(gt, 0.2);
    const t0 = performance.now();
    const v = ssim(pred, gt, w, h);
    const ms = performance.now() - t0;
    expect(v).toBeGreaterThan(0);
    expect(v).toBeLessThan(1);
    console.log(`ssim 1500×2048×3: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(3000); // ~0.3 s measured on this machine; generous for loaded CI machines
  });
});

describe('the LPIPS crop (mask box + 50 px, white square, bilinear resize as cv2 INTER_LINEAR)', () => {
  it('the box: the mask bounds padded and clipped; an empty mask gives the image', () => {
    const W = 37,
      H = 23;
    const mask = new Uint8Array(W * H);
    mask[5 * W + 30] = 1;
    mask[9 * W + 20] = 1;
    expect(lpipsEvalBox(mask, W, H, 2)).toEqual({ x0: 18, y0: 3, x1: 33, y1: 12 });
    expect(lpipsEvalBox(mask, W, H, 50)).toEqual({ x0: 0, y0: 0, x1: W, y1: H });
    expect(lpipsEvalBox(new Uint8Array(W * H), W, H, 2)).toEqual({ x0: 0, y0: 0, x1: W, y1: H });
  });

  it('resizes like cv2.resize INTER_LINEAR (2×2 → 4×4 known values) and matches a pixel-by-pixel oracle', () => {
    const src = Float32Array.of(0, 1, 2, 3);
    const up = squareCropResize(src, 2, 2, 1, { x0: 0, y0: 0, x1: 2, y1: 2 }, 4);
    expect(Array.from(up.subarray(0, 4))).toEqual([0, 0.25, 0.75, 1]);
    expect(Array.from(up.subarray(12, 16))).toEqual([2, 2.25, 2.75, 3]);

    const W = 37,
      H = 23;
    const img = image(3, H, W);
    const box = { x0: 4, y0: 2, x1: 33, y1: 15 }; // 29 × 13: padded to 29², the rows centred
    for (const size of [16, 64, 29]) {
      const got = squareCropResize(img, W, H, 3, box, size);
      // oracle: build the white square, then resample each output pixel
      const S = 29,
        oy = Math.floor((S - 13) / 2);
      const sq = new Float64Array(3 * S * S).fill(1);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 13; y++)
          for (let x = 0; x < 29; x++) sq[c * S * S + (y + oy) * S + x] = img[c * W * H + (y + 2) * W + (x + 4)]!;
      const s = S / size;
      const at = (d: number) => {
        const p = Math.min(Math.max((d + 0.5) * s - 0.5, 0), S - 1);
        const i = Math.floor(p);
        return [i, Math.min(i + 1, S - 1), p - i] as const;
      };
      let worst = 0;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const [y0, y1, fy] = at(y);
            const [x0, x1, fx] = at(x);
            const g = (yy: number, xx: number) => sq[c * S * S + yy * S + xx]!;
            const want =
              (1 - fy) * ((1 - fx) * g(y0, x0) + fx * g(y0, x1)) + fy * ((1 - fx) * g(y1, x0) + fx * g(y1, x1));
            worst = Math.max(worst, Math.abs(got[c * size * size + y * size + x]! - want));
          }
      expect(worst, `size ${size}`).toBeLessThan(1e-6);
    }
  });
});
