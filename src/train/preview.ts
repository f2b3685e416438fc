/**
 * Held-out views during training: the avatar rendered at a (frame, camera) of the capture beside the photo, with
 * the PSNR over the full image on white (the reference's evaluation protocol), written side by side as PNGs. The
 * rendering and the mean-colour baseline live in avatar/view-render.ts (evaluation uses them too).
 */
import { join } from 'node:path';
import { clamp01, type ViewResult } from '../avatar/view-render.js';
import { writeImage } from '../io/node/image.js';

export {
  meanColorImage,
  meanSubjectColor,
  psnr,
  ViewRenderer as HeldOutRenderer,
  type HeldOutView,
  type ViewResult,
} from '../avatar/view-render.js';

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
