/**
 * Tensor-core implicit-GEMM convolutions ('tc2' paths, issue 4): conv2d's forward, input gradient and weight gradient
 * as f16 × f16 → f32 GEMMs on subgroup matrices, with staging built around the convolution (tc2-staging.ts), f16
 * weights converted once per call into the B tile's layout (tc2-weights.ts), the GEMM kernel text in tc2-kernel.ts
 * and its tiles in tc2-tiles.ts. Stride-1 forwards (and stride-1 input gradients, as the forward of the flipped
 * filter) stage the input patch once per channel chunk (tc2-patch.ts); stride-2 transposed convs with 3×3 / 4×4
 * kernels run as one sub-pixel GEMM (tc2-subpixel.ts); other input gradients run one GEMM per stride phase.
 * Mode 'sw' is the CPU-testable twin (software subgroup matrices over the same memory, offsets, strides, layouts).
 */
import type { Gpu } from '../../gpu/index.js';
import { cached } from '../../gpu/source-cache.js';
import { epilogueBuffers, epilogueWgsl, hasEpilogue, type ConvEpilogue } from './epilogue.js';
import { ceilDiv, geomKey, inputGradPhases, type Conv2dGeom } from './geometry.js';
import { sumSplits, sumSplitsEpilogue } from './split-k.js';
import { tc2Kernel } from './tc2-kernel.js';
import { patchedTimesWeights, patchFor, patchSplits, patchTiles } from './tc2-patch.js';
import { bHeader, gatherBindings, gatherTimesWeights, weightGradStaging } from './tc2-staging.js';
import {
  checkTc2Tile,
  splitSlices,
  TC2_TILE,
  tc2TileBytes,
  tileFor,
  tileKey,
  type Tc2Tile,
  type Tc2Tiling,
  type TcMode,
} from './tc2-tiles.js';
import { convertWeights, phaseTaps, releaseWeights, type F16Weights } from './tc2-weights.js';
import { convConstsWgsl, f32Literal, shapeName } from './wgsl.js';

/** How a call's tc2 GEMMs run: the mode, their tiles, the K splits. */
export interface Tc2Run extends Tc2Tiling {
  /** 'hw' (tensor cores, default) or 'sw' (the software twin). */
  mode?: TcMode;
  /**
   * Stride-1 forward (and input gradient): stage A as the input patch of the output tile, once per channel chunk for
   * all taps (tc2-patch.ts), with this tile wherever patchApplies; null never; by default patchTileFor's choice
   * (none where `tile` is given).
   */
  patchTile?: Tc2Tile | null;
  /** Force the number of K splits. */
  splits?: number;
}

/**
 * Forward / input gradient: use weightScale·w (EqualConv2d's 1/√fan_in), applied while the weights are converted to
 * f16 (f32 product, then f16: the same operands as scaling first), so no separate scale dispatch.
 * gradScale: the range scale [s, 1/s] of a gradient operand (f16-range.ts): the kernel stages v·s in f16 and
 * multiplies its result by 1/s. Forward / input gradient / sub-pixel: the gathered pixels (binding 0) are the
 * gradient (a transposed conv's input gradient, a conv's input gradient).
 */
export interface Tc2InputGradOptions extends Tc2Run {
  weightScale?: number;
  gradScale?: GPUBuffer;
}

export interface Tc2ForwardOptions extends Tc2InputGradOptions {
  /** Fused epilogue after the bias (demodulation, noise, leaky ReLU·√2; epilogue.ts). */
  epilogue?: ConvEpilogue;
  /** The input's last `channels` channels are in this buffer, x holds the others (see ChannelConcat). */
  concat?: ChannelConcat;
}

/**
 * conv2d of concat([x, buffer], channels) without writing the concatenation: x holds the first cin − `channels`
 * input channels, `buffer` the other `channels` ([n, channels, h, w]). Patch-staged GEMMs whose first part is a
 * multiple of BK channels read both sources (each channel chunk from one of them); elsewhere the concatenation is
 * made in a temporary buffer first (concatChannels).
 */
export interface ChannelConcat {
  buffer: GPUBuffer;
  channels: number;
}

/**
 * The concatenation [n, cin, h, w] of x (cin − c.channels channels) and c.buffer in a buffer from the pool (the
 * caller releases it after recording its use): two copies per sample.
 */
