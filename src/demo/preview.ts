/**
 * A look at the canonical Gaussian map before any training: every foreground map pixel becomes one small round
 * Gaussian at its canonical position, skinned to a frame of the capture with its per-pixel skinning weights (the
 * same cano → live joint matrices the avatar uses), coloured by its canonical normal, and splatted from a capture
 * camera. Beside the captured photo it shows that body model, maps, skinning, cameras and rasterizer agree.
 */
import { canoToLive } from '../body/canonical.js';
import { lbsPoints } from '../body/lbs.js';
import type { SmplxModel } from '../body/model.js';
import type { SmplxParams } from '../body/forward.js';
import type { Camera } from '../data/camera.js';
import type { Gpu } from '../gpu/index.js';
import type { CanonicalMaps } from '../prep/maps.js';
import { renderScene, type RenderedImages } from '../splat/rasterizer.js';
import type { SplatScene } from '../splat/reference.js';

/** Median distance between horizontally adjacent foreground map pixels: the Gaussians' spacing in metres. */
export function mapSpacing(maps: CanonicalMaps): number {
  const { position, pixels } = maps;
  const d: number[] = [];
  const step = Math.max(1, Math.floor(pixels.length / 4096));
  for (let i = 0; i + 1 < pixels.length; i += step) {
    if (pixels[i + 1] !== pixels[i]! + 1) continue;
    const a = 3 * pixels[i]!,
      b = 3 * pixels[i + 1]!;
    d.push(
      Math.hypot(position[b]! - position[a]!, position[b + 1]! - position[a + 1]!, position[b + 2]! - position[a + 2]!),
    );
  }
  if (d.length === 0) throw new Error('mapSpacing: no two adjacent foreground pixels in the canonical maps');
  d.sort((x, y) => x - y);
  return d[d.length >> 1]!;
}

/** The map's Gaussians posed to `frame`: round, opaque, normal-coloured. */
export function posedMapScene(model: SmplxModel, maps: CanonicalMaps, frame: SmplxParams): SplatScene {
  const n = maps.pixels.length;
  if (maps.weights.length !== n * maps.numJoints) throw new Error('posedMapScene: the maps carry no skinning weights');
  const canonical = new Float64Array(3 * n);
  const colors = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const p = 3 * maps.pixels[i]!;
    for (let k = 0; k < 3; k++) {
      canonical[3 * i + k] = maps.position[p + k]!;
      colors[3 * i + k] = 0.5 + 0.5 * maps.normal[p + k]!;
    }
  }
  const { jointMats } = canoToLive(model, frame);
  const means = lbsPoints(canonical, maps.weights, jointMats);
  const s = 0.6 * mapSpacing(maps);
  const rotations = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) rotations[4 * i] = 1;
  return {
    count: n,
    means,
    scales: new Float32Array(3 * n).fill(s),
    rotations,
    opacities: new Float32Array(n).fill(0.95),
    colors,
  };
}

/** Render the posed map from a capture camera (background black). */
export async function renderPreview(gpu: Gpu, scene: SplatScene, camera: Camera): Promise<RenderedImages> {
  return renderScene(gpu, scene, camera, [0, 0, 0]);
}
