/**
 * StyleGAN2 modulated (+ demodulated) conv weights on raw GPU buffers, forward and backward
 * (formulas in reference/conv.ts modulateRef / modulateBackwardRef):
 *   w'[n,o,i,·] = w[o,i,·]·scale·s[n,i], scale = 1/√(cin·kh·kw);  d[n,o] = 1/√(Σ w'² + 1e-8);  w'' = w'·d.
 * The forward keeps d [n, cout] for the backward. `transposed` writes w'' as [n, cin, cout, kh, kw] (and reads its
 * gradient so): the weight layout conv_transpose2d takes, without a permute pass each way.
 */
import { cached } from '../../gpu/source-cache.js';
import { workgroupReduceWgsl } from '../../gpu/reduce-wgsl.js';
import type { Gpu } from '../../gpu/index.js';
import type { ModulateGeom } from '../reference/conv.js';

/**
 * Invocations per workgroup of the reduction kernels (one workgroup per output channel or input channel): 256, not
 * 64, so a 512-channel layer keeps ~130k invocations in flight instead of ~33k (these kernels are memory-bound).
 */
const WG = 256;

const STRUCT = /* wgsl */ `
struct M { n: u32, cout: u32, cin: u32, k2: u32, demod: u32, scale: f32 }
@group(1) @binding(0) var<uniform> P: M;`;

/** Where w''[b, o, j] (j = i·k2 + r) lives: [n, cout, cin·k2], or transposed [n, cin, cout, k2]. */
const wmIndex = (transposed: boolean, b: string, o: string, j: string) =>
  transposed
    ? `((${b} * P.cin + ${j} / P.k2) * P.cout + ${o}) * P.k2 + ${j} % P.k2`
    : `(${b} * P.cout + ${o}) * (P.cin * P.k2) + ${j}`;

const forward = (transposed: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> Wt: array<f32>;
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read_write> WM: array<f32>;
@group(0) @binding(3) var<storage, read_write> D: array<f32>;
${STRUCT}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = wg.x; let b = wg.y;
  let kk = P.cin * P.k2;
  var ss = 0.0;
  for (var j = li; j < kk; j += ${WG}u) {
    let v = Wt[o * kk + j] * P.scale * S[b * P.cin + j / P.k2];
    ss = fma(v, v, ss);
  }
  part[li] = ss;
  ${workgroupReduceWgsl([['part', '+']], WG)}
  let d = select(1.0, inverseSqrt(part[0] + 1e-8), P.demod != 0u);
  for (var j = li; j < kk; j += ${WG}u) {
    WM[${wmIndex(transposed, 'b', 'o', 'j')}] = Wt[o * kk + j] * P.scale * S[b * P.cin + j / P.k2] * d;
  }
  if (li == 0u) { D[b * P.cout + o] = d; }
}`;

/**
 * ∂L/∂w' [n, cout, kk] from ∂L/∂w'': d·g − d³·w'·⟨g, w'⟩ (or g without demodulation). With one style (n = 1, the
 * network's case) it also writes gw = gp·s·scale, which saves the separate weight-gradient dispatch (same rounding).
 */
function backwardWp(withGw: boolean, transposed: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> Wt: array<f32>;
@group(0) @binding(1) var<storage, read> S: array<f32>;
@group(0) @binding(2) var<storage, read> D: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> GP: array<f32>;
${withGw ? '@group(0) @binding(5) var<storage, read_write> GW: array<f32>;' : ''}
${STRUCT}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = wg.x; let b = wg.y;
  let kk = P.cin * P.k2;
  let base = (b * P.cout + o) * kk;
  var dot = 0.0;
  for (var j = li; j < kk; j += ${WG}u) {
    dot = fma(G[${wmIndex(transposed, 'b', 'o', 'j')}], Wt[o * kk + j] * P.scale * S[b * P.cin + j / P.k2], dot);
  }
  part[li] = dot;
  ${workgroupReduceWgsl([['part', '+']], WG)}
  let d = D[b * P.cout + o];
  let c = d * d * d * part[0];
  for (var j = li; j < kk; j += ${WG}u) {
    let wp = Wt[o * kk + j] * P.scale * S[b * P.cin + j / P.k2];
    let g = G[${wmIndex(transposed, 'b', 'o', 'j')}];
    let gp = select(g, d * g - c * wp, P.demod != 0u);
    GP[base + j] = gp;
    ${withGw ? 'GW[base + j] = (gp * S[j / P.k2]) * P.scale;' : ''}
  }
}`;
}

