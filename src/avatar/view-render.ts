/**
 * The avatar rendered eagerly, without gradients, at one pose and camera: the held-out previews of training, the
 * evaluation and anything else that wants a single image (animation replays a captured frame loop instead).
 * `renderPose` takes the network input and the skinning matrices directly; `view` renders a (frame, camera) of a
 * capture on white, beside its photo (also on white, as the reference evaluates), with the PSNR over the full image.
 * Also the mean-colour baseline a trained avatar must beat: the subject's silhouette painted one colour.
 */
import { canoToLive } from '../body/canonical.js';
import type { SmplxModel } from '../body/model.js';
import { CaptureDataset, type CaptureConfig } from '../data/dataset.js';
import { readPoseMap } from '../prep/files.js';
import type { Camera } from '../splat/index.js';
import { noGrad, scope, Tensor } from '../tensor/index.js';
import type { CanonicalTensors } from './canonical.js';
import type { AvatarNet } from './net.js';
import { frontPoseMap } from './pose-map.js';
import { renderAvatar, SplatRenderer } from './render.js';
import { blendJointMatrices } from './skinning.js';
import { createViewParams, viewCosines } from './skinning-view.js';

export interface HeldOutView {
  frame: number;
  /** Index into the calibration's camera list (as the config's eval ids give it). */
  camId: number;
}

export interface PoseRenderInput {
  /** [3, S, S] the front posed position map at the networks' input size (frontPoseMap). */
  poseMap: Float32Array;
  /** [J, 4, 4] row-major canonical → live joint matrices (body/canonical.ts canoToLive(...).jointMats). */
  jointMats: ArrayLike<number>;
  /** OpenCV pinhole camera; its width and height are the image size. */
  camera: Camera;
  /** RGB in [0, 1] (default white). */
  background?: readonly number[];
}

export interface PoseRender {
  width: number;
  height: number;
  /** [3, H, W] RGB as splatted (not clamped). */
  color: Float32Array;
  /** [H, W] accumulated opacity. */
  alpha: Float32Array;
  /** Mean opacity and mean scale (metres) of the Gaussians in this pose: a transparent or vanishing avatar shows here. */
  meanOpacity: number;
  meanScale: number;
}

export interface ViewResult {
  frame: number;
  camName: string;
  width: number;
  height: number;
  /** [3, H, W] rendered on white. */
  render: Float32Array;
  /** [H, W] the render's accumulated opacity. */
  alpha: Float32Array;
  /** [3, H, W] the photo on white. */
  photo: Float32Array;
  /** [H, W] 1 on the subject. */
  mask: Float32Array;
  psnr: number;
  meanOpacity: number;
  meanScale: number;
}

/** PSNR (data range 1) of two images of the same size. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  const mse = s / a.length;
  return mse === 0 ? Infinity : -10 * Math.log10(mse);
}

export function clamp01(a: Float32Array): Float32Array {
  return a.map((v) => Math.min(1, Math.max(0, v)));
}

const WHITE = [1, 1, 1];

/** Renders an avatar one image at a time (a rasterizer per image size, kept). Dispose when done. */
export class ViewRenderer {
  private readonly renderers = new Map<string, SplatRenderer>();

  /** `capture` and `posMapDir` are needed only by `view` (capture frames); `renderPose` works without them. */
  constructor(
    private readonly net: AvatarNet,
    private readonly canonical: CanonicalTensors,
    private readonly model: SmplxModel,
    private readonly capture?: Omit<CaptureConfig, 'frameRange' | 'usedCamIds'>,
    private readonly posMapDir?: string,
  ) {}

