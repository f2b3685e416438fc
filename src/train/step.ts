/**
 * One training step on the GPU, recorded once and replayed (Gpu.capture): the step's inputs (pose map, joint
 * matrices, camera position and noise seed, the photo's bytes and pixel classes, background, LPIPS window) live in
 * persistent tensors the loop uploads before each replay; the step itself is pose map → AvatarNet (three
 * DualStyleUNets + view CNN) → Gaussians → skinning → splatting → losses → backward → Adam, with nothing read back.
 * Its loss components land in a small tensor the loop reads when it logs.
 *
 * Two kinds of step: 'pretrain' teaches the networks to reproduce the canonical base values (L1 of positions,
 * opacities, scales and rotations against them; and, ours, colours towards mid-grey; no rendering), 'train' is the main loss
 * l1·L1 + lpips·LPIPS(crop) + offset·mean‖Δposition‖ (or, without the LPIPS weights, L1 + 0.2·D-SSIM in its place).
 */
import type { Replay } from '../gpu/capture.js';
import { blendJointMatrices } from '../avatar/skinning.js';
import { createViewParams, uploadViewParams, VIEW_NOISE_STD } from '../avatar/skinning-view.js';
import { viewCosines } from '../avatar/skinning-view.js';
import type { AvatarNet } from '../avatar/net.js';
import { renderAvatar, SplatRenderer } from '../avatar/render.js';
import { cameraCenter, type Camera } from '../data/camera.js';
import { l1Loss } from '../nn/losses.js';
import type { Lpips } from '../nn/lpips.js';
import type { Adam } from '../nn/optim.js';
import { DSSIM_WEIGHT, ssim } from '../nn/ssim.js';
import { checkPacked, packedSizes, unpackGroundTruth, type GroundTruthBox } from './ground-truth.js';
import {
  abs,
  add,
  backward,
  concat,
  cropResize,
  gpu,
  mean,
  mul,
  noGrad,
  reshape,
  scale,
  scope,
  sqrt,
  square,
  sub,
  sum,
  Tensor,
} from '../tensor/index.js';

/** The loss weights of a 'train' step (the config's loss_weight). */
export interface LossWeights {
  l1: number;
  lpips: number;
  offset: number;
}

/** What the step reads per replay. */
export interface StepInput {
  /** [3, S, S] front posed position map. */
  poseMap: Float32Array;
  /** [J·16] cano → live joint matrices with the root. */
  jointMats: Float32Array;
  camera: Camera;
  /** [3] RGB background. */
  bg: ArrayLike<number>;
  /**
   * The photo and its pixel classes as bytes of `box` (composited with `bg` on the GPU; outside the box everything is
   * background; see ground-truth.ts).
   */
  box: GroundTruthBox;
  photo: Uint8Array;
  classes: Uint8Array;
  /** [x, y, size, target] of the LPIPS window. */
  cropParams: Float32Array;
  /** Seed of the view-direction noise. */
  seed: number;
}

/** The canonical Gaussians' constant tensors the step reads. */
export interface CanonicalTensors {
  /** [N, J] skinning weights. */
  weights: Tensor;
  /** [N, 3] template points. */
  points: Tensor;
  /** [N, 3] canonical normals. */
  normals: Tensor;
}

/** Names of the loss components, in the order of the losses tensor. */
export const LOSS_NAMES = {
  pretrain: ['total', 'position', 'opacity', 'scale', 'rotation', 'color'],
  train: ['total', 'l1', 'lpips', 'offset'],
  trainSsim: ['total', 'l1', 'dssim', 'offset'],
} as const;

/** The colour the pretraining teaches the colour network (mid-grey). */
export const PRETRAIN_COLOR = 0.5;

/** ‖·‖ of zero has no gradient; this floor (far below any offset that matters) keeps it finite. */
const NORM_FLOOR = 1e-12;