export function concatChannels(gpu: Gpu, g: Conv2dGeom, x: GPUBuffer, c: ChannelConcat): GPUBuffer {
  const hw = g.h * g.w * 4;
  const c1 = g.cin - c.channels;
  const out = gpu.pool.acquire(g.n * g.cin * hw, 'conv input concatenation');
  for (let b = 0; b < g.n; b++) {
    gpu.copy(x, b * c1 * hw, out, b * g.cin * hw, c1 * hw);
    gpu.copy(c.buffer, b * c.channels * hw, out, (b * g.cin + c1) * hw, c.channels * hw);
  }
  return out;
}

export interface Tc2WeightGradOptions extends Tc2Run {
  /** The gradient range scale of the operand `gradScaleOn` names ('gy' for conv2d, 'x' for conv_transpose2d). */
  gradScale?: GPUBuffer;
  gradScaleOn?: 'x' | 'gy';
  /** Multiply the gradient by this as it is stored (the forward convolved with outScale·w: EqualConv2d's scale). */
  outScale?: number;
}

const consts = (g: Conv2dGeom) => convConstsWgsl(g, true);

export function conv2dForwardTc2(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: Tc2ForwardOptions = {},
): void {
  const patched = patchFor(gpu, g, opts);
  const tile = patched ?? tileFor(opts, g.n * g.ho * g.wo, g.cout);
  if (opts.concat && (!patched || (g.cin - opts.concat.channels) % tile.bk !== 0)) {
    const xc = concatChannels(gpu, g, x, opts.concat);
    conv2dForwardTc2(gpu, g, xc, w, bias, y, { ...opts, concat: undefined });
    gpu.pool.release(xc);
    return;
  }
  const order = phaseTaps(g.kw, g.kh, g.kw, 0, 0, 1, 1);
  const weights = (cp: number, npad: number) => convertWeights(gpu, g, w, 'fwd', order, cp, npad, opts.weightScale);
  forwardGemm(
    gpu,
    g,
    x,
    weights,
    bias,
    y,
    opts,
    tile,
    patched !== null,
    `conv2d_fwd_tc2_${opts.mode ?? 'hw'} ${shapeName(g)}`,
  );
}

/**
 * The GEMM of a forward conv `g` (x → y) with f16 weights made by `weights(cp, npad)` in the [tap][channel][n]
 * layout: the gather or (patched) the patch staging, split-K and the fused or separate epilogue.
 */
