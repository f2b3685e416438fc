/**
 * 1×1 convolutions to a few output channels (the DualStyleUNet's ToRGB layers: 64, 128 or 256 → 12) as one pass
 * over the input in f32. On the tensor cores such a conv wastes most of a 128-wide tile (N = 12) and is bound by
 * the tile's staging and epilogue: 117 µs for 64 → 12 at 512² on the H200, where reading the 64 MiB input takes
 * ~20 µs. Here each invocation owns one pixel and keeps all its outputs in registers (vec4 accumulators); the
 * weights sit in workgroup memory, [cin][cout padded to 4], so every read is a broadcast. The fused epilogue
 * (bias, demodulation, noise, leaky ReLU) is the GEMM paths' own (epilogue.ts).
 */
import { GRID_INDEX, grid1d, type Gpu } from '../../gpu/index.js';
import { f32PassEpilogue, type F32PassOptions } from './epilogue.js';
import type { Conv2dGeom } from './geometry.js';
import { cached } from '../../gpu/source-cache.js';
import { f32Literal, shapeName } from './wgsl.js';

/** Largest Cout this kernel takes (registers per invocation). */
export const NARROW_MAX_COUT = 16;
/**
 * Fewest output pixels: each invocation walks all of Cin for its pixel, so a small image gives few workgroups with
 * long serial loops. Measured good down to 128² (H200: 256→12 at 128² 24 µs against 35 on the tensor cores); the
 * 512-channel ToRGBs at 16²–64² stay on the tensor cores.
 */
export const NARROW_MIN_PIXELS = 128 * 128;

const pad4 = (c: number) => Math.ceil(c / 4) * 4;

/**
 * Whether conv1x1NarrowRaw computes this conv: 1×1, stride 1, no padding, Cout ≤ 16, ≥ 128² output pixels, and its weights (Cin × Cout
 * padded to 4, f32) within `maxWorkgroupBytes` of workgroup storage (the device's limit; WebGPU's default is 16 KiB,
 * the ToRGB of a 512-channel layer needs 24).
 */
export function narrow1x1Applies(g: Conv2dGeom, maxWorkgroupBytes = 16384): boolean {
  return (
    g.kh === 1 &&
    g.kw === 1 &&
    g.strideY === 1 &&
    g.strideX === 1 &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    g.ho === g.h &&
    g.wo === g.w &&
    g.cout <= NARROW_MAX_COUT &&
    g.n * g.ho * g.wo >= NARROW_MIN_PIXELS &&
    g.cin * pad4(g.cout) * 4 <= maxWorkgroupBytes
  );
}

/** y [n, cout, h, w] = epilogue(conv2d(x, weightScale·w) + bias) for a conv narrow1x1Applies accepts. */
export function conv1x1NarrowRaw(
  gpu: Gpu,
  g: Conv2dGeom,
  x: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  opts: F32PassOptions = {},
): void {
  if (!narrow1x1Applies(g, gpu.limits.maxComputeWorkgroupStorageSize))
    throw new Error(
      'conv1x1Narrow: needs a 1×1, stride-1, unpadded conv to ≤ 16 channels whose weights fit workgroup storage',
    );
  const { e, extra, scale } = f32PassEpilogue(bias, opts);
  const c4 = pad4(g.cout) / 4;
  const howo = g.ho * g.wo;
  const total = g.n * howo;
  const src = cached(`narrow1x1|${g.n},${g.cin},${g.cout},${howo}|${e.key}|${scale}`, () => {
    let body = '';
    for (let j = 0; j < c4; j++) body += `      a${j} = fma(WS[ci * ${c4}u + ${j}u], vec4(v), a${j});\n`;
    let store = '';
    for (let co = 0; co < g.cout; co++)
      store += `    Y[(b * COUT + ${co}u) * HOWO + q] = epi(b, ${co}u, q, a${co >> 2}[${co & 3}]);\n`;
    return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
${e.decl}
@group(0) @binding(${2 + extra.length}) var<storage, read_write> Y: array<f32>;
const CIN: u32 = ${g.cin}u; const COUT: u32 = ${g.cout}u; const HOWO: u32 = ${howo}u; const TOTAL: u32 = ${total}u;
${e.fn}
${GRID_INDEX}
var<workgroup> WS: array<vec4<f32>, ${g.cin * c4}>; // WS[ci·C4 + j][k] = scale · w[4j + k][ci] (0 past Cout)
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  for (var e = li; e < CIN * ${4 * c4}u; e += 256u) {
    let ci = e / ${4 * c4}u; let co = e % ${4 * c4}u;
    var v = 0.0;
    if (co < COUT) { v = Wt[co * CIN + ci]${scale === 1 ? '' : ` * ${f32Literal(scale)}`}; }
    WS[ci * ${c4}u + co / 4u][co % 4u] = v;
  }
  workgroupBarrier();
  let p = gridIndex(wg, nwg, li, 256u);
  if (p < TOTAL) {
    let b = p / HOWO; let q = p % HOWO;
${Array.from({ length: c4 }, (_, j) => `    var a${j} = vec4<f32>(0.0);\n`).join('')}    for (var ci = 0u; ci < CIN; ci++) {
      let v = X[(b * CIN + ci) * HOWO + q];
${body}    }
${store}  }
}`;
  });
  gpu.dispatch(gpu.kernel(`conv2d_1x1_narrow ${shapeName(g)}`, src), [x, w, ...extra, y], grid1d(total, 256));
}
