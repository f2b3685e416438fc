/**
 * The template's networks: an SDF MLP over the positional encoding of canonical xyz
 * (IDR-style geometric init to a sphere, softplus β = 100, the input concatenated again at a middle layer) whose
 * output is 1 SDF value + a feature vector, and a colour MLP from the features to RGB (ReLU, sigmoid output; no view
 * direction).
 * Weight normalisation is left out (plain weights; it changes the optimisation's parameterisation, not the model).
 * The positional encoding runs on the GPU (`encodePoints`: xyz goes up, 12 bytes a point instead of 4·width);
 * `positionalEncoding` is its float64 CPU reference.
 */
import {
  cachedKernel,
  concat,
  dispatch1d,
  main1d,
  mapNew,
  matmul,
  params,
  record,
  relu,
  sigmoid,
  slice,
  Tensor,
} from '../../tensor/index.js';

export interface TemplateNetConfig {
  /** Positional-encoding frequencies (reference: 6 → 39 inputs). */
  multires: number;
  /** Hidden widths of the SDF MLP (reference: [512, 256, 256, 256, 256, 256]). */
  sdfHidden: number[];
  /** Layer index (into sdfHidden) whose input is concatenated with the encoding again (reference: 4; -1 = none). */
  skipAt: number;
  /** Feature width (reference: 256). */
  features: number;
  /** Hidden widths of the colour MLP (reference: [256, 256, 256]). */
  colorHidden: number[];
  /** Radius of the initial sphere (reference: 0.7). */
  initRadius: number;
}

export const REFERENCE_TEMPLATE_NET: TemplateNetConfig = {
  multires: 6,
  sdfHidden: [512, 256, 256, 256, 256, 256],
  skipAt: 4,
  features: 256,
  colorHidden: [256, 256, 256],
  initRadius: 0.7,
};

export const SOFTPLUS_BETA = 100;

/** softplus_β(x) = log(1 + exp(βx))/β, with its gradient sigmoid(βx). */
export function softplus(x: Tensor, beta = SOFTPLUS_BETA): Tensor {
  const y = mapNew(
    'template-softplus',
    ['x'],
    '(max(x * ka, T(0.0)) + log(T(1.0) + exp(-abs(x * ka)))) / T(ka)',
    [x],
    [beta],
  );
  return record({
    name: 'softplus',
    inputs: [x],
    output: y,
    save: [x],
    backward: (g, [xs]) => [
      mapNew('template-softplus:grad', ['g', 'x'], 'g / (T(1.0) + exp(-x * ka))', [g, xs!], [beta]),
    ],
  });
}

/** Inputs per point of the encoding: xyz, then sin and cos of 2^k·xyz for k < multires. */
export function encodingWidth(multires: number): number {
  return 3 + 6 * multires;
}

/** The positional encoding of points (N·3), relative to `center`, as (N × width) float32. */
export function positionalEncoding(
  points: ArrayLike<number>,
  center: ArrayLike<number>,
  multires: number,
): Float32Array {
  const N = points.length / 3;
  const D = encodingWidth(multires);
  const out = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    const o = n * D;
    for (let c = 0; c < 3; c++) out[o + c] = points[3 * n + c]! - center[c]!;
    for (let k = 0; k < multires; k++) {
      const f = 2 ** k;
      for (let c = 0; c < 3; c++) {
        const v = f * out[o + c]!;
        out[o + 3 + 6 * k + c] = Math.sin(v);
        out[o + 6 + 6 * k + c] = Math.cos(v);
      }
    }
  }
  return out;
}

/**
 * The kernel of `encodePoints`: output element i = (point p, column j) of [N, 3 + 6·multires]; the argument
 * 2^k·x is exact in float32 (as the CPU reference's, which encodes the float32 x), reduced to [−π, π] by Cody–Waite
 * (2π = 6.28125 + 0.0019353…; |2^k·x| stays far below the range where the one-step reduction loses bits) before
 * sin/cos, whose accuracy WGSL only bounds on [−π, π].
 */
