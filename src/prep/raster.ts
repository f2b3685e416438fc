/**
 * Orthographic front/back rasterization of a canonical mesh with WebGPU's own triangle rasterizer.
 *
 * Geometry: each side covers x ∈ [c_x − 1, c_x + 1], y ∈ [c_y − 1, c_y + 1] (metres, `halfExtent` = 1) at `size`²
 * pixels; u = (x − c_x + 1)·size/2, v = (1 − (y − c_y))·size/2, row 0 at the top; pixel (u, v) samples its centre.
 * Front: the camera looks along −z, the surface with maximum z is kept, back faces culled. Back: the reference
 * rotates 180° about y, renders and mirrors horizontally, so the (x, y) → pixel mapping equals the front's; that is
 * exactly the same projection with the minimum z kept and the other face culled, which is what we render.
 *
 * One render pass per side writes, per pixel, the triangle id + 1 (0 = background) and two barycentric coordinates
 * into an rgba32uint target (depth32float, depth test `less`). The id/barycentric image is read back and resolved
 * into positions, normals and skinning weights by `resolve` (maps.ts), in float64.
 */
import type { Gpu } from '../gpu/index.js';

export interface RasterMesh {
  /** (V*3) vertex positions. */
  positions: ArrayLike<number>;
  /** (F*3) triangle vertex indices, counter-clockwise seen from outside. */
  faces: ArrayLike<number>;
}

export interface RasterOptions {
  /** Pixels per side (square); a multiple of 16. Default 1024. */
  size?: number;
  /** The map centre (c_x, c_y, c_z). */
  center: ArrayLike<number>;
  /** Half the side of the covered square, metres (default 1). */
  halfExtent?: number;
}

/** Per-side triangle id (−1 = background) and barycentric coordinates (b0, b1; b2 = 1 − b0 − b1). */
export interface RasterSide {
  size: number;
  /** (size*size) triangle index or −1, row-major, row 0 at the top. */
  triangle: Int32Array;
  /** (size*size*2) barycentrics of the triangle's first two corners. */
  bary: Float32Array;
}

const SHADER = /* wgsl */ `
struct U { center: vec3f, invHalf: f32, depthSign: f32, depthScale: f32 }
@group(0) @binding(0) var<uniform> u: U;
struct VOut {
  @builtin(position) pos: vec4f,
  @location(0) @interpolate(flat) tri: u32,
  @location(1) bary: vec3f,
}
@vertex fn vs(@location(0) p: vec3f, @builtin(vertex_index) vi: u32) -> VOut {
  var o: VOut;
  let d = p - u.center;
  o.pos = vec4f(d.x * u.invHalf, d.y * u.invHalf, 0.5 - u.depthSign * d.z * u.depthScale, 1.0);
  o.tri = vi / 3u;
  let k = vi % 3u;
  o.bary = vec3f(select(0.0, 1.0, k == 0u), select(0.0, 1.0, k == 1u), select(0.0, 1.0, k == 2u));
  return o;
}
@fragment fn fs(i: VOut) -> @location(0) vec4u {
  return vec4u(i.tri + 1u, bitcast<u32>(i.bary.x), bitcast<u32>(i.bary.y), 0u);
}
`;

interface Pipelines {
  front: GPURenderPipeline;
  back: GPURenderPipeline;
  layout: GPUBindGroupLayout;
}
const pipelineCache = new WeakMap<GPUDevice, Pipelines>();

function pipelines(device: GPUDevice): Pipelines {
  const hit = pipelineCache.get(device);
  if (hit) return hit;
  const module = device.createShaderModule({ label: 'map raster', code: SHADER });
  const layout = device.createBindGroupLayout({
    entries: [{ binding: 0, visibility: 1 /* VERTEX */, buffer: { type: 'uniform' } }],
  });
  const make = (cull: GPUCullMode) =>
    device.createRenderPipeline({
      label: `map raster (cull ${cull})`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      vertex: {
        module,
        entryPoint: 'vs',
        buffers: [{ arrayStride: 12, attributes: [{ shaderLocation: 0, offset: 0, format: 'float32x3' }] }],
      },
      fragment: { module, entryPoint: 'fs', targets: [{ format: 'rgba32uint' }] },
      primitive: { topology: 'triangle-list', frontFace: 'ccw', cullMode: cull },
      depthStencil: { format: 'depth32float', depthWriteEnabled: true, depthCompare: 'less' },
    });
  const p = { front: make('back'), back: make('front'), layout };
  pipelineCache.set(device, p);
  return p;
}

