/**
 * PyTorch F.interpolate semantics for 'bilinear' (align_corners=False, no antialias) and 'nearest', as per-axis
 * tap lists: output index o reads Σ w·in[i] over its taps. `scale` is in/out, or 1/scale_factor when the caller
 * passed a scale factor (PyTorch uses it as given).
 */
export type ResizeMode = 'bilinear' | 'nearest';

export interface Taps {
  idx: number[][];
  w: number[][];
}

export function axisTaps(inSize: number, outSize: number, mode: ResizeMode, scale = inSize / outSize): Taps {
  const idx: number[][] = [];
  const w: number[][] = [];
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      const s = Math.fround(scale);
      const src = Math.min(Math.floor(Math.fround(o * s)), inSize - 1);
      idx.push([src]);
      w.push([1]);
    } else {
      const src = Math.max(scale * (o + 0.5) - 0.5, 0);
      const i0 = Math.floor(src);
      const l1 = src - i0;
      const i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
      idx.push([i0, i1]);
      w.push([1 - l1, l1]);
    }
  }
  return { idx, w };
}

/** x [planes, H, W] → [planes, Ho, Wo]. */
export function resizeRef(x: Float64Array, planes: number, H: number, W: number, ty: Taps, tx: Taps): Float64Array {
  const Ho = ty.idx.length;
  const Wo = tx.idx.length;
  const y = new Float64Array(planes * Ho * Wo);
  for (let p = 0; p < planes; p++)
    for (let r = 0; r < Ho; r++)
      for (let c = 0; c < Wo; c++) {
        let s = 0;
        ty.idx[r]!.forEach((iy, a) =>
          tx.idx[c]!.forEach((ix, b) => {
            s += ty.w[r]![a]! * tx.w[c]![b]! * x[(p * H + iy) * W + ix]!;
          }),
        );
        y[(p * Ho + r) * Wo + c] = s;
      }
  return y;
}