function encodeKernel(multires: number) {
  const D = encodingWidth(multires);
  return cachedKernel(
    `template-encode-${multires}`,
    () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { n: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let p = i / ${D}u;
  let j = i % ${D}u;
  if (j < 3u) {
    Y[i] = X[3u * p + j];
    return;
  }
  let q = j - 3u;
  let r = q % 6u;
  let a = X[3u * p + r % 3u] * f32(1u << (q / 6u));
  let m = round(a * 0.15915494309189535);
  let t = (a - m * 6.28125) - m * 0.0019353071795864769;
  Y[i] = select(cos(t), sin(t), r < 3u);
}`,
  );
}

/**
 * The positional encoding of points (N·3, relative to `center`) on the GPU, as an [N, width] tensor: the same
 * float32 differences as `positionalEncoding` go up, the kernel does the sines and cosines.
 */
export function encodePoints(points: ArrayLike<number>, center: ArrayLike<number>, multires: number): Tensor {
  const N = points.length / 3;
  const D = encodingWidth(multires);
  const xyz = new Float32Array(N * 3);
  const c0 = center[0]!,
    c1 = center[1]!,
    c2 = center[2]!;
  for (let n = 0; n < N; n++) {
    xyz[3 * n] = points[3 * n]! - c0;
    xyz[3 * n + 1] = points[3 * n + 1]! - c1;
    xyz[3 * n + 2] = points[3 * n + 2]! - c2;
  }
  const x = Tensor.from(xyz, [N, 3]);
  const y = Tensor.empty([N, D]);
  dispatch1d(encodeKernel(multires), [x.buffer, y.buffer], N * D, params(N * D));
  return y;
}

export interface Linear {
  name: string;
  weight: Tensor; // [out, in]
  bias: Tensor; // [out]
}

/** Box-Muller normals from a uniform generator. */
function normals(n: number, rng: () => number, mean: number, std: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12)));
    const t = 2 * Math.PI * rng();
    a[i] = mean + std * r * Math.cos(t);
    if (i + 1 < n) a[i + 1] = mean + std * r * Math.sin(t);
  }
  return a;
}

export class TemplateNet {
  readonly sdf: Linear[] = [];
  readonly color: Linear[] = [];
  readonly inputWidth: number;

  private constructor(readonly config: TemplateNetConfig) {
    this.inputWidth = encodingWidth(config.multires);
  }

  /** A new network with the geometric initialisation (SDF ≈ ‖x‖ − r) and default-initialised colour layers. */
  static create(config: TemplateNetConfig, rng: () => number): TemplateNet {
    const net = new TemplateNet(config);
    const D = net.inputWidth;
    const dims = [D, ...config.sdfHidden, 1 + config.features];
    for (let l = 0; l + 1 < dims.length; l++) {
      const inW = dims[l]! + (l === config.skipAt ? D : 0);
      const outW = dims[l + 1]!;
      const last = l + 2 === dims.length;
      let w: Float32Array;
      const b = new Float32Array(outW);
      if (last) {
        w = normals(outW * inW, rng, Math.sqrt(Math.PI) / Math.sqrt(inW), 1e-4);
        b[0] = -config.initRadius;
      } else {
        w = normals(outW * inW, rng, 0, Math.sqrt(2) / Math.sqrt(outW));
        // the encoding's sin/cos inputs start at zero weight (first layer, and the skip's concatenated copy)
        const encStart = l === 0 ? 0 : l === config.skipAt ? dims[l]! : -1;
        if (encStart >= 0)
          for (let o = 0; o < outW; o++) for (let i = encStart + 3; i < encStart + D; i++) w[o * inW + i] = 0;
      }
      net.sdf.push({
        name: `sdf.${l}`,
        weight: Tensor.from(w, [outW, inW], { requiresGrad: true, persistent: true }),
        bias: Tensor.from(b, [outW], { requiresGrad: true, persistent: true }),
      });
    }
    const cdims = [config.features, ...config.colorHidden, 3];
    for (let l = 0; l + 1 < cdims.length; l++) {
      const inW = cdims[l]!,
        outW = cdims[l + 1]!;
      const bound = 1 / Math.sqrt(inW); // PyTorch's nn.Linear default (uniform ±1/√in)
      const w = new Float32Array(outW * inW);
      for (let i = 0; i < w.length; i++) w[i] = (2 * rng() - 1) * bound;
      const b = new Float32Array(outW);
      for (let i = 0; i < outW; i++) b[i] = (2 * rng() - 1) * bound;
      net.color.push({
        name: `color.${l}`,
        weight: Tensor.from(w, [outW, inW], { requiresGrad: true, persistent: true }),
        bias: Tensor.from(b, [outW], { requiresGrad: true, persistent: true }),
      });
    }
    return net;
  }

  /** Every parameter by name (`sdf.<l>.weight`, ..., `color.<l>.bias`). */
  parameters(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    for (const L of [...this.sdf, ...this.color]) {
      m.set(`${L.name}.weight`, L.weight);
      m.set(`${L.name}.bias`, L.bias);
    }
    return m;
  }

  /** SDF MLP on encoded points [N, D] → [N, 1 + features] (column 0 = SDF). */
  sdfForward(x: Tensor): Tensor {
    let h = x;
    this.sdf.forEach((L, l) => {
      if (l === this.config.skipAt) h = concat([h, x], 1);
      h = matmul(h, L.weight, { transB: true, bias: L.bias });
      if (l + 1 < this.sdf.length) h = softplus(h);
    });
    return h;
  }

  /** Colour MLP on features [N, F] → RGB [N, 3] in (0, 1). */
  colorForward(features: Tensor): Tensor {
    let h = features;
    this.color.forEach((L, l) => {
      h = matmul(h, L.weight, { transB: true, bias: L.bias });
      h = l + 1 < this.color.length ? relu(h) : sigmoid(h);
    });
    return h;
  }

  /** SDF column and features of an [N, 1 + F] output. */
  split(out: Tensor): { sdf: Tensor; features: Tensor } {
    return { sdf: slice(out, 1, 0, 1), features: slice(out, 1, 1, out.shape[1]!) };
  }

  dispose(): void {
    for (const t of this.parameters().values()) t.dispose();
  }
}
