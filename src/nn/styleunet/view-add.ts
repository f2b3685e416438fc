/**
 * out + resizeBilinear(v, 2× v's size) (align_corners false) in one pass, for the view features the DualStyleUNet
 * adds after its 256² level in inference. The separate form resizes v into a full-size tensor (the shape-generic
 * resize walks its tap tables per output) and adds it: one dispatch, a write and a re-read of that tensor more.
 * At an exact 2× every source coordinate and weight (0, ¼, ¾, 1) is exact in f32 and the taps are summed in the
 * resize kernel's order (row taps, within each the column taps), so the result is add(out, resizeBilinear(v, …))
 * up to f32 rounding (≤ 1 ulp on lavapipe, where the compiler contracts the sums differently). Forward only:
 * callers use the separate ops where gradients are recorded.
 */
import { cachedKernel, dispatch1d, main1d, params } from '../../tensor/kernels/util.js';
import { needsGrad } from '../../tensor/tape.js';
import { Tensor } from '../../tensor/tensor.js';

const VIEW_ADD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> O: array<f32>;
@group(0) @binding(1) var<storage, read> V: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, h: u32, w: u32 }
@group(1) @binding(0) var<uniform> P: PP;
// the two taps of output index o on an axis of n inputs, as the bilinear tables hold them: (i0, i1, 1 − λ, λ)
fn taps(o: u32, n: u32) -> vec4f {
  let src = max(0.5 * (f32(o) + 0.5) - 0.5, 0.0);
  let i0 = floor(src);
  let l = src - i0;
  let i1 = select(i0, i0 + 1.0, u32(i0) < n - 1u);
  return vec4f(i0, i1, 1.0 - l, l);
}
fn row(b: u32, tx: vec4f) -> f32 {
  return fma(tx.w, V[b + u32(tx.y)], fma(tx.z, V[b + u32(tx.x)], 0.0));
}
${main1d('P.n')}
  let w2 = 2u * P.w; let h2 = 2u * P.h;
  let c = i % w2; let t = i / w2; let r = t % h2; let p = t / h2;
  let ty = taps(r, P.h); let tx = taps(c, P.w);
  let base = p * P.h * P.w;
  let s = fma(ty.w, row(base + u32(ty.y) * P.w, tx), fma(ty.z, row(base + u32(ty.x) * P.w, tx), 0.0));
  Y[i] = O[i] + s;
}`;

/**
 * out [N, C, 2h, 2w] + bilinear 2× of v [N, C, h, w] without writing the resized v, where nothing is recorded;
 * null where it does not apply (gradients to record, or not an exact 2×): the caller resizes and adds.
 */
export function addUpsampled2x(out: Tensor, v: Tensor): Tensor | null {
  if (out.rank !== 4 || v.rank !== 4 || needsGrad([out, v])) return null;
  const [n, c, h2, w2] = out.shape as unknown as [number, number, number, number];
  const [vn, vc, h, w] = v.shape as unknown as [number, number, number, number];
  if (vn !== n || vc !== c || h2 !== 2 * h || w2 !== 2 * w) return null;
  const y = Tensor.empty(out.shape);
  dispatch1d(
    cachedKernel('view_add_up2', () => VIEW_ADD),
    [out.buffer, v.buffer, y.buffer],
    y.size,
    params(y.size, h, w),
  );
  return y;
}
