/**
 * Convolutions with a shallow reduction, K = Cin·kh·kw ≤ 32 (the DualStyleUNet's first conv, 3×3 from the 3-channel
 * pose map, and its 1×1 convs from 3 channels into the encoder), forward, as one f32 pass. On the tensor cores such a
 * conv pads each tap's 3 channels to a 32-wide K slice (a 3×3 conv does 288 MACs per output for 27 useful ones) and
 * is bound by staging, where its real cost is writing the output: 3×3/2 3→128 from 513² takes 69 µs on the H200's
 * tensor cores for 32 MiB of output (~10 µs of bandwidth). Here each invocation owns one output pixel and SHALLOW_CG
 * output channels (registers), gathers its K inputs once, and the group's weights sit in workgroup memory (every
 * read a broadcast). The fused epilogue (bias, demodulation, noise, leaky ReLU) is the GEMM paths' own
 * (epilogue.ts); the weight scale is folded while the weights are staged, as tc2 does in its f16 conversion.
 */
import { GRID_INDEX, grid1d, type Gpu } from '../../gpu/index.js';
import { f32PassEpilogue, type F32PassOptions } from './epilogue.js';
import { geomKey, type Conv2dGeom } from './geometry.js';
import { cached } from '../../gpu/source-cache.js';
import { f32Literal, shapeName } from './wgsl.js';

/** Largest reduction length Cin·kh·kw (the inputs an invocation keeps in registers). */
export const SHALLOW_MAX_K = 32;
/** Output channels per invocation (one workgroup row of the grid per group of them). */
export const SHALLOW_CG = 16;

/** Whether conv2dShallowRaw computes this conv: K = Cin·kh·kw ≤ SHALLOW_MAX_K. */
export function shallowApplies(g: Conv2dGeom): boolean {
  return g.cin * g.kh * g.kw <= SHALLOW_MAX_K;
}

/** y [n, cout, ho, wo] = epilogue(conv2d(x, weightScale·w) + bias) for a conv shallowApplies accepts. */
export function conv2dShallowRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: F32PassOptions = {},
): void {
  if (!shallowApplies(g))
    throw new Error(`conv2dShallow: needs Cin·kh·kw ≤ ${SHALLOW_MAX_K}, got ${g.cin}·${g.kh}·${g.kw}`);
  const { e, extra, scale } = f32PassEpilogue(bias, opts);
  const K = g.cin * g.kh * g.kw;
  const total = g.n * g.ho * g.wo;
  const groups = Math.ceil(g.cout / SHALLOW_CG);
  const [gx, gy] = grid1d(total, 256);
  const src = cached(`shallow|${geomKey(g)}|${e.key}|${scale}`, () => {
    // The K inputs of this pixel: tap (c, ky, kx) at (oy·SY − PT + ky, ox·SX − PL + kx), 0 outside.
    let gather = '';
    for (let c = 0; c < g.cin; c++)
      for (let ky = 0; ky < g.kh; ky++)
        for (let kx = 0; kx < g.kw; kx++) {
          const k = (c * g.kh + ky) * g.kw + kx;
          gather += `    var x${k} = 0.0;
    { let iy = iy0 + ${ky}; let ix = ix0 + ${kx};
      if (u32(iy) < H && u32(ix) < W) { x${k} = X[xb + ${c * g.h * g.w}u + u32(iy) * W + u32(ix)]; } }\n`;
        }
    // fully unrolled: the inputs stay in registers
    let body = '';
    for (let k = 0; k < K; k++)
      for (let j = 0; j < SHALLOW_CG / 4; j++)
        body += `    a${j} = fma(WS[${k * (SHALLOW_CG / 4) + j}u], vec4(x${k}), a${j});\n`;
    let store = '';
    for (let j = 0; j < SHALLOW_CG; j++)
      store += `    if (co0 + ${j}u < COUT) { Y[(b * COUT + co0 + ${j}u) * HOWO + q] = epi(b, co0 + ${j}u, q, a${j >> 2}[${j & 3}]); }\n`;
    return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${e.decl}
@group(0) @binding(${2 + extra.length}) var<storage, read_write> Y: array<f32>;
const CIN: u32 = ${g.cin}u; const H: u32 = ${g.h}u; const W: u32 = ${g.w}u; const COUT: u32 = ${g.cout}u;
const WO: u32 = ${g.wo}u; const HOWO: u32 = ${g.ho * g.wo}u; const TOTAL: u32 = ${total}u; const K: u32 = ${K}u;
${e.fn}
${GRID_INDEX}
var<workgroup> WS: array<vec4<f32>, ${(K * SHALLOW_CG) / 4}>; // WS[k·CG/4 + j][i] = scale · w[co0 + 4j + i][k]
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let co0 = wg.z * ${SHALLOW_CG}u;
  for (var e = li; e < K * ${SHALLOW_CG}u; e += 256u) {
    let k = e / ${SHALLOW_CG}u; let j = e % ${SHALLOW_CG}u;
    var v = 0.0;
    if (co0 + j < COUT) { v = Wt[(co0 + j) * K + k]${scale === 1 ? '' : ` * ${f32Literal(scale)}`}; }
    WS[k * ${SHALLOW_CG / 4}u + j / 4u][j % 4u] = v;
  }
  workgroupBarrier();
  let p = gridIndex(wg, nwg, li, 256u);
  if (p < TOTAL) {
    let b = p / HOWO; let q = p % HOWO;
    let iy0 = i32((q / WO) * ${g.strideY}u) - ${g.padTop}; let ix0 = i32((q % WO) * ${g.strideX}u) - ${g.padLeft};
    let xb = b * CIN * H * W;
${gather}${Array.from({ length: SHALLOW_CG / 4 }, (_, j) => `    var a${j} = vec4<f32>(0.0);\n`).join('')}${body}${store}  }
}`;
  });
  gpu.dispatch(gpu.kernel(`conv2d_shallow ${shapeName(g)}`, src), [x, w, ...extra, y], [gx, gy, groups]);
}
