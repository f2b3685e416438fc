/**
 * conv_transpose2d with stride 2 and a 3×3 or 4×4 kernel (the DualStyleUNet's upsampling convs) on the tensor
 * cores as ONE GEMM over its four output phases ("sub-pixel" form), instead of four input-gradient GEMMs:
 *   y[co][2a + py][2b + px] = Σ_{dy, dx ∈ {0,1}} Σ_ci x[ci][a − dy][b − dx] · w[ci][co][py + 2dy][px + 2dx]
 * (zero where a tap index passes the kernel or a pixel leaves x). Rows are the (h+1)(w+1) pixels (a, b), K is
 * 4 taps × Cin, N is 4 phases × Cout. The missing taps of a 3×3 kernel are zeros (16 products per 9 useful ones),
 * the price of one large GEMM with the forward kernel's staging instead of four small ones (one of them with a
 * single tap). The store scatters each (phase, co) column to its output pixel.
 */
import type { Gpu } from '../../gpu/index.js';
import { cached } from '../../gpu/source-cache.js';
import { derivedWeights } from './constant-weights.js';
import { ceilDiv, type ConvTranspose2dGeom } from './geometry.js';
import { sumSplits } from './split-k.js';
import type { Tc2InputGradOptions } from './tc2.js';
import { tc2Kernel } from './tc2-kernel.js';
import { gatherBindings, gatherTimesWeights } from './tc2-staging.js';
import { checkTc2Tile, splitSlices, tileFor, tileKey } from './tc2-tiles.js';
import { releaseWeights, type F16Weights } from './tc2-weights.js';
import { f32Literal, shapeName } from './wgsl.js';

/**
 * The K walk of a 3×3 kernel's workgroup (tc2Kernel's sparseK): phase (py, px) uses tap (dy, dx) unless py = dy = 1
 * or px = dx = 1 (filter row / column 3 does not exist), so phases 0–3 use the taps of masks 1111, 0101, 0011, 0001
 * (bit t = 2·dy + dx). A workgroup walks the taps any phase among its BN columns uses, all channel chunks of each.
 */
const skipTaps = (bn: number) => /* wgsl */ `
var<private> gTaps: u32;
fn kSlices(n0: u32) -> u32 {
  var masks = array<u32, 4>(15u, 5u, 3u, 1u);
  let last = (min(n0 + ${bn}u, GEMM_N) - 1u) / CO;
  var m = 0u;
  for (var p = n0 / CO; p <= last; p++) { m |= masks[p]; }
  gTaps = m;
  return countOneBits(m) * G_CB;
}
fn kSlice(i: u32) -> u32 {
  var k = i / G_CB; var tap = 0u;
  for (var b = 0u; b < 4u; b++) {
    if (((gTaps >> b) & 1u) != 0u) { if (k == 0u) { tap = b; break; } k--; }
  }
  return tap * G_CB + i % G_CB;
}`;

/** Whether the sub-pixel form applies: stride 2, a 3×3 or 4×4 kernel, no padding and no output padding. */
export function subpixelApplies(t: ConvTranspose2dGeom): boolean {
  const g = t.conv;
  return (
    g.strideY === 2 &&
    g.strideX === 2 &&
    (g.kh === 3 || g.kh === 4) &&
    (g.kw === 3 || g.kw === 4) &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    t.hout === 2 * (t.h - 1) + g.kh &&
    t.wout === 2 * (t.w - 1) + g.kw
  );
}

/** f16 B matrix [tap (dy, dx)][ci padded to cp][(phase, co) padded to npad] from w [Cin][Cout][kh][kw]. */
function subpixelWeights(
  gpu: Gpu,
  t: ConvTranspose2dGeom,
  w: GPUBuffer,
  cp: number,
  npad: number,
  scale = 1,
): F16Weights {
  const { kh, kw } = t.conv;
  const key = `subpixel|${t.cin},${t.cout},${kh},${kw}|${cp},${npad}|${scale}`;
  return derivedWeights(w, key, () => {
    const pairs = (4 * cp * npad) / 2;
    const wh = gpu.pool.acquire(pairs * 4, 'tc2 f16 weights (sub-pixel)');
    const code = cached(
      `wsub|${key}`,
      () => /* wgsl */ `enable f16;
@group(0) @binding(0) var<storage, read> Wsrc: array<f32>;
@group(0) @binding(1) var<storage, read_write> WH: array<vec2<f16>>;
const CI: u32 = ${t.cin}u; const CO: u32 = ${t.cout}u; const KH: u32 = ${kh}u; const KW: u32 = ${kw}u;
const CP: u32 = ${cp}u; const NPAD: u32 = ${npad}u; const PAIRS: u32 = ${pairs}u;
fn value(tap: u32, ci: u32, q: u32) -> f32 {
  let phase = q / CO; let co = q % CO;
  let ky = (phase >> 1u) + 2u * (tap >> 1u); let kx = (phase & 1u) + 2u * (tap & 1u);
  if (ci >= CI || phase >= 4u || ky >= KH || kx >= KW) { return 0.0; }
  return Wsrc[((ci * CO + co) * KH + ky) * KW + kx]${scale === 1 ? '' : ` * ${f32Literal(scale)}`};
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= PAIRS) { return; }
  let q = (2u * e) % NPAD; let rest = (2u * e) / NPAD; let ci = rest % CP; let tap = rest / CP;
  WH[e] = vec2<f16>(f16(value(tap, ci, q)), f16(value(tap, ci, q + 1u)));
}`,
    );
    const groups = ceilDiv(pairs, 256);
    const gx = Math.min(groups, 65535);
    gpu.dispatch(gpu.kernel('conv_transpose_subpixel_weights_f16', code), [w, wh], [gx, ceilDiv(groups, gx), 1]);
    return wh;
  });
}