  /** Render one pose from one camera; rendered again (up to 3 times) when the rasterizer's pair buffers had to grow. */
  async renderPose(input: PoseRenderInput, attempt = 0): Promise<PoseRender> {
    const { camera: cam, poseMap: pose } = input;
    const S = this.net.config.poseMapSize;
    if (pose.length !== 3 * S * S)
      throw new Error(`renderPose: the pose map holds ${pose.length} values, the networks read 3 × ${S}²`);
    const J = this.canonical.weights.shape[1]!;
    if (input.jointMats.length !== 16 * J)
      throw new Error(`renderPose: ${input.jointMats.length / 16} joint matrices for skinning weights of ${J} joints`);
    const key = `${cam.width}x${cam.height}`;
    let r = this.renderers.get(key);
    if (!r) this.renderers.set(key, (r = new SplatRenderer(cam.width, cam.height)));
    r.setCamera(cam, input.background ?? WHITE);
    const { R, T } = cam;
    const c = [0, 1, 2].map((i) => -(R[i]! * T[0]! + R[3 + i]! * T[1]! + R[6 + i]! * T[2]!));
    const [image, opacities, scales] = noGrad(() =>
      scope(() => {
        const poseMap = Tensor.from(pose, [1, 3, S, S]);
        const blend = blendJointMatrices(
          this.canonical.weights,
          Tensor.from(Float32Array.from(input.jointMats), [J, 4, 4]),
        );
        const cos = this.net.viewdir
          ? viewCosines(
              blend,
              this.canonical.points,
              this.canonical.normals,
              createViewParams({ camPos: [c[0]!, c[1]!, c[2]!], noiseStd: 0 }),
            )
          : undefined;
        const gs = this.net.forward(poseMap, cos);
        const out = renderAvatar(gs, blend, r);
        return [out.image, gs.opacities, gs.scales];
      }),
    );
    const planes = await image.toArray();
    const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    const meanOpacity = mean(await opacities.toArray());
    const meanScale = mean(await scales.toArray());
    for (const t of [image, opacities, scales]) t.dispose();
    if ((await r.checkOverflow()).overflowed && attempt < 3) return this.renderPose(input, attempt + 1);
    const n = cam.width * cam.height;
    return {
      width: cam.width,
      height: cam.height,
      color: planes.slice(0, 3 * n),
      alpha: planes.slice(4 * n, 5 * n),
      meanOpacity,
      meanScale,
    };
  }

  /** Render a capture view and load its photo (both on white). */
  async view(v: HeldOutView): Promise<ViewResult> {
    if (!this.capture || !this.posMapDir) throw new Error('ViewRenderer.view: constructed without a capture');
    const ds = new CaptureDataset({ ...this.capture, frameRange: [v.frame, v.frame + 1], usedCamIds: [v.camId] });
    const item = ds.items[0];
    if (!item) throw new Error(`held-out view: frame ${v.frame}, camera ${v.camId} is not in the capture`);
    const loaded = await ds.load(item, { bg: WHITE });
    const cam = loaded.camera;
    const S = this.net.config.poseMapSize;
    const poseMap = frontPoseMap(readPoseMap(this.posMapDir, v.frame), S, `posed map of frame ${v.frame}`);
    const jointMats = canoToLive(this.model, ds.smpl.frame(v.frame)).jointMats;
    const out = await this.renderPose({ poseMap, jointMats, camera: cam, background: WHITE });
    const photo = loaded.image.data;
    return {
      frame: v.frame,
      camName: cam.name,
      width: cam.width,
      height: cam.height,
      render: out.color,
      alpha: out.alpha,
      photo,
      mask: Float32Array.from(loaded.mask),
      psnr: psnr(clamp01(out.color), photo),
      meanOpacity: out.meanOpacity,
      meanScale: out.meanScale,
    };
  }

  dispose(): void {
    for (const r of this.renderers.values()) r.dispose();
    this.renderers.clear();
  }
}

/** An image of `width × height` with every subject pixel painted `color` (white elsewhere): the baseline. */
export function meanColorImage(
  v: { width: number; height: number; mask: ArrayLike<number> },
  color: readonly number[],
): Float32Array {
  const n = v.width * v.height;
  const out = new Float32Array(3 * n).fill(1);
  for (let p = 0; p < n; p++) if (v.mask[p]) for (let c = 0; c < 3; c++) out[c * n + p] = color[c]!;
  return out;
}

/** The mean colour of the subject's pixels of a [3, H, W] photo. */
export function meanSubjectColor(v: {
  width: number;
  height: number;
  mask: ArrayLike<number>;
  photo: ArrayLike<number>;
}): number[] {
  const s = meanSubjectColorSum(v);
  return s.sum.map((x) => (s.count ? x / s.count : 1));
}

/** Sums of the subject's colours and their count (to average over several photos). */
export function meanSubjectColorSum(v: {
  width: number;
  height: number;
  mask: ArrayLike<number>;
  photo: ArrayLike<number>;
}): { sum: number[]; count: number } {
  const n = v.width * v.height;
  const sum = [0, 0, 0];
  let count = 0;
  for (let p = 0; p < n; p++)
    if (v.mask[p]) {
      count++;
      for (let c = 0; c < 3; c++) sum[c]! += v.photo[c * n + p]!;
    }
  return { sum, count };
}
