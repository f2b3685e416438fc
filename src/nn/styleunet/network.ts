/**
 * DualStyleUNet on the GPU: a shared encoder over the 3-channel pose map and two StyleGAN2-style decoders (front,
 * back) whose outputs are concatenated along channels, exactly as the reference does. The
 * structure comes from spec.ts; the float64 twin in reference.ts is its oracle.
 */
import { add } from '../../tensor/ops/elementwise.js';
import { concat } from '../../tensor/ops/shape.js';
import { resizeBilinear } from '../../tensor/ops/resize.js';
import { equalLinear, pixelNorm } from '../stylegan/layers.js';
import { Tensor, alias, gpu, scope } from '../../tensor/tensor.js';
import { holdConstantWeights, releaseConstantWeights } from '../../tensor/conv/constant-weights.js';
import { isGradEnabled } from '../../tensor/tape.js';
import { COMB_CONCAT_ORDER, MAPPING_LR_MUL } from './constants.js';
import { initStyleUnetParams } from './init.js';
import { convLayer, derived, downsampleImage, styledConv, toRgb, type ParamLookup } from './layers.js';
import { haarIwt } from '../../tensor/conv/ops.js';
import { styleUnetSpec, type StyleUnetConfig, type StyleUnetSpec } from './spec.js';
import { addUpsampled2x } from './view-add.js';

export class DualStyleUNet {
  readonly spec: StyleUnetSpec;
  /** Every state-dict entry as a persistent tensor (trained parameters require grad; buffers do not). */
  readonly tensors: Map<string, Tensor>;

  private constructor(
    readonly config: StyleUnetConfig,
    values: ReadonlyMap<string, Float32Array>,
  ) {
    this.spec = styleUnetSpec(config);
    this.tensors = new Map();
    const missing: string[] = [];
    for (const e of this.spec.entries) {
      const v = values.get(e.name);
      if (!v) {
        missing.push(e.name);
        continue;
      }
      const size = e.shape.reduce((a, b) => a * b, 1);
      if (v.length !== size) {
        throw new Error(`DualStyleUNet: '${e.name}' has ${v.length} values, expected shape [${e.shape}] (${size})`);
      }
      this.tensors.set(
        e.name,
        Tensor.from(v, e.shape, { persistent: true, requiresGrad: e.kind === 'param', label: e.name }),
      );
    }
    if (missing.length) {
      this.dispose();
      throw new Error(
        `DualStyleUNet: ${missing.length} state-dict entries missing, e.g. ${missing.slice(0, 5).join(', ')}`,
      );
    }
  }

  /** A freshly initialised network (the reference's initialisation), deterministic in `seed`. */
  static init(config: StyleUnetConfig, seed = 1): DualStyleUNet {
    return new DualStyleUNet(config, initStyleUnetParams(styleUnetSpec(config), seed));
  }

  /** A network from state-dict values (names as spec.ts / the reference's checkpoints). */
  static fromStateDict(config: StyleUnetConfig, values: ReadonlyMap<string, Float32Array>): DualStyleUNet {
    return new DualStyleUNet(config, values);
  }

  /** The trained parameters (what the optimiser updates), in state-dict order. */
  parameters(): Tensor[] {
    return this.spec.entries.filter((e) => e.kind === 'param').map((e) => this.tensors.get(e.name)!);
  }

