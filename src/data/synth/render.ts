/**
 * The synthetic capture's camera renderer: a WebGPU render pipeline with 4x MSAA (and optional supersampling, box
 * downsampled), a depth buffer, Lambert + ambient shading and a procedural texture evaluated per pixel from each
 * vertex's texture coordinates and material (stripes, checks, a logo, skin, hair, face). Cameras follow OpenCV
 * (K, R, T): pixel i's centre is at u = i, as the reference's rasterizer assumes.
 * Output: 8-bit RGB and an 8-bit alpha (coverage) per pixel.
 */
import type { Gpu } from '../../gpu/index.js';
import type { Camera } from '../camera.js';

export interface ShadedMesh {
  /** (V*3) world positions. */
  positions: Float32Array;
  /** (V*3) unit normals. */
  normals: Float32Array;
  /** (V*3) texture coordinates (meaning depends on the material). */
  tex: Float32Array;
  /** (V) material id per vertex. */
  material: Float32Array;
  /** (F*3) triangles. */
  indices: Uint32Array;
}

export type Rgb = [number, number, number];

export interface Palette {
  skin: Rgb;
  hair: Rgb;
  shirtA: Rgb;
  shirtB: Rgb;
  logo: Rgb;
  skirtA: Rgb;
  skirtB: Rgb;
  skirtLine: Rgb;
  leggings: Rgb;
  shoes: Rgb;
  background: Rgb;
}

const PALETTE_ORDER: (keyof Palette)[] = [
  'skin',
  'hair',
  'shirtA',
  'shirtB',
  'logo',
  'skirtA',
  'skirtB',
  'skirtLine',
  'leggings',
  'shoes',
  'background',
];

const SHADER = /* wgsl */ `
struct U { viewProj: mat4x4f, colors: array<vec4f, 12> }
@group(0) @binding(0) var<uniform> u: U;
struct VOut {
  @builtin(position) pos: vec4f,
  @location(0) nrm: vec3f,
  @location(1) tex: vec3f,
  @location(2) @interpolate(flat) mat: u32,
}
@vertex fn vs(@location(0) p: vec3f, @location(1) n: vec3f, @location(2) t: vec3f, @location(3) m: f32) -> VOut {
  var o: VOut;
  o.pos = u.viewProj * vec4f(p, 1.0);
  o.nrm = n;
  o.tex = t;
  o.mat = u32(m + 0.5);
  return o;
}
fn col(i: u32) -> vec3f { return u.colors[i].xyz; }
fn stripe(x: f32, duty: f32) -> f32 { return step(fract(x), duty); }
fn hash(p: vec2f) -> f32 { return fract(sin(dot(p, vec2f(127.1, 311.7))) * 43758.5453); }
fn star(q: vec2f, r: f32) -> f32 {
  let a = atan2(q.y, q.x);
  let k = 0.55 + 0.45 * cos(5.0 * a);
  return step(length(q), r * k);
}
fn albedo(mat: u32, t: vec3f) -> vec3f {
  switch mat {
    case 0u: { return col(0u) * (0.97 + 0.03 * hash(floor(t.xy * 400.0))); }
    case 1u: {
      var c = col(0u);
      if (t.z > 0.04) {
        let eye = vec2f(abs(t.x) - 0.034, t.y - 0.335);
        if (length(eye) < 0.012) { c = vec3f(0.95); }
        if (length(eye) < 0.006) { c = vec3f(0.08, 0.12, 0.2); }
        let mouth = vec2f(t.x / 0.026, (t.y - 0.285) / 0.007);
        if (length(mouth) < 1.0) { c = vec3f(0.7, 0.25, 0.25); }
        if (abs(t.y - 0.36) < 0.004 && abs(abs(t.x) - 0.034) < 0.016) { c = col(1u); }
      }
      return c;
    }
    case 2u: { return col(1u) * (0.85 + 0.15 * sin(t.x * 320.0 + 3.0 * sin(t.y * 40.0))); }
    case 3u: {
      var c = mix(col(2u), col(3u), stripe(t.y * 14.0, 0.5));
      if (t.z > 0.02) {
        let q = vec2f(t.x, t.y - 0.02);
        let d = length(q);
        if (d < 0.062) { c = vec3f(0.96); }
        if (d > 0.05 && d < 0.062) { c = col(4u); }
        if (star(q, 0.045) > 0.5) { c = col(4u); }
        if (abs(q.y + 0.075) < 0.006 && abs(q.x) < 0.06) { c = col(4u); }
      }
      return c;
    }
    case 4u: { return col(8u) * (0.85 + 0.15 * stripe(atan2(t.z, t.x) * 20.0, 0.5)); }
    case 5u: {
      if (t.y < -1.275) { return vec3f(0.92); }
      return col(9u);
    }
    case 6u: {
      let uu = t.x * 28.0;
      let vv = t.y * 7.0;
      var c = mix(col(5u), col(6u), 0.5 * (stripe(uu, 0.5) + stripe(vv, 0.5)));
      if (fract(uu) < 0.08 || fract(vv) < 0.08) { c = col(7u); }
      if (t.y > 0.95) { c = col(7u); }
      return c;
    }
    case 7u: {
      var c = mix(col(3u), col(2u), stripe(t.x * 9.0, 0.3));
      if (t.x > 0.93) { c = col(4u); }
      return c;
    }
    default: { return vec3f(1.0, 0.0, 1.0); }
  }
}
@fragment fn fs(i: VOut, @builtin(front_facing) front: bool) -> @location(0) vec4f {
  var n = normalize(i.nrm);
  if (!front) { n = -n; }
  let key = max(dot(n, normalize(vec3f(0.35, 0.8, 0.6))), 0.0);
  let fill = max(dot(n, normalize(vec3f(-0.6, 0.2, -0.5))), 0.0);
  let shade = 0.38 + 0.62 * key + 0.22 * fill;
  return vec4f(min(albedo(i.mat, i.tex) * shade, vec3f(1.0)), 1.0);
}
`;

