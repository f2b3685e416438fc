/**
 * The DualStyleUNet's structure as data: every level, layer and state-dict entry (name, shape, trained or fixed
 * buffer), derived from the sizes and the channel table exactly as the reference builds it
 * (with the original checkpoint's key names). The network code and the checkpoint importer
 * both walk this, so names and shapes are defined once.
 *
 * Layout (S = inpSize, e.g. 512; L = log2(outSize) − 1 levels of convolution, the last at outSize/2):
 *   encoder: conv_in (3×3 downsample, inCh → ch[S/2]); 5 steps i: image blur-downsampled, + from_rgbs[i] (1×1),
 *            cond_convs[i] (3×3, then 3×3 downsample) → skips cond[0..5] at S/2 … S/64
 *   decoders (front: convs1/to_rgbs1, back: convs2/to_rgbs2): out = comb_convs[5](cond[5]); level l = 0..5 at
 *            resolution S/32·2^l: (l ≥ 1: concat cond[5−l], comb_convs[5−l]) → StyledConv up → StyledConv → ToRGB
 *            (4·outCh Haar sub-bands, skip from the previous level through IWT → 2× upsample → DWT); the view
 *            feature is added after level 4's ToRGB; the final skip goes through `iwt` to outCh at outSize.
 */
export interface StyleUnetConfig {
  inpSize: number;
  inpCh: number;
  outSize: number;
  outCh: number;
  styleDim: number;
  nMlp: number;
  /** Channels by resolution (the reference's {4: 512, …, 512: 64, 1024: 32} at channel_multiplier 2). */
  channels: Readonly<Record<number, number>>;
}

export const FULL_CHANNELS: Readonly<Record<number, number>> = {
  4: 512,
  8: 512,
  16: 512,
  32: 512,
  64: 512,
  128: 256,
  256: 128,
  512: 64,
  1024: 32,
};

/** The configuration of the three networks of AvatarNet (out_ch 3 for position and color, 8 for the rest). */
export function avatarUnetConfig(outCh: number): StyleUnetConfig {
  return { inpSize: 512, inpCh: 3, outSize: 1024, outCh, styleDim: 512, nMlp: 2, channels: FULL_CHANNELS };
}

export interface ParamEntry {
  name: string;
  shape: number[];
  /** 'param': trained; 'buffer': fixed (blur kernels, Haar filters, noise images). */
  kind: 'param' | 'buffer';
}

export interface StyledConvSpec {
  name: string; // e.g. 'convs1.3'
  inCh: number;
  outCh: number;
  upsample: boolean;
  /** Resolution of the output. */
  res: number;
  noise: number; // index into noises
}

export interface ToRgbSpec {
  name: string;
  inCh: number;
  res: number;
  /** Whether a skip from the previous level is added (all levels but the first). */
  hasSkip: boolean;
}

export interface EncoderStepSpec {
  fromRgb: string;
  condConv: string;
  inCh: number;
  outCh: number;
  /** Resolution of the features entering the step (the skip it produces is at res/2). */
  res: number;
}

export interface LevelSpec {
  level: number;
  res: number;
  /** Comb conv applied to concat(out, cond[condIndex]) before the level (levels ≥ 1). */
  comb: { name: string; inCh: number; outCh: number; condIndex: number } | null;
  convs: [StyledConvSpec, StyledConvSpec];
  toRgb: ToRgbSpec;
}

export interface StyleUnetSpec {
  config: StyleUnetConfig;
  /** ch[S/2]: channels of conv_in's output. */
  convIn: { inCh: number; outCh: number; res: number };
  encoder: EncoderStepSpec[];
  /** Channels and resolution of each skip cond[0..5]. */
  conds: Array<{ ch: number; res: number }>;
  start: { name: string; ch: number; res: number };
  /** Levels of one decoder; `decoders` gives the two name prefixes. */
  levels: LevelSpec[];
  decoders: [{ convs: 'convs1'; toRgbs: 'to_rgbs1' }, { convs: 'convs2'; toRgbs: 'to_rgbs2' }];
  noiseRes: number[];
  /** Level after whose ToRGB the view feature is added (the 256² level at full size). */
  viewLevel: number;
  /** Channels the view feature must have there. */
  viewCh: number;
  /** Every state-dict entry of one network, in the reference's order. */
  entries: ParamEntry[];
}

const ENCODER_STEPS = 5;
const LEVELS = 6;