function forwardGemm(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  weights: (cp: number, npad: number) => F16Weights,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: Tc2ForwardOptions,
  tile: Tc2Tile,
  patched: boolean,
  /** The kernel's label (profiles total GPU time per label). */
  label: string,
): void {
  const mode = opts.mode ?? 'hw';
  const T = checkTc2Tile(tile, gpu.limits.maxComputeInvocationsPerWorkgroup);
  const taps = g.kh * g.kw;
  const cb = ceilDiv(g.cin, tile.bk);
  const cp = cb * tile.bk;
  const npad = ceilDiv(g.cout, tile.bn) * tile.bn;
  const M = g.n * g.ho * g.wo;
  const ny = g.n * g.cout * g.ho * g.wo;
  const grid = [patched ? patchTiles(g, tile) : ceilDiv(M, tile.bm), ceilDiv(g.cout, tile.bn)];
  const slices = taps * cb;
  const split = splitSlices(slices, grid[0]! * grid[1]!, opts, tile);
  const [sps, splits] = patched ? patchSplits(split[0], slices, taps) : split;
  const epi = opts.epilogue ?? {};
  const fused = splits === 1 && (bias !== null || hasEpilogue(epi));
  const extra = fused ? epilogueBuffers(bias, epi) : [];
  const ekey = fused ? epilogueWgsl(bias !== null, epi, 2).key : '';
  const wh = weights(cp, npad);
  const gs = opts.gradScale ? [opts.gradScale] : [];
  // the second source of a concatenated input (patch staging only: conv2dForwardTc2 made it whole elsewhere)
  const first = patched && opts.concat ? g.cin - opts.concat.channels : undefined;
  const x2 = first !== undefined ? [opts.concat!.buffer] : [];

  const src = cached(
    `tc2fwd|${geomKey(g)}|${tileKey(tile)}|${patched ? 'patch' : ''}|${mode}|${ekey}|${sps}|${gs.length}|${first ?? ''}`,
    () => {
      const e = fused ? epilogueWgsl(bias !== null, epi, 2) : null;
      const staging = patched
        ? patchedTimesWeights(T, g, tile, npad, gs.length > 0, first)
        : gatherTimesWeights(T, tile, g.cin, npad, gs.length > 0);
      return tc2Kernel(
        {
          header: /* wgsl */ `
@group(0) @binding(0) var<storage, read> SRC: array<f32>;
${bHeader(tile)}
${e ? e.decl : ''}
@group(0) @binding(${2 + extra.length}) var<storage, read_write> Y: array<f32>;
${x2.length ? `@group(0) @binding(${3 + extra.length + gs.length}) var<storage, read> SRC2: array<f32>;` : ''}
${consts(g)}
const G_SC: u32 = CIN; const G_SH: u32 = H; const G_SW: u32 = W; const G_SHW: u32 = HW; const G_CB: u32 = ${cb}u;
${e ? e.fn : ''}
fn pixel(m: u32) -> vec3i {
  let b = m / HOWO; let p = m % HOWO;
  return vec3i(i32(b * CIN * HW), i32((p / WO) * SY) - PT, i32((p % WO) * SX) - PL);
}
fn tapOf(t: u32) -> vec2i { return vec2i(i32(t / KW), i32(t % KW)); }
fn store(m: u32, n: u32, z: u32, v: f32) {
  let b = m / HOWO; let p = m % HOWO;
  Y[z * ${ny}u + (b * COUT + n) * HOWO + p] = ${e ? 'epi(b, n, p, v)' : 'v'};
}`,
          m: M,
          n: g.cout,
          slices,
          slicesPerSplit: sps,
          ...staging,
          scaleBinding: gs.length ? 3 + extra.length : undefined,
        },
        tile,
        mode,
      );
    },
  );
  const k = gpu.kernel(label, src);
  if (splits === 1) {
    gpu.dispatch(k, [x, wh.buffer, ...extra, y, ...gs, ...x2], [grid[0]!, grid[1]!, 1]);
  } else {
    const part = gpu.pool.acquire(splits * ny * 4, 'conv partials');
    gpu.dispatch(k, [x, wh.buffer, part, ...gs, ...x2], [grid[0]!, grid[1]!, splits]);
    if (bias !== null || hasEpilogue(epi)) sumSplitsEpilogue(gpu, g, part, y, splits, bias, epi);
    else sumSplits(gpu, part, y, ny, splits);
    gpu.pool.release(part);
  }
  releaseWeights(gpu, wh);
}

/**
 * The forward conv equal to a stride-1 conv's input gradient: gy [n, cout, ho, wo] → gx [n, cin, h, w] with the
 * kernel flipped (tap (ky, kx) ↦ (kh−1−ky, kw−1−kx)), channels swapped and padding kh−1−pad (may be negative).
 */
export function dgradAsForward(g: Conv2dGeom): Conv2dGeom {
  return {
    n: g.n,
    cin: g.cout,
    h: g.ho,
    w: g.wo,
    cout: g.cin,
    kh: g.kh,
    kw: g.kw,
    strideY: 1,
    strideX: 1,
    padTop: g.kh - 1 - g.padTop,
    padBottom: g.kh - 1 - g.padBottom,
    padLeft: g.kw - 1 - g.padLeft,
    padRight: g.kw - 1 - g.padRight,
    ho: g.h,
    wo: g.w,
  };
}

