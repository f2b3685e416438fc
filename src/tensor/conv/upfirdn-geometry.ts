/** Geometry of upfirdn2d (see reference/upfirdn.ts for the formula). */
export interface UpfirdnGeom {
  /** Independent planes (N·C). */
  readonly planes: number;
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly upX: number;
  readonly upY: number;
  readonly downX: number;
  readonly downY: number;
  readonly padX0: number;
  readonly padX1: number;
  readonly padY0: number;
  readonly padY1: number;
  readonly ho: number;
  readonly wo: number;
}

export interface UpfirdnOptions {
  /** Upsampling factor, one number or [x, y]. Default 1. */
  up?: number | readonly [number, number];
  /** Downsampling factor, one number or [x, y]. Default 1. */
  down?: number | readonly [number, number];
  /** Padding (x0, x1, y0, y1) as StyleGAN2 orders it, or (p0, p1) for both axes; negative crops. Default 0. */
  pad?: readonly [number, number] | readonly [number, number, number, number];
}

export function upfirdnGeometry(
  planes: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  opts: UpfirdnOptions = {},
): UpfirdnGeom {
  const pair = (v: number | readonly [number, number] | undefined): [number, number] =>
    v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  const [upX, upY] = pair(opts.up);
  const [downX, downY] = pair(opts.down);
  const p = opts.pad ?? [0, 0];
  const [padX0, padX1, padY0, padY1] = p.length === 2 ? [p[0], p[1], p[0], p[1]] : p;
  if (upX < 1 || upY < 1 || downX < 1 || downY < 1) throw new Error('upfirdn2d: up and down factors must be ≥ 1');
  const ho = Math.floor((h * upY + padY0 + padY1 - kh) / downY) + 1;
  const wo = Math.floor((w * upX + padX0 + padX1 - kw) / downX) + 1;
  if (ho < 1 || wo < 1)
    throw new Error(`upfirdn2d: empty output ${ho}×${wo} for a ${h}×${w} input and ${kh}×${kw} kernel`);
  return { planes, h, w, kh, kw, upX, upY, downX, downY, padX0, padX1, padY0, padY1, ho, wo };
}