export class TrainStep {
  readonly renderer: SplatRenderer | null;
  private readonly poseMap: Tensor;
  private readonly jointMats: Tensor;
  private readonly viewParams: Tensor;
  /** The step's photo bytes and pixel classes (ground-truth.ts), uploaded before each run. */
  private readonly photo: GPUBuffer | null;
  private readonly classes: GPUBuffer | null;
  /** The box the photo and classes cover, [x0, y0, w, h] as u32. */
  private readonly box: GPUBuffer | null;
  private readonly size: { width: number; height: number } | null;
  private readonly bg: Tensor;
  private readonly crop: Tensor;
  private replay: Replay | null = null;
  /** The loss components of the last step (see LOSS_NAMES). */
  losses: Tensor | null = null;

  constructor(
    private readonly net: AvatarNet,
    private readonly opt: Adam,
    private readonly canonical: CanonicalTensors,
    readonly kind: 'pretrain' | 'train',
    size: { width: number; height: number } | null,
    private readonly lossOpts: { weights: LossWeights; lpips: Lpips | null; lpipsSize: number },
  ) {
    const S = net.config.poseMapSize;
    const J = canonical.weights.shape[1]!;
    const keep = { persistent: true };
    this.poseMap = Tensor.zeros([1, net.config.inpCh, S, S], { ...keep, label: 'step pose map' });
    this.jointMats = Tensor.zeros([J, 4, 4], { ...keep, label: 'step joint matrices' });
    this.viewParams = createViewParams({ camPos: [0, 0, 0], noiseStd: VIEW_NOISE_STD });
    this.bg = Tensor.zeros([3, 1, 1], { ...keep, label: 'step background' });
    this.crop = Tensor.zeros([4], { ...keep, label: 'step LPIPS window' });
    if (kind === 'train') {
      if (!size) throw new Error('TrainStep: a training step needs the image size');
      this.renderer = new SplatRenderer(size.width, size.height);
      const bytes = packedSizes(size.width, size.height);
      this.photo = gpu().pool.acquire(bytes.photo, 'step photo');
      this.classes = gpu().pool.acquire(bytes.classes, 'step pixel classes');
      this.box = gpu().pool.acquire(16, 'step ground-truth box');
      this.size = size;
    } else {
      this.renderer = null;
      this.photo = null;
      this.classes = null;
      this.box = null;
      this.size = null;
    }
  }

  /** Names of this step's loss components. */
  get lossNames(): readonly string[] {
    if (this.kind === 'pretrain') return LOSS_NAMES.pretrain;
    return this.lossOpts.lpips ? LOSS_NAMES.train : LOSS_NAMES.trainSsim;
  }

  /** Upload the step's inputs, then run it: recorded the first time, replayed after (unless `eager`). */
  run(input: StepInput, eager = false): void {
    const g = gpu();
    g.upload(this.poseMap.buffer, input.poseMap);
    g.upload(this.jointMats.buffer, input.jointMats);
    const c = cameraCenter(input.camera);
    uploadViewParams(this.viewParams, { camPos: [c[0]!, c[1]!, c[2]!], seed: input.seed, noiseStd: VIEW_NOISE_STD });
    g.upload(this.bg.buffer, Float32Array.from(input.bg));
    g.upload(this.crop.buffer, input.cropParams);
    if (this.renderer) {
      this.renderer.setCamera(input.camera, input.bg);
      const { width, height } = this.size!;
      checkPacked({ width, height, box: input.box, photo: input.photo, classes: input.classes });
      g.upload(this.box!, Uint32Array.from(input.box));
      // only the box's bytes travel (an empty box: none)
      if (input.photo.byteLength > 0) g.upload(this.photo!, input.photo);
      if (input.classes.byteLength > 0) g.upload(this.classes!, input.classes);
    }
    if (eager) {
      this.losses?.dispose();
      this.losses = this.record();
      return;
    }
    if (this.replay) {
      this.replay.run();
      return;
    }
    this.losses?.dispose();
    this.replay = g.capture(() => {
      this.losses = this.record();
    });
  }

  /** Drop the captured step (the next run records it again): after a capacity growth or an optimiser reset. */
  invalidate(): void {
    this.replay?.dispose();
    this.replay = null;
  }

