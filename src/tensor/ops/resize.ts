/**
 * Resizing NCHW maps as PyTorch F.interpolate does: 'bilinear' (align_corners=False) and 'nearest'. Each axis is a
 * sparse matrix (taps per output index); the kernel sums the product of the two axes' taps, so the backward is the
 * same kernel with the transposed tables (gathered per input pixel: deterministic, no atomics). Tables are built
 * on the CPU once per (size, mode, scale) and kept on the GPU.
 */
import { axisTaps, type ResizeMode, type Taps } from '../reference/resize.js';
import { cachedKernel, dispatch1d, main1d, params } from '../kernels/util.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

export type { ResizeMode };

interface Csr {
  off: number[];
  idx: number[];
  w: number[];
}

function toCsr(t: Taps): Csr {
  const off = [0];
  const idx: number[] = [];
  const w: number[] = [];
  t.idx.forEach((list, o) => {
    list.forEach((i, k) => {
      idx.push(i);
      w.push(t.w[o]![k]!);
    });
    off.push(idx.length);
  });
  return { off, idx, w };
}

function transposeCsr(t: Taps, inSize: number): Csr {
  const lists: [number, number][][] = Array.from({ length: inSize }, () => []);
  t.idx.forEach((list, o) => list.forEach((i, k) => lists[i]!.push([o, t.w[o]![k]!])));
  const off = [0];
  const idx: number[] = [];
  const w: number[] = [];
  for (const l of lists) {
    for (const [o, v] of l) {
      idx.push(o);
      w.push(v);
    }
    off.push(idx.length);
  }
  return { off, idx, w };
}

interface Table {
  buf: Tensor;
  /** word offsets: y off, idx, w; x off, idx, w */
  sec: number[];
}

const tables = new Map<string, Table>();

function table(key: string, cy: Csr, cx: Csr): Table {
  let t = tables.get(key);
  if (t) return t;
  const words: number[] = [];
  const sec: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const c of [cy, cx]) {
    sec.push(words.length);
    words.push(...c.off);
    sec.push(words.length);
    words.push(...c.idx);
    sec.push(words.length);
    for (const v of c.w) {
      f[0] = v;
      words.push(u[0]!);
    }
  }
  t = { buf: Tensor.from(Uint32Array.from(words), [words.length], { dtype: 'u32', persistent: true }), sec };
  tables.set(key, t);
  return t;
}

const RESAMPLE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Tb: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, hi: u32, wi: u32, ho: u32, wo: u32, yo: u32, yi: u32, yw: u32, xo: u32, xi: u32, xw: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let c = i % P.wo;
  let t = i / P.wo;
  let r = t % P.ho;
  let p = t / P.ho;
  let base = p * P.hi * P.wi;
  var s = 0.0;
  for (var a = Tb[P.yo + r]; a < Tb[P.yo + r + 1u]; a++) {
    let iy = Tb[P.yi + a];
    let wy = bitcast<f32>(Tb[P.yw + a]);
    var sx = 0.0;
    for (var b = Tb[P.xo + c]; b < Tb[P.xo + c + 1u]; b++) {
      sx = fma(bitcast<f32>(Tb[P.xw + b]), X[base + iy * P.wi + Tb[P.xi + b]], sx);
    }
    s = fma(wy, sx, s);
  }
  Y[i] = s;
}`;

function resample(x: Tensor, planes: number, hi: number, wi: number, ho: number, wo: number, tb: Table): Tensor {
  const y = Tensor.empty([planes * ho * wo]);
  const n = planes * ho * wo;
  dispatch1d(
    cachedKernel('resample', () => RESAMPLE),
    [x.buffer, tb.buf.buffer, y.buffer],
    n,
    params(n, hi, wi, ho, wo, ...tb.sec),
  );
  return y;
}

export interface ResizeOptions {
  mode?: ResizeMode;
  /** Output size [Ho, Wo] (or give scaleFactor). */
  size?: readonly [number, number];
  /** PyTorch scale_factor: output = floor(in·s), and the source coordinate uses 1/s as given. */
  scaleFactor?: number | readonly [number, number];
}

/** F.interpolate(x [N, C, H, W], size | scale_factor, mode, align_corners=False). */
export function interpolate(x: Tensor, opts: ResizeOptions): Tensor {
  if (x.rank !== 4) throw new Error(`interpolate: expects NCHW, got [${x.shape}]`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const mode = opts.mode ?? 'bilinear';
  let Ho: number;
  let Wo: number;
  let sy: number;
  let sx: number;
  if (opts.size) {
    [Ho, Wo] = opts.size;
    sy = H / Ho;
    sx = W / Wo;
  } else if (opts.scaleFactor !== undefined) {
    const [fy, fx] = typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
    Ho = Math.floor(H * fy!);
    Wo = Math.floor(W * fx!);
    sy = 1 / fy!;
    sx = 1 / fx!;
  } else throw new Error('interpolate: give size or scaleFactor');
  const key = `${mode}:${H}>${Ho}@${sy}:${W}>${Wo}@${sx}`;
  const fwd =
    tables.get(`f:${key}`) ?? table(`f:${key}`, toCsr(axisTaps(H, Ho, mode, sy)), toCsr(axisTaps(W, Wo, mode, sx)));
  const planes = N * C;
  const y = Tensor.view(resample(x, planes, H, W, Ho, Wo, fwd), [N, C, Ho, Wo]);
  return record({
    name: 'interpolate',
    inputs: [x],
    output: y,
    backward: (gy) => {
      const bwd =
        tables.get(`b:${key}`) ??
        table(`b:${key}`, transposeCsr(axisTaps(H, Ho, mode, sy), H), transposeCsr(axisTaps(W, Wo, mode, sx), W));
      return [Tensor.view(resample(gy, planes, Ho, Wo, H, W, bwd), [N, C, H, W])];
    },
  });
}

/** Bilinear (align_corners=False) to [Ho, Wo]. */
export function resizeBilinear(x: Tensor, size: readonly [number, number]): Tensor {
  return interpolate(x, { size, mode: 'bilinear' });
}

/** Nearest (PyTorch 'nearest') to [Ho, Wo]. */
export function resizeNearest(x: Tensor, size: readonly [number, number]): Tensor {
  return interpolate(x, { size, mode: 'nearest' });
}
