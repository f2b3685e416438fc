/**
 * VGG16's convolutional trunk (torchvision's `features`, up to relu5_3): five blocks of 3×3 convolutions (padding 1)
 * with ReLUs, a 2×2 max pool between blocks. It is the frozen feature extractor of LPIPS, which taps the last ReLU
 * of every block (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3); the fifth block's pool and the classifier are unused.
 * The block widths are a parameter so tests can run the same structure with a few channels.
 */
import { conv2d, maxPool2 } from '../tensor/conv/ops.js';
import { fusedLeakyRelu, Tensor } from '../tensor/index.js';

/** Output channels of the five blocks of VGG16. */
export const VGG16_WIDTHS: readonly number[] = [64, 128, 256, 512, 512];
/** Convolutions per block. */
export const VGG16_BLOCK_CONVS: readonly number[] = [2, 2, 3, 3, 3];

export interface VggConv {
  /** The state-dict name of the weight (`features.<i>.weight`); the bias is `features.<i>.bias`. */
  name: string;
  cin: number;
  cout: number;
  /** The block whose last convolution this is (its ReLU is an LPIPS tap), else -1. */
  tap: number;
}

/**
 * The 13 convolutions in order, named by their index in torchvision's `features` Sequential (each conv is followed
 * by its ReLU, each block by its pool): 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28 for VGG16.
 */
export function vggConvs(widths: readonly number[] = VGG16_WIDTHS): VggConv[] {
  if (widths.length !== VGG16_BLOCK_CONVS.length)
    throw new Error(`vgg: ${VGG16_BLOCK_CONVS.length} block widths needed`);
  const convs: VggConv[] = [];
  let index = 0;
  let cin = 3;
  widths.forEach((cout, block) => {
    const n = VGG16_BLOCK_CONVS[block]!;
    for (let k = 0; k < n; k++) {
      convs.push({ name: `features.${index}`, cin, cout, tap: k === n - 1 ? block : -1 });
      cin = cout;
      index += 2; // conv, ReLU
    }
    index += 1; // max pool
  });
  return convs;
}

/** The state-dict entries the trunk needs: `features.<i>.weight` [Cout, Cin, 3, 3] and `.bias` [Cout]. */
export function vggEntries(widths: readonly number[] = VGG16_WIDTHS): Array<{ name: string; shape: number[] }> {
  return vggConvs(widths).flatMap((c) => [
    { name: `${c.name}.weight`, shape: [c.cout, c.cin, 3, 3] },
    { name: `${c.name}.bias`, shape: [c.cout] },
  ]);
}

/** VGG16's features as tape ops; the weights are frozen (persistent, no gradient), the input gets one. */
export class Vgg16Features {
  private constructor(
    readonly widths: readonly number[],
    private readonly convs: ReadonlyArray<VggConv & { weight: Tensor; bias: Tensor }>,
  ) {}

  /** From state-dict values keyed as in `vggEntries` (shapes are checked by the loader; sizes here). */
  static fromStateDict(values: ReadonlyMap<string, Float32Array>, widths = VGG16_WIDTHS): Vgg16Features {
    const convs = vggConvs(widths).map((c) => {
      const get = (suffix: string, shape: number[]) => {
        const v = values.get(`${c.name}.${suffix}`);
        const n = shape.reduce((a, b) => a * b, 1);
        if (!v || v.length !== n) throw new Error(`vgg: ${c.name}.${suffix} missing or not of shape [${shape}]`);
        return Tensor.from(v, shape, { persistent: true, label: `vgg ${c.name}.${suffix}` });
      };
      return { ...c, weight: get('weight', [c.cout, c.cin, 3, 3]), bias: get('bias', [c.cout]) };
    });
    return new Vgg16Features(widths, convs);
  }

  /** x [N, 3, H, W] (already normalised as the caller's network expects) → the five block taps. */
  forward(x: Tensor): Tensor[] {
    // Memory (LPIPS runs this at 512² inside every training step): the ReLU is the bias + activation of
    // fusedLeakyRelu with slope 0 and gain 1, whose backward reads the output's sign, so each layer keeps one
    // activation for the backward (its output, which the next convolution saves anyway) instead of also the
    // pre-activation that `relu` saves; and each handle is dropped once the next op has read it, so what no backward
    // saved (every pre-activation; under noGrad, every layer but the taps) goes back to the pool at once.
    const taps: Tensor[] = [];
    let h = x;
    const drop = (t: Tensor) => {
      if (t !== x && !taps.includes(t)) t.dispose();
    };
    for (const c of this.convs) {
      if (taps.length > 0 && h === taps[taps.length - 1]) h = maxPool2(h); // a new block starts
      const pre = conv2d(h, c.weight, null, { padding: 1 });
      drop(h);
      h = fusedLeakyRelu(pre, c.bias, 0, 1);
      pre.dispose();
      if (c.tap >= 0) taps.push(h);
    }
    return taps;
  }

  dispose(): void {
    for (const c of this.convs) {
      c.weight.dispose();
      c.bias.dispose();
    }
  }
}
