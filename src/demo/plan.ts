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
  /** Animation: side of the square orbiting view; every `animationStep`-th of the held-out motion's first
   * `animationFrames` poses (≤ testFrames), played at `fps`. */
  animationSize: number;
  animationFrames: number;
  animationStep: number;
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
 * 128² Gaussian maps: 4,308 Gaussians on the synthetic body) with 4 channels per level. A training step at 256²
 * takes about a second on lavapipe (2 cores); the 'small' preset (128² pose maps, 4–16 channels) takes 4–5 s.
 * 8 channels at the fine levels cost ~40% more per step and scored the same after 150 steps (20.3 against
 * 20.2 dB on the held-out views).
 */
export const DEMO_NET: AvatarNetConfig = {
  poseMapSize: 64,
  mapSize: 128,
  inpCh: 3,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 4, 32: 4, 64: 4 },
  styleDim: 8,
  nMlp: 2,
  withViewdirs: true,
  viewdirHidden: 4,
};

/** The plan for a CPU adapter: the whole demo in about ten minutes on 2 cores. */
export function cpuPlan(minutes = 6): DemoPlan {
  const frames = 32;
  // frames 3, 7, 11, ... are held out (poses between training poses, never seen); every other one is scored
  const heldOut = everyKth(frames, 4, 3);
  return {
    kind: 'cpu',
    // 256² rather than 128²: the loss ignores a 4-pixel band around the silhouette, which at 128² covers 43% of
    // the subject (arms and legs almost entirely), at 256² 23%; the step costs ~30% more and learns much faster
    capture: { cameras: 8, camerasAbove: 2, width: 256, height: 256, frames, testFrames: 96, supersample: 1, seed: 1 },
    // a ring of 6 at chest height (cam00–cam05) and 2 above (cam06, cam07): cam02 and cam07 are held out
    trainCams: [0, 1, 3, 4, 5, 6],
    evalCams: [2, 7],
    trainFrames: Array.from({ length: frames }, (_, f) => f).filter((f) => !heldOut.includes(f)),
    evalFrames: heldOut.filter((_, i) => i % 2 === 0),
    mapSize: DEMO_NET.mapSize,
    pcaComponents: 16,
    net: DEMO_NET,
    netName: 'demo (64² pose maps, 4 channels)',
    pretrainSteps: 30,
    trainSteps: 250,
    minutes,
    lr: 3e-3,
    checkpointEvery: 25,
    previewEvery: 50,
    animationSize: 256,
    animationFrames: 96,
    animationStep: 2,
    fps: 15,
    lpips: false,
  };
}

/** The plan for a GPU: the full preset (the reference's sizes) on a larger capture, trained for a fixed time. */
export function gpuPlan(minutes = 10): DemoPlan {
  // 60 frames: prep writes a 1024×2048 float posed map per frame (24 MB each)
  const frames = 60;
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
    animationStep: 1,
    fps: 30,
    lpips: true,
  };
}

export function demoPlan(kind: 'cpu' | 'gpu', minutes?: number): DemoPlan {
  return kind === 'cpu' ? cpuPlan(minutes) : gpuPlan(minutes);
}