  async stateDict(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const e of this.spec.entries) out.set(e.name, await this.tensors.get(e.name)!.toArray());
    return out;
  }

  dispose(): void {
    this.unfreeze();
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }

  /** Tensors derived from the parameters alone while frozen (see freezeForInference), by key. */
  private frozen: Map<string, Tensor> | null = null;

  /**
   * Inference mode: the tensors that depend only on the parameters (the style MLP, every modulated / demodulated
   * and 1/√fan_in-scaled weight) are computed on the next forward and reused by the following ones, which then
   * run only the per-input work (the tensor-core convolutions also keep their f16 copies of these weights). Forwards must run inside noGrad while frozen. The cache does not see parameter
   * writes: call unfreeze() before training (or freezeForInference() again after changing parameters).
   */
  freezeForInference(): void {
    this.unfreeze();
    this.frozen = new Map();
  }

  /** Leave inference mode, releasing the cached weights. */
  unfreeze(): void {
    if (!this.frozen) return;
    for (const t of this.frozen.values()) {
      releaseConstantWeights(gpu(), t.buffer);
      t.dispose();
    }
    this.frozen = null;
  }

  get isFrozen(): boolean {
    return this.frozen !== null;
  }

  private readonly p: ParamLookup = Object.defineProperty(
    Object.assign(
      (name: string) => {
        const t = this.tensors.get(name);
        if (!t) throw new Error(`DualStyleUNet: no parameter '${name}'`);
        return t;
      },
      {
        derived: (key: string, make: () => Tensor): Tensor => {
          if (!this.frozen) return make();
          let t = this.frozen.get(key);
          if (!t) {
            t = alias(make());
            this.frozen.set(key, t);
            holdConstantWeights(t.buffer); // the conv kernels may keep their f16 copy of it
          }
          return t;
        },
      },
    ),
    // while training, layers must not take the derived path for what the conv can fold in (the weight scale)
    'frozen',
    { get: () => this.frozen !== null },
  );

  /** A view feature checked (the view CNN's output, [n, viewCh, h, w]). */
  private checkView(v: Tensor, n: number): Tensor {
    const { viewCh } = this.spec;
    if (v.rank !== 4 || v.shape[0] !== n || v.shape[1] !== viewCh) {
      throw new Error(
        `DualStyleUNet: view features must be [${n}, ${viewCh}, h, w] (the view CNN's output), got [${v.shape}]`,
      );
    }
    return v;
  }

  /**
   * out + the view feature brought to out's size (bilinear, align_corners false): the features at half the size
   * in one pass where nothing is recorded (view-add.ts, equal to f32 rounding), else resized on the tape and added.
   */
  private addView(out: Tensor, v: Tensor): Tensor {
    const res = out.shape[2]!;
    if (v.shape[2] === res && v.shape[3] === out.shape[3]) return add(out, v);
    return addUpsampled2x(out, v) ?? add(out, resizeBilinear(v, [res, out.shape[3]!]));
  }

  /** The style [1, d]: constant ones/√d → PixelNorm → n_mlp × EqualLinear(lr_mul 0.01) + fused leaky ReLU. */
  style(): Tensor {
    return scope(() => {
      const d = this.config.styleDim;
      let x = pixelNorm(Tensor.full([1, d], 1 / Math.sqrt(d)));
      for (let l = 1; l <= this.config.nMlp; l++) {
        x = equalLinear(x, this.p(`style.${l}.weight`), this.p(`style.${l}.bias`), {
          lrMul: MAPPING_LR_MUL,
          activation: 'fused_lrelu',
        });
      }
      return x;
    });
  }

  /**
   * x [N, inpCh, S, S] → [N, 2·outCh, 2S, 2S] (front then back). `view` holds the view features added to each
   * decoder's features after the 256² level's ToRGB (front and back, [N, viewCh, h, w]): the view CNN gives them
   * at S/4 and they are resized bilinearly (align_corners false) to the level's S/2 on the tape, as the reference
   * does (without gradients to record, resized and added in one pass: view-add.ts); features already at S/2 are
   * added as they are.
   */
  forward(x: Tensor, view?: readonly [Tensor, Tensor]): Tensor {
    const { spec, p } = this;
    const [n, c, h, w] = x.shape as unknown as [number, number, number, number];
    if (n < 1) throw new Error('DualStyleUNet: empty batch');
    const S = this.config.inpSize;
    if (x.rank !== 4 || c !== this.config.inpCh || h !== S || w !== S) {
      throw new Error(`DualStyleUNet: input must be [N, ${this.config.inpCh}, ${S}, ${S}], got [${x.shape}]`);
    }
    if (this.frozen && isGradEnabled()) {
      throw new Error('DualStyleUNet: frozen for inference: run forward inside noGrad, or unfreeze() to train');
    }
    const viewIn = view?.map((v) => this.checkView(v, n));
    const style = derived(p, 'style', () => this.style());
    let feat = convLayer(p, x, 'conv_in', 3, true);
    const conds: Tensor[] = [feat];
    let img = x;
    for (const e of spec.encoder) {
      img = downsampleImage(img);
      feat = convLayer(p, img, `${e.fromRgb}.conv`, 1, false, feat); // feat + FromRGB(img)
      feat = convLayer(p, feat, `${e.condConv}.conv1`, 3, false);
      feat = convLayer(p, feat, `${e.condConv}.conv2`, 3, true);
      conds.push(feat);
    }
    const outputs = spec.decoders.map((dec, di) => {
      let out = convLayer(p, conds[5]!, spec.start.name, 3, false);
      let skip: Tensor | null = null;
      for (const lv of spec.levels) {
        if (lv.comb) {
          const cond = conds[lv.comb.condIndex]!;
          // conv of concat([first, second], 1); without gradients the conv reads both (no concatenated copy)
          const [first, second] = COMB_CONCAT_ORDER === 'out-first' ? [out, cond] : [cond, out];
          out = convLayer(p, first, lv.comb.name, 3, false, undefined, second);
        }
        for (const sc of lv.convs) {
          out = styledConv(p, out, `${dec.convs}.${sc.name}`, style, sc.upsample, p(`noises.noise_${sc.noise}`));
        }
        skip = toRgb(p, out, `${dec.toRgbs}.${lv.toRgb.name}`, style, skip);
        if (viewIn && lv.level === spec.viewLevel) out = this.addView(out, viewIn[di]!);
      }
      return haarIwt(skip!);
    });
    return concat(outputs, 1);
  }
}
