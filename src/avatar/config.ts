/**
 * AvatarNet's sizes: the pose map the three DualStyleUNets read, the Gaussian maps they write, their channel table
 * and the view-direction CNN. `full` is the published model (512² pose map → 2 × 1024² maps, 223,648,936
 * parameters); `small` keeps the same structure at a quarter of the resolution and a fraction of the channels, so a
 * training step runs on a CPU adapter (tests, the demo).
 */
import { AVATAR_NETS, type AvatarNetName } from '../nn/reference-checkpoint.js';
import { FULL_CHANNELS, type StyleUnetConfig } from '../nn/styleunet/spec.js';

/** The three networks and their output channels per side: position Δ 3, colour 3, [opacity 1 | scale 3 | rotation 4]. */
export const AVATAR_NET_OUT_CH = AVATAR_NETS;
export type AvatarNetKey = AvatarNetName;
export const AVATAR_NET_KEYS = Object.keys(AVATAR_NET_OUT_CH) as AvatarNetKey[];

export interface AvatarNetConfig {
  /** Side of the (front) posed position map the networks read: the U-Net input size S. */
  poseMapSize: number;
  /** Side of each output Gaussian map (front, back): 2·S; the canonical maps have this size per side. */
  mapSize: number;
  /** Channels of the pose map (3: xyz in metres). */
  inpCh: number;
  /** DualStyleUNet channels by resolution; needs every power of two from S/64 up to S. */
  channels: Readonly<Record<number, number>>;
  styleDim: number;
  nMlp: number;
  /** Whether the colour network is conditioned on the view direction (the view CNN exists only then). */
  withViewdirs: boolean;
  /** Channels of the view CNN's first convolution; its output has channels[S/2] (what the decoder adds to). */
  viewdirHidden: number;
}

const full: AvatarNetConfig = {
  poseMapSize: 512,
  mapSize: 1024,
  inpCh: 3,
  channels: FULL_CHANNELS,
  styleDim: 512,
  nMlp: 2,
  withViewdirs: true,
  viewdirHidden: 64,
};

/**
 * A quarter of the resolution and 1/32 to 1/8 of the channels. On lavapipe the
 * step is bound by per-dispatch and per-pixel costs, not channels: with every channel count at 2 it is only ~2×
 * faster than this.
 */
const small: AvatarNetConfig = {
  poseMapSize: 128,
  mapSize: 256,
  inpCh: 3,
  channels: { 2: 16, 4: 16, 8: 16, 16: 16, 32: 8, 64: 4, 128: 4, 256: 4 },
  styleDim: 32,
  nMlp: 2,
  withViewdirs: true,
  viewdirHidden: 8,
};

/**
 * The smallest network of the same structure (a 64² pose map → 2 × 128² maps, 4 channels at every level): smoke
 * tests of whole runs on a CPU adapter (a training step in a fraction of a second), not a useful avatar.
 */
const tiny: AvatarNetConfig = {
  ...small,
  poseMapSize: 64,
  mapSize: 128,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
  styleDim: 8,
  viewdirHidden: 4,
};

export const AVATAR_PRESETS: Readonly<{ full: AvatarNetConfig; small: AvatarNetConfig; tiny: AvatarNetConfig }> = {
  full,
  small,
  tiny,
};
export type AvatarPresetName = keyof typeof AVATAR_PRESETS;

/** The DualStyleUNet configuration of one of the three networks. */
export function avatarNetUnetConfig(config: AvatarNetConfig, net: AvatarNetKey): StyleUnetConfig {
  if (config.mapSize !== 2 * config.poseMapSize) {
    throw new Error(`AvatarNetConfig: mapSize ${config.mapSize} must be 2 × poseMapSize ${config.poseMapSize}`);
  }
  return {
    inpSize: config.poseMapSize,
    inpCh: config.inpCh,
    outSize: config.mapSize,
    outCh: AVATAR_NET_OUT_CH[net],
    styleDim: config.styleDim,
    nMlp: config.nMlp,
    channels: config.channels,
  };
}

/** Output channels of the view CNN: the channels of the decoder level it is added to (S/2). */
export function viewdirOutChannels(config: AvatarNetConfig): number {
  const c = config.channels[config.poseMapSize / 2];
  if (c === undefined) {
    throw new Error(`AvatarNetConfig: the channel table has no entry for ${config.poseMapSize / 2} (poseMapSize / 2)`);
  }
  return c;
}
