/**
 * Shapes of the convolution family. Tensors are NCHW float32, weights [Cout, Cin, kh, kw] (conv2d) or
 * [Cin, Cout, kh, kw] (conv_transpose2d, as PyTorch lays them out).
 *
 * conv2d:  out[n,o,y,x] = bias[o] + Σ_{i,ky,kx} in[n,i, y·sy − padTop + ky, x·sx − padLeft + kx] · w[o,i,ky,kx]
 * (zero outside the input), Ho = ⌊(H + padTop + padBottom − kh)/sy⌋ + 1, Wo likewise.
 */
export interface Conv2dGeom {
  readonly n: number;
  readonly cin: number;
  readonly h: number;
  readonly w: number;
  readonly cout: number;
  readonly kh: number;
  readonly kw: number;
  readonly strideY: number;
  readonly strideX: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
  readonly ho: number;
  readonly wo: number;
}

export interface Conv2dOptions {
  /** Stride, one number or [sy, sx]. Default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding: one number (all sides), [py, px], or [top, bottom, left, right]. Default 0. */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
}

/** Full geometry of a conv2d from the input shape [n, cin, h, w] and weight shape [cout, cin, kh, kw]. */
export function conv2dGeometry(
  input: readonly number[],
  weight: readonly number[],
  opts: Conv2dOptions = {},
): Conv2dGeom {
  if (input.length !== 4 || weight.length !== 4) {
    throw new Error(`conv2d: input must be [N,C,H,W] and weight [Cout,Cin,kh,kw]; got [${input}] and [${weight}]`);
  }
  const [n, cin, h, w] = input as [number, number, number, number];
  const [cout, cin2, kh, kw] = weight as [number, number, number, number];
  if (cin !== cin2) throw new Error(`conv2d: input has ${cin} channels but the weight expects ${cin2}`);
  const s = opts.stride ?? 1;
  const [strideY, strideX] = typeof s === 'number' ? [s, s] : s;
  const p = opts.padding ?? 0;
  const [padTop, padBottom, padLeft, padRight] =
    typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[0], p[1], p[1]] : (p as readonly number[]);
  if (strideY < 1 || strideX < 1) throw new Error(`conv2d: stride must be ≥ 1, got [${strideY}, ${strideX}]`);
  if ([padTop, padBottom, padLeft, padRight].some((v) => v! < 0)) throw new Error(`conv2d: padding must be ≥ 0`);
  const ho = Math.floor((h + padTop! + padBottom! - kh) / strideY) + 1;
  const wo = Math.floor((w + padLeft! + padRight! - kw) / strideX) + 1;
  if (ho < 1 || wo < 1) {
    throw new Error(`conv2d: a ${kh}×${kw} kernel does not fit the padded ${h}×${w} input (output ${ho}×${wo})`);
  }
  return {
    n,
    cin,
    h,
    w,
    cout,
    kh,
    kw,
    strideY,
    strideX,
    padTop: padTop!,
    padBottom: padBottom!,
    padLeft: padLeft!,
    padRight: padRight!,
    ho,
    wo,
  };
}

/**
 * conv_transpose2d as PyTorch defines it: input [N, Cin, H, W], weight [Cin, Cout, kh, kw],
 * out[n,o,h,w] = bias[o] + Σ_{i,y,x,ky,kx : h = y·s − p + ky, w = x·s − p + kx} in[n,i,y,x] · w[i,o,ky,kx],
 * Hout = (H − 1)·s − 2p + kh + outputPadding. It is the input gradient of the conv2d described by `conv`
 * (that conv maps [N, Cout, Hout, Wout] to [N, Cin, H, W] with weight [Cin, Cout, kh, kw]).
 */
export interface ConvTranspose2dGeom {
  readonly n: number;
  readonly cin: number;
  readonly cout: number;
  readonly h: number;
  readonly w: number;
  readonly hout: number;
  readonly wout: number;
  /** The adjoint conv2d (its input is this op's output). */
  readonly conv: Conv2dGeom;
}

export interface ConvTranspose2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  outputPadding?: number | readonly [number, number];
}

