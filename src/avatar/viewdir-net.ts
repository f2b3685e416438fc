/**
 * The view-direction CNN of the colour network: Conv2d(1→hidden, 4, stride 2, pad 1) → LeakyReLU(0.2) →
 * Conv2d(hidden→out, 4, stride 2, pad 1). It reads a map of view cosines (one per Gaussian pixel, at the pose map's
 * size S) and gives features at S/4, which the colour DualStyleUNet resizes and adds to its decoders. Front and
 * back share these weights, so both run as one batch of two.
 */
import { viewdirEntries } from '../nn/reference-checkpoint.js';
import { gaussianSampler } from '../nn/styleunet/init.js';
import { conv2d } from '../tensor/conv/ops.js';
import { leakyRelu } from '../tensor/ops/elementwise.js';
import { Tensor } from '../tensor/tensor.js';

export const VIEWDIR_SLOPE = 0.2;

export class ViewdirNet {
  /** Weights by their state-dict names (viewdir_net.0.weight, .0.bias, .2.weight, .2.bias). */
  readonly tensors = new Map<string, Tensor>();

  private constructor(
    readonly hidden: number,
    readonly out: number,
    values: ReadonlyMap<string, ArrayLike<number>>,
  ) {
    for (const e of viewdirEntries(hidden, out)) {
      const v = values.get(e.name);
      const size = e.shape.reduce((a, b) => a * b, 1);
      if (!v || v.length !== size) {
        this.dispose();
        throw new Error(
          `ViewdirNet: '${e.name}' ${v ? `has ${v.length} values` : 'is missing'}, expected [${e.shape}]`,
        );
      }
      this.tensors.set(
        e.name,
        Tensor.from(Float32Array.from(v), e.shape, { persistent: true, requiresGrad: true, label: e.name }),
      );
    }
  }

  /**
   * PyTorch's default Conv2d initialisation has weights and biases uniform in ±1/√fan_in; we draw normals of the
   * same variance (1/(3·fan_in)) from the seeded sampler the DualStyleUNets use.
   */
  static init(hidden: number, out: number, seed = 1): ViewdirNet {
    const randn = gaussianSampler(seed);
    const values = new Map<string, Float32Array>();
    for (const e of viewdirEntries(hidden, out)) {
      const fanIn = (e.name.startsWith('viewdir_net.0.') ? 1 : hidden) * 16;
      const std = 1 / Math.sqrt(3 * fanIn);
      const size = e.shape.reduce((a, b) => a * b, 1);
      values.set(
        e.name,
        Float32Array.from({ length: size }, () => randn() * std),
      );
    }
    return new ViewdirNet(hidden, out, values);
  }

  static fromStateDict(hidden: number, out: number, values: ReadonlyMap<string, ArrayLike<number>>): ViewdirNet {
    return new ViewdirNet(hidden, out, values);
  }

  parameters(): Tensor[] {
    return [...this.tensors.values()];
  }

  /** x [B, 1, S, S] → [B, out, S/4, S/4]. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== 1) throw new Error(`ViewdirNet: input must be [B, 1, S, S], got [${x.shape}]`);
    const p = (name: string) => this.tensors.get(`viewdir_net.${name}`)!;
    const h = leakyRelu(conv2d(x, p('0.weight'), p('0.bias'), { stride: 2, padding: 1 }), VIEWDIR_SLOPE);
    return conv2d(h, p('2.weight'), p('2.bias'), { stride: 2, padding: 1 });
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