/** gw[o, j] = Σ_n gp[n,o,j]·scale·s[n, j / k2]. */
const BACKWARD_W = /* wgsl */ `
@group(0) @binding(0) var<storage, read> S: array<f32>;
@group(0) @binding(1) var<storage, read> GP: array<f32>;
@group(0) @binding(2) var<storage, read_write> GW: array<f32>;
${STRUCT}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let kk = P.cin * P.k2;
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= P.cout * kk) { return; }
  let j = e % kk;
  var s = 0.0;
  for (var b = 0u; b < P.n; b++) { s = fma(GP[b * P.cout * kk + e], S[b * P.cin + j / P.k2], s); }
  GW[e] = s * P.scale;
}`;

/** gs[n, i] = Σ_{o, r} gp[n,o,i·k2 + r]·w[o, i·k2 + r]·scale: one workgroup per (i, n). */
const BACKWARD_S = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Wt: array<f32>;
@group(0) @binding(1) var<storage, read> GP: array<f32>;
@group(0) @binding(2) var<storage, read_write> GS: array<f32>;
${STRUCT}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = wg.x; let b = wg.y;
  let kk = P.cin * P.k2;
  var s = 0.0;
  for (var t = li; t < P.cout * P.k2; t += ${WG}u) {
    let o = t / P.k2; let j = i * P.k2 + t % P.k2;
    s = fma(GP[(b * P.cout + o) * kk + j], Wt[o * kk + j], s);
  }
  part[li] = s;
  ${workgroupReduceWgsl([['part', '+']], WG)}
  if (li == 0u) { GS[b * P.cin + i] = part[0] * P.scale; }
}`;

function params(m: ModulateGeom): Uint32Array {
  const p = new Uint32Array(6);
  p.set([m.n, m.cout, m.cin, m.kh * m.kw, m.demodulate ? 1 : 0]);
  new Float32Array(p.buffer)[5] = 1 / Math.sqrt(m.cin * m.kh * m.kw);
  return p;
}

/** wm [n,cout,cin,kh,kw] (`transposed`: [n,cin,cout,kh,kw]) and d [n,cout] from w [cout,cin,kh,kw] and s [n,cin]. */
export function modulateRaw(
  gpu: Gpu,
  m: ModulateGeom,
  w: GPUBuffer,
  s: GPUBuffer,
  wm: GPUBuffer,
  d: GPUBuffer,
  transposed = false,
): void {
  const name = transposed ? 'modulate_t' : 'modulate';
  gpu.dispatch(
    gpu.kernel(
      name,
      cached(name, () => forward(transposed)),
    ),
    [w, s, wm, d],
    [m.cout, m.n, 1],
    params(m),
  );
}

/** gw [cout,cin,kh,kw] and gs [n,cin] from g = ∂L/∂wm (in wm's layout: `transposed` as the forward), using d. */
export function modulateBackwardRaw(
  gpu: Gpu,
  m: ModulateGeom,
  w: GPUBuffer,
  s: GPUBuffer,
  d: GPUBuffer,
  g: GPUBuffer,
  gw: GPUBuffer,
  gs: GPUBuffer,
  transposed = false,
): void {
  const kk = m.cin * m.kh * m.kw;
  const p = params(m);
  const gp = gpu.pool.acquire(m.n * m.cout * kk * 4, 'modulate grad');
  if (m.n === 1) {
    gpu.dispatch(
      gpu.kernel(
        `modulate_bwd_wp_w${transposed ? '_t' : ''}`,
        cached(`modulate_bwd_wp_w${transposed}`, () => backwardWp(true, transposed)),
      ),
      [w, s, d, g, gp, gw],
      [m.cout, 1, 1],
      p,
    );
  } else {
    gpu.dispatch(
      gpu.kernel(
        `modulate_bwd_wp${transposed ? '_t' : ''}`,
        cached(`modulate_bwd_wp${transposed}`, () => backwardWp(false, transposed)),
      ),
      [w, s, d, g, gp],
      [m.cout, m.n, 1],
      p,
    );
    const groups = Math.ceil((m.cout * kk) / 64);
    const gx = Math.min(groups, 65535);
    gpu.dispatch(gpu.kernel('modulate_bwd_w', BACKWARD_W), [s, gp, gw], [gx, Math.ceil(groups / gx), 1], p);
  }
  gpu.dispatch(gpu.kernel('modulate_bwd_s', BACKWARD_S), [w, gp, gs], [m.cin, m.n, 1], p);
  gpu.pool.release(gp);
}