/** Column-major 4x4 clip matrix for an OpenCV camera at a supersampling factor (pixel centres as OpenCV). */
export function clipMatrix(cam: Camera, ss: number, near = 0.05, far = 50): Float32Array {
  const W = cam.width * ss,
    H = cam.height * ss;
  const fx = cam.K[0]! * ss,
    fy = cam.K[4]! * ss,
    skew = cam.K[1]! * ss;
  const cx = (cam.K[2]! + 0.5) * ss,
    cy = (cam.K[5]! + 0.5) * ss;
  // rows of P acting on camera coordinates (xc, yc, zc, 1)
  const P = [
    [(2 * fx) / W, (2 * skew) / W, (2 * cx) / W - 1, 0],
    [0, (-2 * fy) / H, 1 - (2 * cy) / H, 0],
    [0, 0, far / (far - near), (-far * near) / (far - near)],
    [0, 0, 1, 0],
  ];
  const E = [
    [cam.R[0]!, cam.R[1]!, cam.R[2]!, cam.T[0]!],
    [cam.R[3]!, cam.R[4]!, cam.R[5]!, cam.T[1]!],
    [cam.R[6]!, cam.R[7]!, cam.R[8]!, cam.T[2]!],
    [0, 0, 0, 1],
  ];
  const M = new Float32Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += P[r]![k]! * E[k]![c]!;
      M[c * 4 + r] = s; // column-major
    }
  }
  return M;
}

export interface RenderedView {
  width: number;
  height: number;
  /** (H*W*3) RGB. */
  rgb: Uint8Array;
  /** (H*W) coverage. */
  alpha: Uint8Array;
}

export class SynthRenderer {
  private readonly pipeline: GPURenderPipeline;
  private readonly ubuf: GPUBuffer;
  private readonly bind: GPUBindGroup;
  private vbuf: GPUBuffer | null = null;
  private ibuf: GPUBuffer | null = null;
  private indexCount = 0;
  private readonly targets = new Map<string, { msaa: GPUTexture; resolve: GPUTexture; depth: GPUTexture }>();
  private readonly colors = new Float32Array(48);

