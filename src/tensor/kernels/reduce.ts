/**
 * Sum over a set of axes: each output element sums R = Π(reduced dims) inputs. Two passes when R is long: pass 1
 * splits every output's sum into `chunks` workgroups (tree reduction in workgroup memory) writing partials
 * [out, chunks]; pass 2 reduces the partials the same way. The final write multiplies by `scale` (1/R for a mean).
 */
import { Tensor } from '../tensor.js';
import { gpu } from '../tensor.js';
import { cachedKernel, stridesOf } from './util.js';

const CHUNK = 4096;

function decompose(dims: readonly number[], strides: readonly number[], v: string, o: string): string {
  let s = `var ${v}r = ${v}; var ${o} = 0u;\n`;
  for (let d = dims.length - 1; d >= 0; d--) {
    s += `  { let c = ${v}r % ${dims[d]}u; ${v}r = ${v}r / ${dims[d]}u; ${o} += c * ${strides[d]}u; }\n`;
  }
  return s;
}

function wgsl(
  keptDims: number[],
  keptStrides: number[],
  redDims: number[],
  redStrides: number[],
  numOut: number,
  R: number,
  chunks: number,
  wgSize: number,
  scale: number,
): string {
  const chunkLen = Math.ceil(R / chunks);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
var<workgroup> acc: array<f32, ${wgSize}>;
@compute @workgroup_size(${wgSize})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let w = wg.y * nwg.x + wg.x;
  if (w >= ${numOut * chunks}u) { return; }
  let o = w / ${chunks}u;
  let ch = w % ${chunks}u;
  ${decompose(keptDims, keptStrides, 'o', 'base')}
  var s = 0.0;
  let r0 = ch * ${chunkLen}u;
  let r1 = min(r0 + ${chunkLen}u, ${R}u);
  for (var r = r0 + li; r < r1; r += ${wgSize}u) {
    ${decompose(redDims, redStrides, 'r', 'off')}
    s += X[base + off];
  }
  acc[li] = s;
  workgroupBarrier();
  for (var h = ${wgSize / 2}u; h > 0u; h = h >> 1u) {
    if (li < h) { acc[li] += acc[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) { Y[w] = acc[0] * ${scale.toPrecision(17)}; }
}`;
}

function groups(n: number): [number, number] {
  if (n <= 65535) return [n, 1];
  const y = Math.ceil(n / 65535);
  return [Math.ceil(n / y), y];
}

/** Record Y[kept] = scale · Σ_{reduced axes} X into a new tensor of `outShape` (size = Π kept dims). */
export function reduceSum(x: Tensor, axes: readonly number[], outShape: readonly number[], scale = 1): Tensor {
  const st = stridesOf(x.shape);
  const ax = new Set(axes);
  const keptDims: number[] = [];
  const keptStrides: number[] = [];
  const redDims: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((d, i) => {
    if (ax.has(i)) {
      if (d !== 1) {
        redDims.push(d);
        redStrides.push(st[i]!);
      }
    } else if (d !== 1) {
      keptDims.push(d);
      keptStrides.push(st[i]!);
    }
  });
  const numOut = keptDims.reduce((a, b) => a * b, 1);
  const R = redDims.reduce((a, b) => a * b, 1);
  const out = Tensor.empty(outShape);
  if (out.size !== numOut) throw new Error('reduceSum: output shape mismatch');
  if (numOut === 0) return out;
  if (R === 0) {
    gpu().clear(out.buffer, 0, out.size * 4);
    return out;
  }
  const chunks = Math.min(Math.ceil(R / CHUNK), 1024);
  const wgSize = R / chunks <= 64 ? 64 : 256;
  if (chunks === 1) {
    const k = cachedKernel(`reduce:${keptDims}:${keptStrides}:${redDims}:${redStrides}:${wgSize}:${scale}`, () =>
      wgsl(keptDims, keptStrides, redDims, redStrides, numOut, R, 1, wgSize, scale),
    );
    gpu().dispatch(k, [x.buffer, out.buffer], groups(numOut));
    return out;
  }
  const partial = Tensor.empty([numOut * chunks]);
  const k1 = cachedKernel(`reduce:${keptDims}:${keptStrides}:${redDims}:${redStrides}:${chunks}:${wgSize}`, () =>
    wgsl(keptDims, keptStrides, redDims, redStrides, numOut, R, chunks, wgSize, 1),
  );
  gpu().dispatch(k1, [x.buffer, partial.buffer], groups(numOut * chunks));
  const w2 = chunks <= 64 ? 64 : 256;
  const k2 = cachedKernel(`reduce:${numOut}:${chunks}:1:${w2}:${scale}`, () =>
    wgsl([numOut], [chunks], [chunks], [1], numOut, chunks, 1, w2, scale),
  );
  gpu().dispatch(k2, [partial.buffer, out.buffer], groups(numOut));
  partial.dispose();
  return out;
}
