/**
 * The view of a frame on the GPU: the camera (extrinsics, intrinsics, the projection derived from them) and the
 * background colour, in a small uniform buffer the rasterizer's kernels read. The caller uploads it before each
 * frame, so a captured frame (Gpu.capture) replays with whatever camera was uploaded last; per-dispatch parameters
 * would replay the captured camera instead. The image size is fixed per view (it sizes the frame's buffers and
 * workgroup grids, which a capture fixes too).
 */
import type { Gpu } from '../gpu/gpu.js';
import { deriveCamera, type Camera, type CameraDerived } from './camera.js';

/** Bytes of the view (struct View in wgsl.ts: 8 vec4f). */
export const VIEW_BYTES = 128;

/** The struct View bytes of a camera and background (the kernels' `c`). */
export function viewBytes(cam: CameraDerived, bg: ArrayLike<number>): Float32Array {
  const f = new Float32Array(VIEW_BYTES / 4);
  const R = cam.R;
  for (let r = 0; r < 3; r++) f.set([R[3 * r]!, R[3 * r + 1]!, R[3 * r + 2]!, cam.T[r]!], 4 * r);
  f.set([cam.fx, cam.fy, cam.cx, cam.cy], 12);
  f.set([cam.P00, cam.P02, cam.P11, cam.P12], 16);
  f.set([cam.tanfovx, cam.tanfovy, cam.width, cam.height], 20);
  f.set([cam.campos[0]!, cam.campos[1]!, cam.campos[2]!, 0], 24);
  f.set([bg[0] ?? 0, bg[1] ?? 0, bg[2] ?? 0, 0], 28);
  return f;
}

/** A uniform buffer for views (not pooled: pool buffers are storage buffers). */
export function createViewBuffer(gpu: Gpu, label = 'splat view'): GPUBuffer {
  return gpu.device.createBuffer({ label, size: VIEW_BYTES, usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */ });
}

/** A camera and background the caller uploads per frame; the rasterizer's capturable path reads it on the GPU. */
export class SplatView {
  readonly buffer: GPUBuffer;
  private destroyed = false;

  constructor(
    private readonly gpu: Gpu,
    readonly width: number,
    readonly height: number,
  ) {
    if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0))
      throw new Error(`SplatView: image size ${width}×${height} must be positive integers`);
    this.buffer = createViewBuffer(gpu);
  }

  /**
   * Upload a camera (of this view's image size) and background (default black), ordered after the work recorded
   * so far. Call it outside a capture, before each replay: an upload made inside one is replayed as captured.
   */
  set(camera: Camera, background: ArrayLike<number> = [0, 0, 0]): void {
    if (this.destroyed) throw new Error('SplatView.set: the view was destroyed');
    if (camera.width !== this.width || camera.height !== this.height)
      throw new Error(
        `SplatView.set: camera is ${camera.width}×${camera.height} but the view is ${this.width}×${this.height} (make a view per image size)`,
      );
    this.gpu.upload(this.buffer, viewBytes(deriveCamera(camera), background));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.buffer.destroy();
  }
}