/** Triangle soup (F*3 vertices) in float32 for the vertex buffer. */
function expand(mesh: RasterMesh): Float32Array<ArrayBuffer> {
  const F = mesh.faces.length / 3;
  const out = new Float32Array(F * 9);
  for (let t = 0; t < F * 3; t++) {
    const v = mesh.faces[t]! * 3;
    out[t * 3] = mesh.positions[v]!;
    out[t * 3 + 1] = mesh.positions[v + 1]!;
    out[t * 3 + 2] = mesh.positions[v + 2]!;
  }
  return out;
}

/** Rasterize the front and back sides. The mesh must lie within ±(halfExtent·4) m of the centre in z. */
export async function rasterizeFrontBack(
  gpu: Gpu,
  mesh: RasterMesh,
  options: RasterOptions,
): Promise<[RasterSide, RasterSide]> {
  const size = options.size ?? 1024;
  if (size % 16 !== 0 || size < 16) throw new Error(`map size must be a multiple of 16, got ${size}`);
  const half = options.halfExtent ?? 1;
  const device = gpu.device;
  const p = pipelines(device);
  const soup = expand(mesh);
  const vcount = soup.length / 3;
  const vbuf = device.createBuffer({
    size: Math.max(16, soup.byteLength),
    usage: 0x20 /* VERTEX */ | 0x08 /* COPY_DST */,
  });
  if (soup.byteLength) device.queue.writeBuffer(vbuf, 0, soup);
  const color = device.createTexture({
    size: [size, size],
    format: 'rgba32uint',
    usage: 0x10 /* RENDER_ATTACHMENT */ | 0x01 /* COPY_SRC */,
  });
  const depth = device.createTexture({ size: [size, size], format: 'depth32float', usage: 0x10 });
  const bytesPerRow = size * 16;
  const out: RasterSide[] = [];
  for (const side of ['front', 'back'] as const) {
    const ubuf = device.createBuffer({ size: 32, usage: 0x40 /* UNIFORM */ | 0x08 });
    const c = options.center;
    // depth = 0.5 − sign·(z − c_z)/(8·half): front keeps the largest z, back the smallest
    device.queue.writeBuffer(
      ubuf,
      0,
      Float32Array.of(c[0]!, c[1]!, c[2]!, 1 / half, side === 'front' ? 1 : -1, 1 / (8 * half), 0, 0),
    );
    const bind = device.createBindGroup({ layout: p.layout, entries: [{ binding: 0, resource: { buffer: ubuf } }] });
    gpu.flush();
    const enc = device.createCommandEncoder();
    const pass = enc.beginRenderPass({
      colorAttachments: [{ view: color.createView(), clearValue: [0, 0, 0, 0], loadOp: 'clear', storeOp: 'store' }],
      depthStencilAttachment: {
        view: depth.createView(),
        depthClearValue: 1,
        depthLoadOp: 'clear',
        depthStoreOp: 'store',
      },
    });
    pass.setPipeline(side === 'front' ? p.front : p.back);
    pass.setBindGroup(0, bind);
    pass.setVertexBuffer(0, vbuf);
    if (vcount) pass.draw(vcount);
    pass.end();
    const rb = device.createBuffer({ size: bytesPerRow * size, usage: 0x01 /* MAP_READ */ | 0x08 });
    enc.copyTextureToBuffer({ texture: color }, { buffer: rb, bytesPerRow, rowsPerImage: size }, [size, size]);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(1 /* READ */);
    const words = new Uint32Array(rb.getMappedRange().slice(0));
    rb.destroy();
    ubuf.destroy();
    const n = size * size;
    const triangle = new Int32Array(n);
    const bary = new Float32Array(n * 2);
    const f = new Float32Array(words.buffer);
    for (let i = 0; i < n; i++) {
      triangle[i] = words[i * 4]! - 1;
      bary[i * 2] = f[i * 4 + 1]!;
      bary[i * 2 + 1] = f[i * 4 + 2]!;
    }
    out.push({ size, triangle, bary });
  }
  vbuf.destroy();
  color.destroy();
  depth.destroy();
  await gpu.sync();
  return out as [RasterSide, RasterSide];
}