export function styleUnetSpec(config: StyleUnetConfig): StyleUnetSpec {
  const { inpSize: S, inpCh, outCh, styleDim, nMlp } = config;
  const ch = (res: number): number => {
    const c = config.channels[res];
    if (c === undefined) throw new Error(`DualStyleUNet: the channel table has no entry for resolution ${res}`);
    return c;
  };
  if (config.outSize !== 2 * S) throw new Error(`DualStyleUNet: outSize ${config.outSize} must be 2 × inpSize ${S}`);
  if (S / 64 < 1 || !Number.isInteger(Math.log2(S))) throw new Error(`DualStyleUNet: inpSize ${S} must be 2^k ≥ 64`);

  const entries: ParamEntry[] = [];
  const param = (name: string, ...shape: number[]) => entries.push({ name, shape, kind: 'param' });
  const buffer = (name: string, ...shape: number[]) => entries.push({ name, shape, kind: 'buffer' });

  for (let i = 1; i <= nMlp; i++) {
    param(`style.${i}.weight`, styleDim, styleDim);
    param(`style.${i}.bias`, styleDim);
  }

  // Skips: cond[0] = conv_in output at S/2, cond[i+1] = output of encoder step i at S/2^(i+2).
  const conds = Array.from({ length: ENCODER_STEPS + 1 }, (_, i) => ({ ch: ch(S >> (i + 1)), res: S >> (i + 1) }));
  const levels: LevelSpec[] = [];
  const noiseRes: number[] = [];
  for (let l = 0; l < LEVELS; l++) {
    const res = S >> (LEVELS - 1 - l); // 16 … 512 at S = 512
    const inRes = res / 2;
    const inCh = ch(inRes);
    const c = ch(res);
    const comb = l === 0 ? null : { name: `comb_convs.${5 - l}`, inCh: 2 * inCh, outCh: inCh, condIndex: 5 - l };
    noiseRes.push(res, res);
    levels.push({
      level: l,
      res,
      comb,
      convs: [
        { name: `${2 * l}`, inCh, outCh: c, upsample: true, res, noise: 2 * l },
        { name: `${2 * l + 1}`, inCh: c, outCh: c, upsample: false, res, noise: 2 * l + 1 },
      ],
      toRgb: { name: `${l}`, inCh: c, res, hasSkip: l > 0 },
    });
  }

  // comb_convs in index order 0..5: index 5 − l for levels 1..5, index 5 for the start.
  const combs = [...levels.slice(1).map((lv) => lv.comb!)].sort((a, b) => a.name.localeCompare(b.name));
  for (const cb of combs) {
    param(`${cb.name}.0.weight`, cb.outCh, cb.inCh, 3, 3);
    param(`${cb.name}.1.bias`, cb.outCh);
  }
  const startCh = conds[5]!.ch;
  param('comb_convs.5.0.weight', startCh, startCh, 3, 3);
  param('comb_convs.5.1.bias', startCh);

  const encoder: EncoderStepSpec[] = [];
  for (let i = 0; i < ENCODER_STEPS; i++) {
    const res = S >> (i + 1);
    encoder.push({ fromRgb: `from_rgbs.${i}`, condConv: `cond_convs.${i}`, inCh: ch(res), outCh: ch(res / 2), res });
  }
  for (const e of encoder) {
    buffer(`${e.fromRgb}.downsample.kernel`, 4, 4);
    param(`${e.fromRgb}.conv.0.weight`, e.inCh, inpCh, 1, 1);
    param(`${e.fromRgb}.conv.1.bias`, e.inCh);
  }
  for (const e of encoder) {
    param(`${e.condConv}.conv1.0.weight`, e.inCh, e.inCh, 3, 3);
    param(`${e.condConv}.conv1.1.bias`, e.inCh);
    buffer(`${e.condConv}.conv2.0.kernel`, 4, 4);
    param(`${e.condConv}.conv2.1.weight`, e.outCh, e.inCh, 3, 3);
    param(`${e.condConv}.conv2.2.bias`, e.outCh);
  }
  buffer('conv_in.0.kernel', 4, 4);
  param('conv_in.1.weight', conds[0]!.ch, inpCh, 3, 3);
  param('conv_in.2.bias', conds[0]!.ch);

  const rgbCh = 4 * outCh;
  for (const convs of ['convs1', 'convs2']) {
    for (const lv of levels) {
      for (const sc of lv.convs) {
        const n = `${convs}.${sc.name}`;
        param(`${n}.conv.weight`, 1, sc.outCh, sc.inCh, 3, 3);
        if (sc.upsample) buffer(`${n}.conv.blur.kernel`, 4, 4);
        param(`${n}.conv.modulation.weight`, sc.inCh, styleDim);
        param(`${n}.conv.modulation.bias`, sc.inCh);
        param(`${n}.noise.weight`, 1);
        param(`${n}.activate.bias`, sc.outCh);
      }
    }
  }
  for (const toRgbs of ['to_rgbs1', 'to_rgbs2']) {
    for (const lv of levels) {
      const n = `${toRgbs}.${lv.toRgb.name}`;
      param(`${n}.bias`, 1, rgbCh, 1, 1);
      buffer(`${n}.upsample.kernel`, 4, 4);
      for (const t of ['iwt', 'dwt']) for (const f of ['ll', 'lh', 'hl', 'hh']) buffer(`${n}.${t}.${f}`, 2, 2);
      param(`${n}.conv.weight`, 1, rgbCh, lv.toRgb.inCh, 1, 1);
      param(`${n}.conv.modulation.weight`, lv.toRgb.inCh, styleDim);
      param(`${n}.conv.modulation.bias`, lv.toRgb.inCh);
    }
  }
  noiseRes.forEach((r, i) => buffer(`noises.noise_${i}`, 1, 1, r, r));
  for (const f of ['ll', 'lh', 'hl', 'hh']) buffer(`iwt.${f}`, 2, 2);

  return {
    config,
    convIn: { inCh: inpCh, outCh: conds[0]!.ch, res: S / 2 },
    encoder,
    conds,
    start: { name: 'comb_convs.5', ch: startCh, res: conds[5]!.res },
    levels,
    decoders: [
      { convs: 'convs1', toRgbs: 'to_rgbs1' },
      { convs: 'convs2', toRgbs: 'to_rgbs2' },
    ],
    noiseRes,
    viewLevel: 4,
    viewCh: ch(S / 2),
    entries,
  };
}

/** Number of trained parameters (what the reference prints). */
export function parameterCount(spec: StyleUnetSpec): number {
  return spec.entries.filter((e) => e.kind === 'param').reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
}
