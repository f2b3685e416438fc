/**
 * Sum over a set of axes: each output element sums R = Π(reduced dims) inputs. Two passes when R is long: pass 1
 * splits every output's sum into `chunks` workgroups (tree reduction in workgroup memory) writing partials
 * [out, chunks]; pass 2 reduces the partials the same way. The final write multiplies by `scale` (1/R for a mean).
 * Shapes and strides (≤ 8 kept and ≤ 8 reduced dims) come in parameters: one kernel per workgroup size.
 */
import { Tensor } from '../tensor.js';
import { gpu } from '../tensor.js';
import { cachedKernel, f, params, stridesOf, type F32 } from './util.js';

const CHUNK = 4096;
const MAXD = 8;

function wgsl(wgSize: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { total: u32, chunks: u32, chunkLen: u32, R: u32, scale: f32, nk: u32, nr: u32, pad: u32,
  kd: array<vec4<u32>, 2>, ks: array<vec4<u32>, 2>, rd: array<vec4<u32>, 2>, rs: array<vec4<u32>, 2> }
@group(1) @binding(0) var<uniform> P: PP;
var<workgroup> acc: array<f32, ${wgSize}>;
@compute @workgroup_size(${wgSize})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let w = wg.y * nwg.x + wg.x;
  if (w >= P.total) { return; }
  let o = w / P.chunks;
  let ch = w % P.chunks;
  var q = o;
  var base = 0u;
  for (var d = i32(P.nk) - 1; d >= 0; d--) {
    let e = u32(d);
    let n = P.kd[e / 4u][e % 4u];
    base += (q % n) * P.ks[e / 4u][e % 4u];
    q = q / n;
  }
  var s = 0.0;
  let r0 = ch * P.chunkLen;
  let r1 = min(r0 + P.chunkLen, P.R);
  for (var r = r0 + li; r < r1; r += ${wgSize}u) {
    var t = r;
    var off = 0u;
    for (var d = i32(P.nr) - 1; d >= 0; d--) {
      let e = u32(d);
      let n = P.rd[e / 4u][e % 4u];
      off += (t % n) * P.rs[e / 4u][e % 4u];
      t = t / n;
    }
    s += X[base + off];
  }
  acc[li] = s;
  workgroupBarrier();
  for (var h = ${wgSize / 2}u; h > 0u; h = h >> 1u) {
    if (li < h) { acc[li] += acc[li + h]; }
    workgroupBarrier();
  }
  if (li == 0u) { Y[w] = acc[0] * P.scale; }
}`;
}

function groups(n: number): [number, number] {
  if (n <= 65535) return [n, 1];
  const y = Math.ceil(n / 65535);
  return [Math.ceil(n / y), y];
}

function pass(
  x: Tensor,
  y: Tensor,
  kd: number[],
  ks: number[],
  rd: number[],
  rs: number[],
  numOut: number,
  R: number,
  chunks: number,
  scale: number,
): void {
  if (kd.length > MAXD || rd.length > MAXD) throw new Error(`reduce: over ${MAXD} dimensions`);
  const wgSize = R / chunks <= 64 ? 64 : 256;
  const k = cachedKernel(`reduce:${wgSize}`, () => wgsl(wgSize));
  const pad = (a: number[], v: number) => [...a, ...Array<number>(MAXD - a.length).fill(v)];
  const words: (number | F32)[] = [
    numOut * chunks,
    chunks,
    Math.ceil(R / chunks),
    R,
    f(scale),
    kd.length,
    rd.length,
    0,
  ];
  words.push(...pad(kd, 1), ...pad(ks, 0), ...pad(rd, 1), ...pad(rs, 0));
  gpu().dispatch(k, [x.buffer, y.buffer], groups(numOut * chunks), params(...words));
}

/** Record Y[kept] = scale · Σ_{reduced axes} X into a new tensor of `outShape` (size = Π kept dims). */
export function reduceSum(x: Tensor, axes: readonly number[], outShape: readonly number[], scale = 1): Tensor {
  const st = stridesOf(x.shape);
  const ax = new Set(axes);
  const kd: number[] = [];
  const ks: number[] = [];
  const rd: number[] = [];
  const rs: number[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    if (ax.has(i)) {
      rd.push(d);
      rs.push(st[i]!);
    } else {
      kd.push(d);
      ks.push(st[i]!);
    }
  });
  const numOut = kd.reduce((a, b) => a * b, 1);
  const R = rd.reduce((a, b) => a * b, 1);
  const out = Tensor.empty(outShape);
  if (out.size !== numOut) throw new Error('reduceSum: output shape mismatch');
  if (numOut === 0) return out;
  if (R === 0) {
    gpu().clear(out.buffer, 0, out.size * 4);
    return out;
  }
  const chunks = Math.min(Math.ceil(R / CHUNK), 1024);
  if (chunks === 1) {
    pass(x, out, kd, ks, rd, rs, numOut, R, 1, scale);
    return out;
  }
  const partial = Tensor.empty([numOut * chunks]);
  pass(x, partial, kd, ks, rd, rs, numOut, R, chunks, 1);
  pass(partial, out, [numOut], [chunks], [chunks], [1], numOut, chunks, 1, scale);
  partial.dispose();
  return out;
}
