/**
 * What `animgs demo` makes, and at which sizes: a synthetic subject (cameras, image size, frames; which cameras and
 * frames are held out of training), its canonical maps, the avatar's network sizes, the training budget, the
 * animation and the evaluation. Two plans: one a CPU adapter (lavapipe, 2 cores) runs end to end in about ten
 * minutes, and one for a GPU, which trains the full preset for a fixed time. Tests shrink the CPU plan further.
 */
import { AVATAR_PRESETS, type AvatarNetConfig } from '../avatar/config.js';

export interface DemoCapturePlan {
  cameras: number;
  /** Cameras on the upper ring (the rest on the chest-height ring). */
  camerasAbove: number;
  width: number;
  height: number;
  /** Frames of the training motion (smpl_params.npz); some are held out of training. */
  frames: number;
  /** Frames of the held-out motion (poses_test.npz) the animation plays. */
  testFrames: number;
  supersample: number;
  seed: number;
}

export interface DemoPlan {
  /** 'cpu': a software adapter; 'gpu': a real one. */
  kind: 'cpu' | 'gpu';
  capture: DemoCapturePlan;
  /** Calibration indices of the cameras training sees; the others are held out. */
  trainCams: number[];
  /** Held-out cameras the evaluation scores. */
  evalCams: number[];
  /** Frames training sees; the others are held out. */
  trainFrames: number[];
  /** Held-out frames the evaluation scores. */
  evalFrames: number[];
  /** Canonical map side (the networks' output maps; 2 × the pose map side). */
  mapSize: number;
  /** Pose PCA components (fitted on the training frames; the animation projects the held-out motion onto it). */
  pcaComponents: number;
  /** The avatar's network sizes. */
  net: AvatarNetConfig;
  /** Name of the sizes, for messages ('demo' or a preset's). */
  netName: string;
  pretrainSteps: number;
  /** Main training steps (the learning rate decays over them); the time budget may stop training earlier. */
  trainSteps: number;
  /** Training time budget in minutes (pretraining included). */
  minutes: number;
  lr: number;
  /** Checkpoint every this many steps (what an interrupted demo resumes from). */
  checkpointEvery: number;
  /** Held-out preview (PSNR of a held-out frame and camera) every this many steps. */
  previewEvery: number;
  /** Animation: side of the square orbiting view, and frames of the held-out motion played (≤ testFrames). */
  animationSize: number;
  animationFrames: number;
  fps: number;
  /** Score LPIPS when its weights are on this machine (slow on a CPU adapter: off there). */
  lpips: boolean;
}

/** Every `k`-th frame (offset `at`) of `0..n-1`. */
function everyKth(n: number, k: number, at: number): number[] {
  return Array.from({ length: n }, (_, f) => f).filter((f) => f % k === at);
}

/**
 * The demo's network sizes on a CPU adapter: the DualStyleUNets at the smallest input they allow (64² pose maps,
 * 128² Gaussian maps, ~10k Gaussians) with a few channels. A step costs about a second on lavapipe (2 cores); the
 * 'small' preset (128² pose maps) takes 4–5 s.
 */
export const DEMO_NET: AvatarNetConfig = {
  poseMapSize: 64,
  mapSize: 128,
  inpCh: 3,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 8, 32: 8, 64: 8 },
  styleDim: 8,
  nMlp: 2,
  withViewdirs: true,
  viewdirHidden: 4,
};

/** The plan for a CPU adapter: the whole demo in about ten minutes on 2 cores. */
export function cpuPlan(minutes = 5): DemoPlan {
  const frames = 32;
  // frames 3, 7, 11, ... are held out (poses between training poses, never seen); every other one is scored
  const heldOut = everyKth(frames, 4, 3);
  return {
    kind: 'cpu',
    capture: { cameras: 8, camerasAbove: 2, width: 128, height: 128, frames, testFrames: 48, supersample: 2, seed: 1 },
    // a ring of 6 at chest height (cam00–cam05) and 2 above (cam06, cam07): cam02 and cam07 are held out
    trainCams: [0, 1, 3, 4, 5, 6],
    evalCams: [2, 7],
    trainFrames: Array.from({ length: frames }, (_, f) => f).filter((f) => !heldOut.includes(f)),
    evalFrames: heldOut.filter((_, i) => i % 2 === 0),
    mapSize: DEMO_NET.mapSize,
    pcaComponents: 16,
    net: DEMO_NET,
    netName: 'demo (64² pose maps, 4–8 channels)',
    pretrainSteps: 50,
    trainSteps: 300,
    minutes,
    lr: 3e-3,
    checkpointEvery: 25,
    previewEvery: 50,
    animationSize: 256,
    animationFrames: 48,
    fps: 30,
    lpips: false,
  };
}

/** The plan for a GPU: the full preset (the reference's sizes) on a larger capture, trained for a fixed time. */
export function gpuPlan(minutes = 10): DemoPlan {
  const frames = 100;
  const heldOut = everyKth(frames, 4, 3);
  return {
    kind: 'gpu',
    capture: {
      cameras: 12,
      camerasAbove: 3,
      width: 1024,
      height: 1024,
      frames,
      testFrames: 150,
      supersample: 2,
      seed: 1,
    },
    trainCams: [0, 1, 2, 4, 5, 6, 7, 8, 9, 10],
    evalCams: [3, 11],
    trainFrames: Array.from({ length: frames }, (_, f) => f).filter((f) => !heldOut.includes(f)),
    evalFrames: heldOut.filter((_, i) => i % 3 === 0),
    mapSize: AVATAR_PRESETS.full.mapSize,
    pcaComponents: 20,
    net: AVATAR_PRESETS.full,
    netName: 'full (the reference: 512² pose maps)',
    pretrainSteps: 300,
    trainSteps: 100_000,
    minutes,
    lr: 5e-4,
    checkpointEvery: 500,
    previewEvery: 500,
    animationSize: 1024,
    animationFrames: 150,
    fps: 30,
    lpips: true,
  };
}

export function demoPlan(kind: 'cpu' | 'gpu', minutes?: number): DemoPlan {
  return kind === 'cpu' ? cpuPlan(minutes) : gpuPlan(minutes);
}
