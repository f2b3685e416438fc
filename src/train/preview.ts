/**
 * Held-out views during training: render the avatar for a (frame, camera) of the capture, eagerly and without
 * gradients, beside the photo, and measure it (PSNR over the full image on a white background, the reference's
 * evaluation protocol). Also the mean-colour baseline the quality report compares with: every foreground pixel
 * painted with the training photos' mean foreground colour.
 */
import { join } from 'node:path';
import { canoToLive } from '../body/canonical.js';
import type { SmplxModel } from '../body/model.js';
import { blendJointMatrices } from '../avatar/skinning.js';
import { createViewParams, viewCosines } from '../avatar/skinning-view.js';
import type { AvatarNet } from '../avatar/net.js';
import { renderAvatar, SplatRenderer } from '../avatar/render.js';
import { cameraCenter } from '../data/camera.js';
import { CaptureDataset, type CaptureConfig } from '../data/dataset.js';
import { writeImage } from '../io/image.js';
import { readPoseMap } from '../prep/files.js';
import { noGrad, scope, Tensor } from '../tensor/index.js';
import type { CanonicalTensors } from './step.js';
import { frontPoseMap } from './sample.js';

export interface HeldOutView {
  frame: number;
  /** Index into the calibration's camera list (as the config's eval ids give it). */
  camId: number;
}

export interface ViewResult {
  frame: number;
  camName: string;
  width: number;
  height: number;
  /** [3, H, W] rendered on white. */
  render: Float32Array;
  /** [3, H, W] the photo on white. */
  photo: Float32Array;
  /** [H, W] 1 on the subject. */
  mask: Float32Array;
  psnr: number;
  /** Mean opacity and mean scale (metres) of the Gaussians in this pose: a transparent or vanishing avatar shows here. */
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

const WHITE = [1, 1, 1];

export class HeldOutRenderer {
  private readonly renderers = new Map<string, SplatRenderer>();

  constructor(
    private readonly net: AvatarNet,
    private readonly canonical: CanonicalTensors,
    private readonly model: SmplxModel,
    private readonly capture: Omit<CaptureConfig, 'frameRange' | 'usedCamIds'>,
    private readonly posMapDir: string,
  ) {}

  /** Render a view and load its photo (both on white); rendered again when the pair buffers had to grow. */
  async view(v: HeldOutView, attempt = 0): Promise<ViewResult> {
    const ds = new CaptureDataset({ ...this.capture, frameRange: [v.frame, v.frame + 1], usedCamIds: [v.camId] });
    const item = ds.items[0];
    if (!item) throw new Error(`held-out view: frame ${v.frame}, camera ${v.camId} is not in the capture`);
    const loaded = await ds.load(item, { bg: WHITE });
    const cam = loaded.camera;
    const S = this.net.config.poseMapSize;
    const pose = frontPoseMap(readPoseMap(this.posMapDir, v.frame), S, `posed map of frame ${v.frame}`);
    const joints = Float32Array.from(canoToLive(this.model, ds.smpl.frame(v.frame)).jointMats);
    const key = `${cam.width}x${cam.height}`;
    let r = this.renderers.get(key);
    if (!r) this.renderers.set(key, (r = new SplatRenderer(cam.width, cam.height)));
    r.setCamera(cam, WHITE);
    const c = cameraCenter(cam);
    const [image, opacities, scales] = noGrad(() =>
      scope(() => {
        const poseMap = Tensor.from(pose, [1, 3, S, S]);
        const blend = blendJointMatrices(this.canonical.weights, Tensor.from(joints, [joints.length / 16, 4, 4]));
        const cos = this.net.viewdir
          ? viewCosines(
              blend,
              this.canonical.points,
              this.canonical.normals,
              createViewParams({ camPos: [c[0]!, c[1]!, c[2]!], noiseStd: 0 }),
            )
          : undefined;
        const gs = this.net.forward(poseMap, cos);
        const color = renderAvatar(gs, blend, r).color;
        return [color, gs.opacities, gs.scales];
      }),
    );
    const render = await image.toArray();
    const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    const meanOpacity = mean(await opacities.toArray());
    const meanScale = mean(await scales.toArray());
    for (const t of [image, opacities, scales]) t.dispose();
    if ((await r.checkOverflow()).overflowed && attempt < 3) return this.view(v, attempt + 1);
    const photo = loaded.image.data;
    return {
      frame: v.frame,
      camName: cam.name,
      width: cam.width,
      height: cam.height,
      render,
      photo,
      mask: Float32Array.from(loaded.mask),
      psnr: psnr(clamp01(render), photo),
      meanOpacity,
      meanScale,
    };
  }

  dispose(): void {
    for (const r of this.renderers.values()) r.dispose();
  }
}

function clamp01(a: Float32Array): Float32Array {
  return a.map((v) => Math.min(1, Math.max(0, v)));
}

/** The photo with every subject pixel painted `color` (white elsewhere): the baseline a trained avatar must beat. */
export function meanColorImage(v: ViewResult, color: readonly number[]): Float32Array {
  const n = v.width * v.height;
  const out = new Float32Array(3 * n).fill(1);
  for (let p = 0; p < n; p++) if (v.mask[p]) for (let c = 0; c < 3; c++) out[c * n + p] = color[c]!;
  return out;
}

/** The mean colour of the subject's pixels in a view. */
export function meanSubjectColor(v: ViewResult): number[] {
  const n = v.width * v.height;
  const s = [0, 0, 0];
  let k = 0;
  for (let p = 0; p < n; p++)
    if (v.mask[p]) {
      k++;
      for (let c = 0; c < 3; c++) s[c]! += v.photo[c * n + p]!;
    }
  return s.map((x) => (k ? x / k : 1));
}

/** photo | render side by side as a PNG. */
export async function writeSideBySide(path: string, v: ViewResult): Promise<void> {
  const { width: W, height: H } = v;
  const n = W * H;
  const data = new Float32Array(3 * 2 * n);
  const r = clamp01(v.render);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < H; y++) {
      data.set(v.photo.subarray(c * n + y * W, c * n + (y + 1) * W), c * 2 * n + y * 2 * W);
      data.set(r.subarray(c * n + y * W, c * n + (y + 1) * W), c * 2 * n + y * 2 * W + W);
    }
  await writeImage(path, { width: 2 * W, height: H, channels: 3, data });
}

export function previewPath(dir: string, iteration: number, which: string): string {
  return join(dir, `${String(iteration).padStart(8, '0')}_${which}.png`);
}