  /** Whether a step since the last check overflowed the rasterizer's pair buffers (then the step is re-captured). */
  async checkOverflow(): Promise<boolean> {
    if (!this.renderer) return false;
    const r = await this.renderer.checkOverflow();
    if (r.overflowed) this.invalidate();
    return r.overflowed;
  }

  private record(): Tensor {
    return scope(() => {
      const blend = blendJointMatrices(this.canonical.weights, this.jointMats);
      // Each stage runs in a scope of its own that keeps only what the next stage reads: what a backward needs is
      // held by the tape's saved aliases alone, so backward() hands each activation back to the pool as soon as its
      // node has run, and what no backward needs (a transposed conv's output before its blur, a concat's inputs…)
      // goes back when its stage ends. A captured step keeps every buffer it used, i.e. about the pool's peak over
      // the step, so this is what sets the memory a replaying step holds (bench/train-memory.ts).
      const gs = scope(() => {
        const cosines = this.net.viewdir
          ? viewCosines(blend, this.canonical.points, this.canonical.normals, this.viewParams)
          : undefined;
        return this.net.forward(this.poseMap, cosines);
      });
      let parts: Tensor[];
      if (this.kind === 'pretrain') {
        const base = this.net.base;
        parts = [
          l1Loss(gs.positions, base.positions),
          l1Loss(gs.opacities, base.opacities),
          l1Loss(gs.scales, base.scales),
          l1Loss(gs.rotations, base.rotations),
          // Ours: the colour network starts from per-pixel noise, which the photometric loss first removes by
          // fading and shrinking the Gaussians (opacity → 0 within ~50 steps at full size, measured); teaching it a
          // flat mid-grey here, as the other outputs learn their base values, avoids that collapse.
          mean(abs(sub(gs.colors, PRETRAIN_COLOR))),
        ];
        const total = parts.reduce((a, b) => add(a, b));
        backward(total);
        parts = [total, ...parts];
      } else {
        const color = scope(() => renderAvatar(gs, blend, this.renderer!).color);
        const { width, height } = this.size!;
        const w = this.lossOpts.weights;
        const [l1, perceptual] = scope(() => {
          const { gt, band } = unpackGroundTruth(this.photo!, this.classes!, this.box!, this.bg, width, height);
          // the band is painted with the background in the prediction as in the ground truth: it never counts
          const pred = scope(() => add(color, mul(band, sub(this.bg, color))));
          const l1 = scope(() => l1Loss(pred, gt));
          if (this.lossOpts.lpips) {
            const n = this.lossOpts.lpipsSize;
            const fill = reshape(this.bg, [3]);
            const gtCrop = noGrad(() => cropResize(gt, this.crop, fill, n));
            const predCrop = cropResize(pred, this.crop, fill, n);
            // LPIPS is the step's peak (VGG at the crop's size over the networks' activations): the full-size
            // images, which no backward saved, go back first
            for (const t of [gt, band, pred]) t.dispose();
            const d = this.lossOpts.lpips.distance(predCrop, gtCrop);
            return [l1, reshape(scale(d, w.lpips), [])];
          }
          return [l1, reshape(scale(sub(1, ssim(pred, gt)), DSSIM_WEIGHT), [])];
        });
        const offset = mean(sqrt(add(sum(square(gs.offsets), 1), NORM_FLOOR)));
        const total = add(add(scale(l1, w.l1), perceptual), scale(offset, w.offset));
        backward(total);
        parts = [total, l1, perceptual, offset];
      }
      this.opt.step();
      this.opt.zeroGrad();
      const losses = concat(
        parts.map((p) => reshape(p, [1])),
        0,
      );
      losses.keep();
      return losses;
    });
  }

  /** The last step's loss components (reads back: call it outside the hot loop, e.g. at log time). */
  async readLosses(): Promise<Float32Array> {
    if (!this.losses) throw new Error('TrainStep: no step has run yet');
    return this.losses.toArray();
  }

  dispose(): void {
    this.invalidate();
    this.losses?.dispose();
    for (const t of [this.poseMap, this.jointMats, this.viewParams, this.bg, this.crop]) t.dispose();
    for (const b of [this.photo, this.classes, this.box]) if (b) gpu().pool.release(b);
    this.renderer?.dispose();
  }
}
