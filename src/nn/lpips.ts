/**
 * LPIPS v0.1 with VGG16 features (Zhang et al. 2018), the perceptual loss of the avatar's training: both images go
 * through the frozen VGG trunk; at each of the five taps the features are unit-normalised over channels, their
 * squared difference weighted per channel by a learned 1×1 head (no bias), averaged over the pixels, and the five
 * layers summed. Images are RGB in [0, 1] (LPIPS's `normalize=True`: mapped to [−1, 1]), then the scaling layer
 * moves them to the statistics VGG was trained on. Weights come from two files (src/nn/lpips-weights.ts, Node only).
 */
import {
  add,
  biasAdd,
  div,
  mean,
  mul,
  reshape,
  sqrt,
  square,
  sub,
  sum,
  Tensor,
  needsGrad,
  noGrad,
  scope,
} from '../tensor/index.js';
import { Vgg16Features, VGG16_WIDTHS } from './vgg.js';

/** The scaling layer: (x − shift) / scale per RGB channel, on images in [−1, 1]. */
export const LPIPS_SHIFT: readonly number[] = [-0.03, -0.088, -0.188];
export const LPIPS_SCALE: readonly number[] = [0.458, 0.448, 0.45];
/** Added to the channel norm before dividing, as LPIPS does. */
export const LPIPS_EPS = 1e-10;
/**
 * Added under the square root of the channel norm. It changes the norm by at most 1e-15 (far below LPIPS_EPS) but
 * keeps the gradient finite where every channel of a pixel is zero (after the ReLUs this happens), where the plain
 * square root's infinite derivative would give 0·∞ = NaN.
 */
const NORM_FLOOR = 1e-30;

/** The head entries of LPIPS's `vgg.pth`: `lin<k>.model.1.weight` [1, C_k, 1, 1] (Dropout is `model.0`). */
export function lpipsLinEntries(widths: readonly number[] = VGG16_WIDTHS): Array<{ name: string; shape: number[] }> {
  return widths.map((c, k) => ({ name: `lin${k}.model.1.weight`, shape: [1, c, 1, 1] }));
}

/** x / (‖x‖ + eps) with the norm over channels (axis 1), per pixel. */
export function unitNormalize(x: Tensor, eps = LPIPS_EPS): Tensor {
  const norm = sqrt(add(sum(square(x), 1, true), NORM_FLOOR));
  return div(x, add(norm, eps));
}

export class Lpips {
  /** Per-channel affine of the input: [0, 1] → 2x − 1 → scaling layer, as x·a + b. */
  private readonly inScale: Tensor;
  private readonly inShift: Tensor;

  constructor(
    readonly vgg: Vgg16Features,
    private readonly lin: readonly Tensor[],
  ) {
    if (lin.length !== vgg.widths.length) throw new Error(`lpips: ${vgg.widths.length} linear heads needed`);
    this.inScale = Tensor.from(
      LPIPS_SCALE.map((s) => 2 / s),
      [1, 3, 1, 1],
      { persistent: true, label: 'lpips input scale' },
    );
    const shift = LPIPS_SCALE.map((s, c) => (-1 - LPIPS_SHIFT[c]!) / s);
    this.inShift = Tensor.from(shift, [3], { persistent: true, label: 'lpips input shift' });
  }

  /** From the two state dicts' values (keys of `vggEntries` and `lpipsLinEntries`). */
  static fromStateDicts(
    vgg: ReadonlyMap<string, Float32Array>,
    lin: ReadonlyMap<string, Float32Array>,
    widths = VGG16_WIDTHS,
  ): Lpips {
    const heads = lpipsLinEntries(widths).map(({ name, shape }) => {
      const v = lin.get(name);
      if (!v || v.length !== shape[1]) throw new Error(`lpips: ${name} missing or not of shape [${shape}]`);
      return Tensor.from(v, shape, { persistent: true, label: `lpips ${name}` });
    });
    return new Lpips(Vgg16Features.fromStateDict(vgg, widths), heads);
  }

  /**
   * The LPIPS distance per image: pred and target [N, 3, H, W] (or [3, H, W]) RGB in [0, 1] → [N]; gradients reach
   * either input that wants them. H and W ≥ 16 (four 2× pools).
   */
  distance(pred: Tensor, target: Tensor): Tensor {
    const a = pred.rank === 3 ? reshape(pred, [1, ...pred.shape]) : pred;
    const b = target.rank === 3 ? reshape(target, [1, ...target.shape]) : target;
    if (a.rank !== 4 || a.shape[1] !== 3 || a.shape.join() !== b.shape.join()) {
      throw new Error(`lpips: images must both be [N, 3, H, W], got [${pred.shape}] and [${target.shape}]`);
    }
    if (a.shape[2]! < 16 || a.shape[3]! < 16) throw new Error(`lpips: images must be at least 16×16`);
    // The target usually wants no gradient: its VGG pass then records nothing and its activations go at once
    // (a quarter less work than one batch of both, whose backward would also run through the target).
    const targetGrad = needsGrad([b]);
    const fb = targetGrad ? this.features(b) : noGrad(() => scope(() => this.features(b)));
    const fa = scope(() => this.features(a));
    let total: Tensor | null = null;
    fa.forEach((u, k) => {
      // The 1×1 head and the mean over pixels are both linear, so the head is applied to the per-channel means
      // (Σ_c w_c·mean(d_c)): the same value, without a head convolution that would save the tap-sized d for its
      // weight gradient (the heads are frozen) or write its output; only the difference, which square needs, stays.
      const layer = scope(() => {
        const c = u.shape[1]!;
        const d = mean(square(sub(u, fb[k]!)), [2, 3]);
        return sum(mul(d, reshape(this.lin[k]!, [1, c])), 1);
      });
      total = total ? add(total, layer) : layer;
      // nothing saved these normalised taps (sub saves nothing): their memory goes back now, not at the step's end
      u.dispose();
      if (!targetGrad) fb[k]!.dispose();
    });
    return total!;
  }

  /** The five VGG taps of an image in [0, 1], each unit-normalised over channels. */
  private features(img: Tensor): Tensor[] {
    return this.vgg.forward(biasAdd(mul(img, this.inScale), this.inShift)).map((f) => unitNormalize(f));
  }

  dispose(): void {
    this.vgg.dispose();
    for (const t of this.lin) t.dispose();
    this.inScale.dispose();
    this.inShift.dispose();
  }
}