/** Input gradient (per stride phase, as implicit.ts); with `bias` (indexed by cin) conv_transpose2d's forward. */
export function conv2dBackwardInputTc2(
  gpu: Gpu,
  g: Conv2dGeom,
  gy: GPUBuffer,
  w: GPUBuffer,
  gx: GPUBuffer,
  bias: GPUBuffer | null = null,
  opts: Tc2InputGradOptions = {},
): void {
  if (g.strideY === 1 && g.strideX === 1) {
    // a stride-1 input gradient is the forward conv of gy with the flipped filter: patch-staged where it applies
    const gd = dgradAsForward(g);
    const patched = patchFor(gpu, gd, opts);
    if (patched) {
      const khw = g.kh * g.kw;
      const flipped = Array.from({ length: khw }, (_, t) => khw - 1 - t);
      const weights = (cp: number, npad: number) =>
        convertWeights(gpu, g, w, 'dgrad', flipped, cp, npad, opts.weightScale);
      const label = `conv2d_dgrad_tc2_${opts.mode ?? 'hw'} ${shapeName(g)} (patch)`;
      forwardGemm(gpu, gd, gy, weights, bias, gx, { ...opts, epilogue: undefined }, patched, true, label);
      return;
    }
  }
  // rows per stride phase (the largest phase)
  const tile = tileFor(opts, g.n * ceilDiv(g.h, g.strideY) * ceilDiv(g.w, g.strideX), g.cin);
  const mode = opts.mode ?? 'hw';
  const T = checkTc2Tile(tile, gpu.limits.maxComputeInvocationsPerWorkgroup);
  const nx = g.n * g.cin * g.h * g.w;
  const cb = ceilDiv(g.cout, tile.bk);
  const cp = cb * tile.bk;
  const npad = ceilDiv(g.cin, tile.bn) * tile.bn;
  const tiles0 = ceilDiv(g.n * ceilDiv(g.h, g.strideY) * ceilDiv(g.w, g.strideX), tile.bm) * ceilDiv(g.cin, tile.bn);
  const slices0 = ceilDiv(g.kh, g.strideY) * ceilDiv(g.kw, g.strideX) * cb;
  const splits = splitSlices(slices0, tiles0 * g.strideY * g.strideX, opts, tile)[1];
  const part = splits > 1 ? gpu.pool.acquire(splits * nx * 4, 'conv partials') : gx;
  // The stride phases (output pixels ≡ (py, px) mod stride) and their filter taps; one weight conversion for all.
  const phases = inputGradPhases(g).map((ph) => ({
    ...ph,
    taps: phaseTaps(g.kw, ph.nky, ph.nkx, ph.ky0, ph.kx0, g.strideY, g.strideX),
  }));
  const allTaps = phases.flatMap((ph) => ph.taps);
  const wh = convertWeights(gpu, g, w, 'dgrad', allTaps, cp, npad, opts.weightScale);
  const gs = opts.gradScale ? [opts.gradScale] : [];
  const tapBytes = cp * npad * 2; // a multiple of 512 (bk, bn ≥ 16): phase parts are valid binding offsets
  if (phases.length > 1 && tapBytes % gpu.limits.minStorageBufferOffsetAlignment !== 0)
    throw new Error(`tc2: weight parts of ${tapBytes} bytes are not aligned for binding offsets`);
  let first = 0;
  for (const { py, px, hph, wph, ky0, kx0, nkx, oy, ox, taps: phaseTapList } of phases) {
    {
      const taps = phaseTapList.length;
      const slices = taps * cb;
      const sps = Math.max(1, ceilDiv(slices, splits));
      const M = g.n * hph * wph;
      const phaseConsts = /* wgsl */ `
const PY: u32 = ${py}u; const PX: u32 = ${px}u; const HPH: u32 = ${hph}u; const WPH: u32 = ${wph}u;
const KY0: u32 = ${ky0}u; const KX0: u32 = ${kx0}u; const NKXD: u32 = ${Math.max(1, nkx)}u;
const OY: u32 = ${oy}u; const OX: u32 = ${ox}u;`;

      const src = cached(
        `tc2dgrad|${geomKey(g)}|${tileKey(tile)}|${mode}|${bias ? 1 : 0}|${py},${px}|${sps}|${gs.length}`,
        () => {
          const b = gatherBindings(tile, bias !== null, 'GX');
          return tc2Kernel(
            {
              header: /* wgsl */ `
${b.wgsl}
${consts(g)}
${phaseConsts}
const G_SC: u32 = COUT; const G_SH: u32 = HO; const G_SW: u32 = WO; const G_SHW: u32 = HOWO; const G_CB: u32 = ${cb}u;
fn pixel(m: u32) -> vec3i {
  let b = m / (HPH * WPH); let q = m % (HPH * WPH);
  return vec3i(i32(b * COUT * HOWO), i32(q / WPH + OY), i32(q % WPH + OX));
}
fn tapOf(t: u32) -> vec2i { return vec2i(-i32(t / NKXD), -i32(t % NKXD)); }
fn store(m: u32, n: u32, z: u32, v: f32) {
  let b = m / (HPH * WPH); let q = m % (HPH * WPH);
  let h = PY + SY * (q / WPH); let w = PX + SX * (q % WPH);
  GX[z * ${nx}u + ((b * CIN + n) * H + h) * W + w] = v${bias ? ' + select(0.0, Bias[n], z == 0u)' : ''};
}`,
              m: M,
              n: g.cin,
              slices,
              slicesPerSplit: sps,
              ...gatherTimesWeights(T, tile, g.cout, npad, gs.length > 0),
              scaleBinding: gs.length ? b.scaleBinding : undefined,
            },
            tile,
            mode,
          );
        },
      );
      const k = gpu.kernel(`conv2d_dgrad_tc2_${mode} ${shapeName(g)}`, src);
      // Every split slice must be fully written: a split past this phase's slices stores zeros (empty loop).
      const wpart = taps > 0 ? { buffer: wh.buffer, offset: first * tapBytes, size: taps * tapBytes } : wh.buffer;
      gpu.dispatch(k, bias ? [gy, wpart, bias, part, ...gs] : [gy, wpart, part, ...gs], [
        ceilDiv(M, tile.bm),
        ceilDiv(g.cin, tile.bn),
        splits,
      ]);
      first += taps;
    }
  }
  releaseWeights(gpu, wh);
  if (splits > 1) {
    sumSplits(gpu, part, gx, nx, splits);
    gpu.pool.release(part);
  }
}

