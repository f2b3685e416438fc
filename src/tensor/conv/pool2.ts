/** 2×2 max pool, stride 2, no padding ([nc, h, w] → [nc, ⌊h/2⌋, ⌊w/2⌋]), forward and backward on raw buffers. */
import { GRID_INDEX, grid1d, type Gpu } from '../../gpu/index.js';

const WG = 64;
const STRUCT = /* wgsl */ `
struct Q { h: u32, w: u32, ho: u32, wo: u32, total: u32 }
@group(1) @binding(0) var<uniform> P: Q;
${GRID_INDEX}`;

const FORWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${STRUCT}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = gridIndex(wg, nwg, li, ${WG}u);
  if (idx >= P.total) { return; }
  let x = idx % P.wo; let t = idx / P.wo; let y = t % P.ho; let p = t / P.ho;
  let i = (p * P.h + 2u * y) * P.w + 2u * x;
  Y[idx] = max(max(X[i], X[i + 1u]), max(X[i + P.w], X[i + P.w + 1u]));
}`;

// One invocation per input element: it receives gy if it is its window's maximum (the first in row-major order on
// ties, as the reference), else 0; the rows/columns a floor-sized output drops get 0.
const BACKWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
${STRUCT}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = gridIndex(wg, nwg, li, ${WG}u);
  if (idx >= P.total) { return; }
  let ix = idx % P.w; let t = idx / P.w; let iy = t % P.h; let p = t / P.h;
  let y = iy / 2u; let x = ix / 2u;
  var g = 0.0;
  if (y < P.ho && x < P.wo) {
    let i0 = (p * P.h + 2u * y) * P.w + 2u * x;
    var best = i0;
    var m = X[i0];
    for (var k = 1u; k < 4u; k++) {
      let j = i0 + (k / 2u) * P.w + k % 2u;
      if (X[j] > m) { m = X[j]; best = j; }
    }
    if (best == idx) { g = GY[(p * P.ho + y) * P.wo + x]; }
  }
  GX[idx] = g;
}`;

export function maxPool2Raw(gpu: Gpu, nc: number, h: number, w: number, x: GPUBuffer, y: GPUBuffer): void {
  const [ho, wo] = [h >> 1, w >> 1];
  const total = nc * ho * wo;
  gpu.dispatch(gpu.kernel('maxpool2', FORWARD), [x, y], grid1d(total, WG), Uint32Array.from([h, w, ho, wo, total]));
}

export function maxPool2BackwardRaw(
  gpu: Gpu,
  nc: number,
  h: number,
  w: number,
  x: GPUBuffer,
  gy: GPUBuffer,
  gx: GPUBuffer,
): void {
  const total = nc * h * w;
  gpu.dispatch(
    gpu.kernel('maxpool2_bwd', BACKWARD),
    [x, gy, gx],
    grid1d(total, WG),
    Uint32Array.from([h, w, h >> 1, w >> 1, total]),
  );
}