export function convTranspose2dGeometry(
  input: readonly number[],
  weight: readonly number[],
  opts: ConvTranspose2dOptions = {},
): ConvTranspose2dGeom {
  const [n, cin, h, w] = input as [number, number, number, number];
  const [cin2, cout, kh, kw] = weight as [number, number, number, number];
  if (input.length !== 4 || weight.length !== 4 || cin !== cin2) {
    throw new Error(
      `conv_transpose2d: input [N,Cin,H,W] and weight [Cin,Cout,kh,kw] needed; got [${input}], [${weight}]`,
    );
  }
  const pair = (v: number | readonly [number, number] | undefined, d: number): [number, number] =>
    v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  const [sy, sx] = pair(opts.stride, 1);
  const [py, px] = pair(opts.padding, 0);
  const [oy, ox] = pair(opts.outputPadding, 0);
  if (oy >= sy || ox >= sx) throw new Error(`conv_transpose2d: output padding must be smaller than the stride`);
  const hout = (h - 1) * sy - 2 * py + kh + oy;
  const wout = (w - 1) * sx - 2 * px + kw + ox;
  if (hout < 1 || wout < 1) throw new Error(`conv_transpose2d: empty output ${hout}×${wout}`);
  const conv = conv2dGeometry([n, cout, hout, wout], [cin, cout, kh, kw], {
    stride: [sy, sx],
    padding: [py, py, px, px],
  });
  if (conv.ho !== h || conv.wo !== w) throw new Error(`conv_transpose2d: internal geometry mismatch`);
  return { n, cin, cout, h, w, hout, wout, conv };
}

/** Number of multiply-adds of one conv2d pass (forward, input grad and weight grad each cost the same). */
export function conv2dMacs(g: Conv2dGeom): number {
  return g.n * g.cout * g.ho * g.wo * g.cin * g.kh * g.kw;
}

/** A string naming every field of a conv geometry: the key of its generated kernels' source caches. */
export function geomKey(g: Conv2dGeom): string {
  return `${g.n},${g.cin},${g.h},${g.w},${g.cout},${g.kh},${g.kw},${g.strideY},${g.strideX},${g.padTop},${g.padLeft},${g.ho},${g.wo}`;
}

/** ⌈a / b⌉ for positive b (tile and workgroup counts). */
export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/**
 * A stride phase of conv2d's input gradient: the input pixels (py + sy·i, px + sx·j), i < hph, j < wph, see only
 * the filter taps (ky0 + sy·a, kx0 + sx·b), a < nky, b < nkx, and input pixel (i, j) of the phase takes output
 * pixel (i + oy − a, j + ox − b) through tap (a, b). So each phase is a dense GEMM with no zero taps:
 * M = n·hph·wph, N = Cin, K = Cout·nky·nkx.
 */
export interface InputGradPhase {
  readonly py: number;
  readonly px: number;
  readonly hph: number;
  readonly wph: number;
  readonly ky0: number;
  readonly kx0: number;
  readonly nky: number;
  readonly nkx: number;
  readonly oy: number;
  readonly ox: number;
}

/** The stride phases of conv2d's input gradient that hold input pixels, in (py, px) order. */
export function inputGradPhases(g: Conv2dGeom): InputGradPhase[] {
  const phases: InputGradPhase[] = [];
  for (let py = 0; py < g.strideY; py++)
    for (let px = 0; px < g.strideX; px++) {
      const hph = ceilDiv(g.h - py, g.strideY);
      const wph = ceilDiv(g.w - px, g.strideX);
      if (hph <= 0 || wph <= 0) continue;
      const ky0 = (py + g.padTop) % g.strideY;
      const kx0 = (px + g.padLeft) % g.strideX;
      const nky = Math.max(0, ceilDiv(g.kh - ky0, g.strideY));
      const nkx = Math.max(0, ceilDiv(g.kw - kx0, g.strideX));
      const oy = (py + g.padTop - ky0) / g.strideY;
      const ox = (px + g.padLeft - kx0) / g.strideX;
      phases.push({ py, px, hph, wph, ky0, kx0, nky, nkx, oy, ox });
    }
  return phases;
}