/**
 * Weight gradient: M = Cout, N = Cin·kh·kw (the weight layout's order), K = pixels. Both operands are gathered
 * k-contiguous ([rows][k]); each thread owns pixel pair(s) of every slice and fixed rows (A) and columns (B).
 */
export function conv2dBackwardWeightTc2(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  gy: GPUBuffer,
  gw: GPUBuffer,
  opts: Tc2WeightGradOptions = {},
): void {
  // Both operands staged k-contiguous: halve BK until the tiles fit the adapter's workgroup memory.
  let tile: Tc2Tile = { ...(opts.tile ?? TC2_TILE), bGlobal: false };
  while (tile.bk > 16 && tc2TileBytes(tile, 'r') > gpu.limits.maxComputeWorkgroupStorageSize)
    tile = { ...tile, bk: tile.bk / 2 };
  const mode = opts.mode ?? 'hw';
  const T = checkTc2Tile(tile, gpu.limits.maxComputeInvocationsPerWorkgroup);
  const kk = g.cin * g.kh * g.kw;
  const L = g.n * g.ho * g.wo;
  const slices = ceilDiv(L, tile.bk);
  const tiles = ceilDiv(g.cout, tile.bm) * ceilDiv(kk, tile.bn);
  const [sps, splits] = splitSlices(slices, tiles, opts, tile);
  const gs = opts.gradScale ? [opts.gradScale] : [];
  const on = gs.length ? (opts.gradScaleOn ?? 'gy') : null;
  const outScale = opts.outScale ?? 1;
  const src = cached(`tc2wgrad|${geomKey(g)}|${tileKey(tile)}|${mode}|${sps}|${on}|${outScale}`, () => {
    return tc2Kernel(
      {
        header: /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${consts(g)}
const GEMM_K: u32 = ${L}u;
fn store(m: u32, n: u32, z: u32, v: f32) { OUT[(z * COUT + m) * KTOT + n] = v${
          outScale === 1 ? '' : ` * ${f32Literal(outScale)}`
        }; }`,
        m: g.cout,
        n: kk,
        slices,
        slicesPerSplit: sps,
        ...weightGradStaging(T, tile, on),
        scaleBinding: on ? 3 : undefined,
      },
      tile,
      mode,
    );
  });
  const k = gpu.kernel(`conv2d_wgrad_tc2_${mode} ${shapeName(g)}`, src);
  const grid = [ceilDiv(g.cout, tile.bm), ceilDiv(kk, tile.bn), splits];
  if (splits === 1) {
    gpu.dispatch(k, [x, gy, gw, ...gs], grid);
    return;
  }
  const part = gpu.pool.acquire(splits * g.cout * kk * 4, 'wgrad partials');
  gpu.dispatch(k, [x, gy, part, ...gs], grid);
  sumSplits(gpu, part, gw, g.cout * kk, splits);
  gpu.pool.release(part);
}

/** The WGSL of the forward kernel of a geometry (for structural tests of the hardware variant). */
export function tc2ForwardWgslForTest(g: Conv2dGeom, tile: Tc2Tile, mode: TcMode): string {
  const T = checkTc2Tile(tile, 512);
  const cb = ceilDiv(g.cin, tile.bk);
  const npad = ceilDiv(g.cout, tile.bn) * tile.bn;
  return tc2Kernel(
    {
      header: `${bHeader(tile)}\n${consts(g)}\nconst G_CB: u32 = ${cb}u;`,
      m: g.n * g.ho * g.wo,
      n: g.cout,
      slices: g.kh * g.kw * cb,
      slicesPerSplit: g.kh * g.kw * cb,
      ...gatherTimesWeights(T, tile, g.cin, npad),
    },
    tile,
    mode,
  );
}
