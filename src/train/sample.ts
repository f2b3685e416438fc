/**
 * One training step's data, prepared on the CPU (in a worker thread) and ready to upload: the photo's bytes with a
 * class byte per pixel (subject, background, boundary band; the step composites the ground truth on its background
 * on the GPU and paints the band in photo and prediction alike, so the band never counts in the loss), the LPIPS
 * crop, the frame's posed position map as the networks read it, and the camera. Colours are RGB; the original reads
 * BGR through OpenCV, and our decoder already gives RGB, so nothing is swapped here (colour order matters only where
 * the original's checkpoints or saved renders are involved).
 */
import { frontPoseMap } from '../avatar/pose-map.js';
import type { Camera } from '../data/camera.js';
import { CaptureDataset, type CaptureConfig } from '../data/dataset.js';
import { readPoseMap } from '../prep/files.js';
import { cropParams, lpipsCrop, maskSquareBox, type LpipsCrop } from './crop.js';
import { packGroundTruth, type GroundTruthBox } from './ground-truth.js';

/** What a decoder (worker or main thread) needs to open the capture once. */
export interface SampleContextSpec {
  capture: CaptureConfig;
  /** `<data_dir>/smpl_pos_map`. */
  posMapDir: string;
  /** Side S of the pose map the networks read (the preset's poseMapSize). */
  poseMapSize: number;
  /** Side LPIPS is evaluated at (512 in the original). */
  lpipsSize: number;
}

/** One step's draws (made on the main thread, in order, by the seeded RNG). */
export interface SampleJob {
  iteration: number;
  /** Index into the dataset's items. */
  item: number;
  /** Background colour, RGB in [0, 1]. */
  bg: [number, number, number];
  /** Two uniforms for the random LPIPS patch. */
  patch: [number, number];
}

/** The decoded part of a step: everything but the joint matrices (added on the main thread). */
export interface DecodedSample {
  iteration: number;
  frame: number;
  /** Index into the used cameras. */
  cam: number;
  camName: string;
  camera: Camera;
  width: number;
  height: number;
  bg: Float32Array;
  /**
   * The photo as RGB bytes and a class byte per pixel: subject (mask > 128), background, or the boundary band
   * (dilate 5×5 − erode 5×5 of the mask, or soft alpha 5 < α < 250); the step composites them on the GPU with `bg`
   * (compositeGroundTruth is the same on the CPU).
   */
  photo: Uint8Array;
  classes: Uint8Array;
  /** The box photo and classes cover (the subject and its band; the rest is background). */
  box: GroundTruthBox;
  crop: LpipsCrop;
  /** [x, y, box side, target side] for a GPU buffer. */
  cropParams: Float32Array;
  /** [3, S, S]: the front half of the frame's posed position map, xyz in metres. */
  poseMap: Float32Array;
}

export interface TrainSample extends DecodedSample {
  /** [J, 4, 4] row-major: canonical → live joint transforms with the root (skin the Gaussians with these). */
  jointMats: Float32Array;
}

export class SampleContext {
  readonly dataset: CaptureDataset;

  constructor(readonly spec: SampleContextSpec) {
    this.dataset = new CaptureDataset(spec.capture);
  }

  async decode(job: SampleJob): Promise<DecodedSample> {
    const item = this.dataset.items[job.item];
    if (!item) throw new Error(`sample item ${job.item} out of range (${this.dataset.items.length} items)`);
    const loaded = await this.dataset.load(item);
    const { image, mask, boundary, camera } = loaded;
    const packed = packGroundTruth(image, mask, boundary);
    const square = maskSquareBox(mask, image.width, image.height);
    const crop = lpipsCrop(square, job.iteration, job.patch, this.spec.lpipsSize);
    const pose = readPoseMap(this.spec.posMapDir, item.frame);
    return {
      iteration: job.iteration,
      frame: item.frame,
      cam: item.cam,
      camName: item.camName,
      camera,
      width: image.width,
      height: image.height,
      bg: Float32Array.from(job.bg),
      photo: packed.photo,
      classes: packed.classes,
      box: packed.box,
      crop,
      cropParams: cropParams(crop),
      poseMap: frontPoseMap(pose, this.spec.poseMapSize, `posed map of frame ${item.frame} in ${this.spec.posMapDir}`),
    };
  }
}

export { frontPoseMap } from '../avatar/pose-map.js';

/** The buffers of a sample that can move between threads without a copy. */
export function sampleTransferList(s: DecodedSample): ArrayBuffer[] {
  return [s.photo, s.classes, s.poseMap].map((a) => a.buffer as ArrayBuffer);
}