/** y [n, cout, hout, wout] = conv_transpose2d(x [n, cin, h, w], w [cin, cout, kh, kw], stride 2) (+ bias [cout]). */
export function convTranspose2dSubpixelTc2(
  gpu: Gpu,
  t: ConvTranspose2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: Tc2InputGradOptions = {},
): void {
  if (!subpixelApplies(t)) throw new Error('conv_transpose2d sub-pixel form: stride 2, 3×3 or 4×4, no padding only');
  // A 3×3 kernel's phases use 4, 2, 2 and 1 of the 4 taps: a workgroup walks only the taps of the phases its columns
  // hold (sparseK), 9/16 of the GEMM where the tile width divides Cout (6/8 for Cout 64 in 128-wide tiles: picking
  // the narrow tile for Cout instead measured 1.46× slower on the H200, 3×3 128→64 from 256²). A 4×4 kernel's phases
  // use every tap.
  const sparse = t.conv.kh === 3 && t.conv.kw === 3;
  const tile = tileFor(opts, t.n * (t.h + 1) * (t.w + 1), 4 * t.cout);
  const mode = opts.mode ?? 'hw';
  const T = checkTc2Tile(tile, gpu.limits.maxComputeInvocationsPerWorkgroup);
  const cb = ceilDiv(t.cin, tile.bk);
  const cp = cb * tile.bk;
  const N = 4 * t.cout;
  const npad = ceilDiv(N, tile.bn) * tile.bn;
  const ha = t.h + 1;
  const wa = t.w + 1;
  const M = t.n * ha * wa;
  const ny = t.n * t.cout * t.hout * t.wout;
  const grid = [ceilDiv(M, tile.bm), ceilDiv(N, tile.bn)];
  const slices = 4 * cb;
  const [sps, splits] = splitSlices(slices, grid[0]! * grid[1]!, opts, tile);
  const wh = subpixelWeights(gpu, t, w, cp, npad, opts.weightScale);
  const gs = opts.gradScale ? [opts.gradScale] : [];
  const src = cached(
    `tc2convT|${t.n},${t.cin},${t.cout},${t.h},${t.w},${t.conv.kh},${t.conv.kw}|${tileKey(tile)}|${mode}|${bias ? 1 : 0}|${sps}|${gs.length}|${sparse}`,
    () => {
      const b = gatherBindings(tile, bias !== null, 'Y');
      return tc2Kernel(
        {
          header: /* wgsl */ `
${b.wgsl}
const CO: u32 = ${t.cout}u; const HA: u32 = ${ha}u; const WA: u32 = ${wa}u;
const HOUT: u32 = ${t.hout}u; const WOUT: u32 = ${t.wout}u;
const G_SC: u32 = ${t.cin}u; const G_SH: u32 = ${t.h}u; const G_SW: u32 = ${t.w}u; const G_SHW: u32 = ${t.h * t.w}u;
const G_CB: u32 = ${cb}u;
fn pixel(m: u32) -> vec3i {
  let b = m / (HA * WA); let q = m % (HA * WA);
  return vec3i(i32(b * G_SC * G_SHW), i32(q / WA), i32(q % WA));
}
fn tapOf(t: u32) -> vec2i { return vec2i(-i32(t >> 1u), -i32(t & 1u)); }${sparse ? skipTaps(tile.bn) : ''}
fn store(m: u32, n: u32, z: u32, v: f32) {
  let b = m / (HA * WA); let q = m % (HA * WA);
  let phase = n / CO; let co = n % CO;
  let oy = 2u * (q / WA) + (phase >> 1u); let ox = 2u * (q % WA) + (phase & 1u);
  if (oy >= HOUT || ox >= WOUT) { return; }
  Y[z * ${ny}u + ((b * CO + co) * HOUT + oy) * WOUT + ox] = v${bias ? ' + select(0.0, Bias[co], z == 0u)' : ''};
}`,
          m: M,
          n: N,
          slices,
          slicesPerSplit: sps,
          ...gatherTimesWeights(T, tile, t.cin, npad, gs.length > 0),
          scaleBinding: gs.length ? b.scaleBinding : undefined,
          sparseK: sparse,
        },
        tile,
        mode,
      );
    },
  );
  const k = gpu.kernel(`conv_transpose2d_subpixel_tc2_${mode} ${shapeName(t.conv)}`, src);
  const part = splits > 1 ? gpu.pool.acquire(splits * ny * 4, 'conv partials') : y;
  gpu.dispatch(k, bias ? [x, wh.buffer, bias, part, ...gs] : [x, wh.buffer, part, ...gs], [grid[0]!, grid[1]!, splits]);
  if (splits > 1) {
    sumSplits(gpu, part, y, ny, splits);
    gpu.pool.release(part);
  }
  releaseWeights(gpu, wh);
}
