/**
 * The f16 weights of the tc2 GEMMs: conv2d's f32 weights converted once per call (or once for weights held constant,
 * constant-weights.ts) into the exact layout of the B tile, so staging them is a copy (tc2-staging.ts weightCopy).
 */
import type { Gpu } from '../../gpu/index.js';
import { cached } from '../../gpu/source-cache.js';
import { derivedWeights } from './constant-weights.js';
import { ceilDiv, type Conv2dGeom } from './geometry.js';
import { f32Literal } from './wgsl.js';

/** The f16 weights of a call: a buffer and whether it is the call's own (released after use) or held. */
export interface F16Weights {
  buffer: GPUBuffer;
  temporary: boolean;
}

/**
 * The filter taps (ky·kw + kx) of a stride phase of the input gradient, in the layout's tap order: tap t ↦
 * (ky0 + sy·(t / nkx), kx0 + sx·(t % nkx)).
 */
export function phaseTaps(
  kw: number,
  nky: number,
  nkx: number,
  ky0: number,
  kx0: number,
  sy: number,
  sx: number,
): number[] {
  const taps: number[] = [];
  for (let t = 0; t < nky * nkx; t++) taps.push((ky0 + sy * Math.floor(t / nkx)) * kw + kx0 + sx * (t % nkx));
  return taps;
}

/**
 * Weight conversion to the f16 B tile layout WH[t][r][q] (r < cp rows = the GEMM's k channels, q < npad columns =
 * its n; zero outside sc × nn) from conv2d's f32 weights W[cout][cin][kh][kw]: 'fwd' reads W[q][r][tap] (rows are
 * input channels), 'dgrad' W[r][q][tap] (rows are output channels). Each invocation owns a column pair (q, q+1)
 * of one row: it reads both columns' kh·kw taps (contiguous in W) once into registers and writes one f16 pair per
 * tap, so neighbouring invocations write neighbouring pairs. H200 (bench `gpu-session.sh convert`, 2026-11-28): the
 * 16×16-block transpose through workgroup memory it replaced, and a 64×8 one with conflict-free strides, were as
 * fast within the run-to-run spread; holding the weights constant (no conversion at all) takes 0.35 ms off the
 * 7.0 ms forward sum over the network's 3×3 convs, so the conversion is ~5% of a conv.
 * Layout tap t holds filter tap `taps[t]` (ky·kw + kx): all taps in order for the forward, and for the input
 * gradient the taps of every stride phase one after the other, so one dispatch converts all phases (each phase's
 * GEMM binds its part of the buffer). Constant weights (constant-weights.ts) are converted once and kept.
 */
export function convertWeights(
  gpu: Gpu,
  g: Conv2dGeom,
  w: GPUBuffer,
  layout: 'fwd' | 'dgrad',
  taps: readonly number[],
  cp: number,
  npad: number,
  scale = 1,
): F16Weights {
  const khw = g.kh * g.kw;
  const key = `${layout}|${g.cout},${g.cin},${g.kh},${g.kw}|${taps.join(',')}|${cp},${npad}|${scale}`;
  return derivedWeights(w, key, () => {
    const halves = taps.length * cp * npad;
    const wh = gpu.pool.acquire(Math.max(16, halves * 2), 'tc2 f16 weights');
    if (halves === 0) return wh;
    const qMajor = layout === 'fwd';
    const pairs = (cp * npad) / 2;
    const code = cached(`wconv2|${key}`, () => {
      const sc = scale === 1 ? '' : ` * ${f32Literal(scale)}`;
      let load = '';
      for (let k = 0; k < khw; k++)
        load += `  let u${k} = select(0.0, Wsrc[b0 + ${k}u]${sc}, ok0); let v${k} = select(0.0, Wsrc[b1 + ${k}u]${sc}, ok1);\n`;
      let store = '';
      for (let t = 0; t < taps.length; t++)
        store += `  WH[${t * pairs}u + e] = vec2<f16>(f16(u${taps[t]}), f16(v${taps[t]}));\n`;
      return /* wgsl */ `enable f16;
@group(0) @binding(0) var<storage, read> Wsrc: array<f32>;
@group(0) @binding(1) var<storage, read_write> WH: array<vec2<f16>>;
const SC: u32 = ${qMajor ? g.cin : g.cout}u; const NN: u32 = ${qMajor ? g.cout : g.cin}u; const D1: u32 = ${g.cin}u;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= ${pairs}u) { return; }
  let q = 2u * (e % ${npad / 2}u); let r = e / ${npad / 2}u;
  let ok0 = r < SC && q < NN; let ok1 = r < SC && q + 1u < NN;
  // W[cout][cin][tap]: (q, r) is (cout, cin) for the forward, (cin, cout) for the input gradient
  let b0 = select(0u, ${qMajor ? '(q * D1 + r)' : '(r * D1 + q)'} * ${khw}u, ok0);
  let b1 = select(0u, ${qMajor ? '((q + 1u) * D1 + r)' : '(r * D1 + q + 1u)'} * ${khw}u, ok1);
${load}${store}}`;
    });
    const groups = ceilDiv(pairs, 256);
    const gx = Math.min(groups, 65535);
    gpu.dispatch(
      gpu.kernel(`conv2d_tc2_weights_f16 ${layout} ${g.kh}x${g.kw} ${g.cin}→${g.cout}`, code),
      [w, wh],
      [gx, ceilDiv(groups, gx), 1],
    );
    return wh;
  });
}

/** Release the f16 weights of a call once its dispatches are recorded (held ones stay). */
export function releaseWeights(gpu: Gpu, wh: F16Weights): void {
  if (wh.temporary) gpu.pool.release(wh.buffer);
}
