/**
 * A square window of an image resampled to a fixed size, with the window read from a GPU buffer: y[c, r, q] is
 * the bilinear sample (F.interpolate 'bilinear', align_corners=False, no antialias) of the window
 * [x, x + size) × [y, y + size) of x [C, H, W] at output pixel (r, q) of out × out; window pixels outside the image
 * take the fill colour [C]. Training crops both images to the ground-truth mask's square box for LPIPS, a box that
 * changes every step: reading it from a buffer lets one captured step serve every box (a window size of `out`
 * takes the pixels as they are). The backward is a gather, one thread per image pixel: the taps of a downscale
 * overlap unevenly, so adding each output's gradient into its four taps would need float atomics, whose order (and
 * so the rounding of the sums) changes from run to run; instead each pixel inside the window sums, rows then
 * columns in ascending order, the outputs whose taps reach it. Which outputs those are follows from the window,
 * which is only known on the GPU, so the kernel bounds them at run time by inverting the tap formula and keeps
 * those the forward's own `taps` confirms: a step's gradient is the same bits every run (and a captured step's
 * replay equals the eager step). The fill gets no gradient.
 */
import { cachedKernel, dispatch1d, main1d, params } from '../kernels/util.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** Window [x, y, size] (f32, integers) at words 0..2 of `win`; the output side is fixed per call. */
const TAPS = /* wgsl */ `
struct Taps { i0: i32, i1: i32, w1: f32 }
fn taps(o: u32, size: f32) -> Taps {
  let src = max((f32(o) + 0.5) * (size / f32(P.out)) - 0.5, 0.0);
  let i0 = i32(floor(src));
  let i1 = select(i0, i0 + 1, f32(i0) < size - 1.0);
  return Taps(i0, i1, src - f32(i0));
}`;

/** Output element i → channel c, the window's origin (x0, y0) and the two taps along each axis. */
const PIXEL = `${main1d('P.n')}
  let q = i % P.out;
  let r = (i / P.out) % P.out;
  let c = i / (P.out * P.out);
  let x0 = i32(Win[0]);
  let y0 = i32(Win[1]);
  let ty = taps(r, Win[2]);
  let tx = taps(q, Win[2]);`;

const FORWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Win: array<f32>;
@group(0) @binding(2) var<storage, read> Fill: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, h: u32, w: u32, out: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${TAPS}
fn px(c: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || ix < 0 || iy >= i32(P.h) || ix >= i32(P.w)) { return Fill[c]; }
  return X[(c * P.h + u32(iy)) * P.w + u32(ix)];
}
${PIXEL}
  let a = mix(px(c, y0 + ty.i0, x0 + tx.i0), px(c, y0 + ty.i0, x0 + tx.i1), tx.w1);
  let b = mix(px(c, y0 + ty.i1, x0 + tx.i0), px(c, y0 + ty.i1, x0 + tx.i1), tx.w1);
  Y[i] = mix(a, b, ty.w1);
}`;

/**
 * One thread per image element (c, iy, ix): zero outside the window, else Σ_r a_r Σ_q b_q G[c, r, q] over the
 * outputs r (rows) and q (columns) whose taps reach the pixel's window row and column, in ascending order.
 */
const BACKWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> Win: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
struct PP { n: u32, h: u32, w: u32, out: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${TAPS}
// The weight the taps of output o give window index t (both taps count where they coincide at the last index).
fn reach(t: i32, o: i32, size: f32) -> f32 {
  let k = taps(u32(o), size);
  return select(0.0, 1.0 - k.w1, k.i0 == t) + select(0.0, k.w1, k.i1 == t);
}
// Outputs whose taps may include window index t: i0 ∈ {t - 1, t}, i.e. src ∈ [t - 1, t + 1), widened by one output
// on each side against rounding (reach() decides; the clamp of src at 0 only adds outputs at the low end).
fn candidates(t: i32, size: f32) -> vec2<i32> {
  let s = size / f32(P.out);
  let lo = i32(floor((f32(t) - 0.5) / s - 0.5)) - 1;
  let hi = i32(ceil((f32(t) + 1.5) / s - 0.5)) + 1;
  return vec2<i32>(max(lo, 0), min(hi, i32(P.out) - 1));
}
${main1d('P.n')}
  let ix = i % P.w;
  let iy = (i / P.w) % P.h;
  let c = i / (P.w * P.h);
  let size = Win[2];
  let wx = i32(ix) - i32(Win[0]);
  let wy = i32(iy) - i32(Win[1]);
  let n = i32(size);
  var acc = 0.0;
  if (wx >= 0 && wy >= 0 && wx < n && wy < n) {
    let rr = candidates(wy, size);
    let qq = candidates(wx, size);
    for (var r = rr.x; r <= rr.y; r++) {
      let a = reach(wy, r, size);
      if (a == 0.0) { continue; }
      let row = (c * P.out + u32(r)) * P.out;
      var s = 0.0;
      for (var q = qq.x; q <= qq.y; q++) {
        let b = reach(wx, q, size);
        if (b != 0.0) { s = s + b * G[row + u32(q)]; }
      }
      acc = acc + a * s;
    }
  }
  GX[i] = acc;
}`;

/**
 * x [C, H, W], win [≥3] f32 = [x, y, size] of the window in pixels (integers; the window may reach outside the
 * image), fill [C] → [C, out, out]. Gradients flow to x only.
 */
export function cropResize(x: Tensor, win: Tensor, fill: Tensor, out: number): Tensor {
  if (x.rank !== 3) throw new Error(`cropResize: the image must be [C, H, W], got [${x.shape}]`);
  const [C, H, W] = x.shape as [number, number, number];
  if (win.size < 3 || win.dtype !== 'f32') throw new Error('cropResize: win must be f32 [x, y, size]');
  if (fill.size !== C) throw new Error(`cropResize: fill must have ${C} values, got ${fill.size}`);
  if (!Number.isInteger(out) || out < 1) throw new Error(`cropResize: output side ${out} must be a positive integer`);
  const y = Tensor.empty([C, out, out]);
  const n = C * out * out;
  const p = () => params(n, H, W, out);
  dispatch1d(
    cachedKernel('cropResize', () => FORWARD),
    [x.buffer, win.buffer, fill.buffer, y.buffer],
    n,
    p(),
  );
  return record({
    name: 'cropResize',
    inputs: [x, null, null],
    output: y,
    save: [win],
    backward: (gy, [w]) => {
      const gx = Tensor.empty([C, H, W]);
      const m = C * H * W;
      dispatch1d(
        cachedKernel('cropResizeBackward', () => BACKWARD),
        [gy.buffer, w!.buffer, gx.buffer],
        m,
        params(m, H, W, out),
      );
      return [gx, null, null];
    },
  });
}