  constructor(
    private readonly gpu: Gpu,
    palette: Palette,
    readonly supersample = 1,
  ) {
    const device = gpu.device;
    const module = device.createShaderModule({ label: 'synth render', code: SHADER });
    this.pipeline = device.createRenderPipeline({
      label: 'synth render',
      layout: 'auto',
      vertex: {
        module,
        entryPoint: 'vs',
        buffers: [
          {
            arrayStride: 40,
            attributes: [
              { shaderLocation: 0, offset: 0, format: 'float32x3' },
              { shaderLocation: 1, offset: 12, format: 'float32x3' },
              { shaderLocation: 2, offset: 24, format: 'float32x3' },
              { shaderLocation: 3, offset: 36, format: 'float32' },
            ],
          },
        ],
      },
      fragment: { module, entryPoint: 'fs', targets: [{ format: 'rgba8unorm' }] },
      primitive: { topology: 'triangle-list', cullMode: 'none' },
      depthStencil: { format: 'depth24plus', depthWriteEnabled: true, depthCompare: 'less' },
      multisample: { count: 4 },
    });
    this.ubuf = device.createBuffer({ size: 64 + 12 * 16, usage: 0x40 | 0x08 });
    this.bind = device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: this.ubuf } }],
    });
    PALETTE_ORDER.forEach((k, i) => this.colors.set([...palette[k], 1], i * 4));
    this.background = palette.background;
  }
  private readonly background: Rgb;

  /** Upload the mesh of the current frame (interleaved vertex buffer + index buffer). */
  setMesh(mesh: ShadedMesh): void {
    const device = this.gpu.device;
    const V = mesh.positions.length / 3;
    const inter = new Float32Array(V * 10);
    for (let v = 0; v < V; v++) {
      for (let c = 0; c < 3; c++) {
        inter[v * 10 + c] = mesh.positions[v * 3 + c]!;
        inter[v * 10 + 3 + c] = mesh.normals[v * 3 + c]!;
        inter[v * 10 + 6 + c] = mesh.tex[v * 3 + c]!;
      }
      inter[v * 10 + 9] = mesh.material[v]!;
    }
    if (!this.vbuf || this.vbuf.size < inter.byteLength) {
      this.vbuf?.destroy();
      this.vbuf = device.createBuffer({ size: inter.byteLength, usage: 0x20 | 0x08 });
    }
    const idxBytes = Math.ceil(mesh.indices.byteLength / 4) * 4;
    if (!this.ibuf || this.ibuf.size < idxBytes) {
      this.ibuf?.destroy();
      this.ibuf = device.createBuffer({ size: idxBytes, usage: 0x10 /* INDEX */ | 0x08 });
    }
    device.queue.writeBuffer(this.vbuf, 0, inter);
    device.queue.writeBuffer(this.ibuf, 0, mesh.indices as Uint32Array<ArrayBuffer>);
    this.indexCount = mesh.indices.length;
  }

  private target(w: number, h: number) {
    const key = `${w}x${h}`;
    let t = this.targets.get(key);
    if (!t) {
      const device = this.gpu.device;
      t = {
        msaa: device.createTexture({ size: [w, h], format: 'rgba8unorm', sampleCount: 4, usage: 0x10 }),
        resolve: device.createTexture({ size: [w, h], format: 'rgba8unorm', usage: 0x10 | 0x01 }),
        depth: device.createTexture({ size: [w, h], format: 'depth24plus', sampleCount: 4, usage: 0x10 }),
      };
      this.targets.set(key, t);
    }
    return t;
  }

  /** Render the current mesh from a camera. */
  async render(cam: Camera): Promise<RenderedView> {
    const device = this.gpu.device;
    const ss = this.supersample;
    const w = cam.width * ss,
      h = cam.height * ss;
    const t = this.target(w, h);
    const u = new Float32Array(16 + 48);
    u.set(clipMatrix(cam, ss), 0);
    u.set(this.colors, 16);
    device.queue.writeBuffer(this.ubuf, 0, u);
    this.gpu.flush();
    const enc = device.createCommandEncoder();
    const bg = this.background;
    const pass = enc.beginRenderPass({
      colorAttachments: [
        {
          view: t.msaa.createView(),
          resolveTarget: t.resolve.createView(),
          clearValue: [bg[0], bg[1], bg[2], 0],
          loadOp: 'clear',
          storeOp: 'discard',
        },
      ],
      depthStencilAttachment: {
        view: t.depth.createView(),
        depthClearValue: 1,
        depthLoadOp: 'clear',
        depthStoreOp: 'discard',
      },
    });
    if (this.vbuf && this.ibuf && this.indexCount) {
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, this.bind);
      pass.setVertexBuffer(0, this.vbuf);
      pass.setIndexBuffer(this.ibuf, 'uint32');
      pass.drawIndexed(this.indexCount);
    }
    pass.end();
    const bytesPerRow = Math.ceil((w * 4) / 256) * 256;
    const rb = device.createBuffer({ size: bytesPerRow * h, usage: 0x01 | 0x08 });
    enc.copyTextureToBuffer({ texture: t.resolve }, { buffer: rb, bytesPerRow, rowsPerImage: h }, [w, h]);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(1);
    const px = new Uint8Array(rb.getMappedRange());
    const W = cam.width,
      H = cam.height;
    const rgb = new Uint8Array(W * H * 3);
    const alpha = new Uint8Array(W * H);
    const inv = 1 / (ss * ss);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let r = 0,
          g = 0,
          b = 0,
          a = 0;
        for (let dy = 0; dy < ss; dy++) {
          let o = (y * ss + dy) * bytesPerRow + x * ss * 4;
          for (let dx = 0; dx < ss; dx++, o += 4) {
            r += px[o]!;
            g += px[o + 1]!;
            b += px[o + 2]!;
            a += px[o + 3]!;
          }
        }
        const i = y * W + x;
        rgb[i * 3] = Math.round(r * inv);
        rgb[i * 3 + 1] = Math.round(g * inv);
        rgb[i * 3 + 2] = Math.round(b * inv);
        alpha[i] = Math.round(a * inv);
      }
    }
    rb.unmap();
    rb.destroy();
    return { width: W, height: H, rgb, alpha };
  }

  dispose(): void {
    this.vbuf?.destroy();
    this.ibuf?.destroy();
    this.ubuf.destroy();
    for (const t of this.targets.values()) {
      t.msaa.destroy();
      t.resolve.destroy();
      t.depth.destroy();
    }
  }
}
