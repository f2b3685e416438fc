/**
 * Splatting as a tape op: per-Gaussian tensors in, the rendered colour, depth and alpha out, with the
 * rasterizer's backward (src/splat) as the op's backward. Built for a training step that is recorded once with
 * Gpu.capture and replayed: the frame reads nothing back (the rasterizer's capturable path), and the camera and
 * background come from a GPU buffer the loop uploads before each replay (`SplatRenderer.setCamera`).
 */
import { GaussianRasterizer, SplatView, type Camera, type GpuScene, type OverflowReport } from '../splat/index.js';
import { gather, gpu, record, slice, Tensor } from '../tensor/index.js';
import type { AvatarGaussians } from './gaussian-map.js';
import { skinGaussians } from './skinning.js';

/** The posed Gaussians: colours precomputed (no SH), opacities already activated, scales exp'd, rotations wxyz. */
export interface GaussianTensors {
  /** [N, 3] world positions. */
  means: Tensor;
  /** [N, 3] (already exponentiated). */
  scales: Tensor;
  /** [N, 4] quaternions wxyz, used as given (normalise them first). */
  rotations: Tensor;
  /** [N, 1] (already through the sigmoid). */
  opacities: Tensor;
  /** [N, 3] RGB. */
  colors: Tensor;
}

export interface RenderOutput {
  /** [5, H, W]: r, g, b, depth, alpha (what the op records; the others are slices of it). */
  image: Tensor;
  /** [3, H, W] C = Σ c α T + T·background. */
  color: Tensor;
  /** [1, H, W] Σ z_view α T (not normalised). */
  depth: Tensor;
  /** [1, H, W] Σ α T. */
  alpha: Tensor;
}

/**
 * A rasterizer and its view (camera and background on the GPU) for one image size. One render per renderer per
 * step: a second render before the first's backward has run would overwrite the frame state that backward reads.
 */
export class SplatRenderer {
  readonly rasterizer: GaussianRasterizer;
  readonly view: SplatView;

  /** `capacity`: (tile, Gaussian) pairs to make room for at first (default max(1024, 4N)); grows on overflow. */
  constructor(width: number, height: number, opts: { capacity?: number } = {}) {
    this.rasterizer = new GaussianRasterizer(gpu());
    if (opts.capacity) this.rasterizer.capacity = opts.capacity;
    this.view = new SplatView(gpu(), width, height);
  }

  get width(): number {
    return this.view.width;
  }

  get height(): number {
    return this.view.height;
  }

  /** Upload the step's camera (OpenCV, this renderer's image size) and background; outside the capture. */
  setCamera(camera: Camera, background: ArrayLike<number> = [0, 0, 0]): void {
    this.view.set(camera, background);
  }

  /**
   * Whether a step since the last check had more pairs than the capacity (those frames lost their farthest
   * pairs). On overflow the capacity has grown, and the caller must capture its step again before replaying.
   * Call it outside the step (e.g. at log time): it reads back.
   */
  checkOverflow(): Promise<OverflowReport> {
    return this.rasterizer.checkOverflow();
  }

  dispose(): void {
    this.rasterizer.release();
    this.view.destroy();
  }
}

function checkShapes(g: GaussianTensors): number {
  const n = g.means.shape[0] ?? 0;
  const want: [keyof GaussianTensors, number][] = [
    ['means', 3],
    ['scales', 3],
    ['rotations', 4],
    ['opacities', 1],
    ['colors', 3],
  ];
  for (const [k, c] of want) {
    const t = g[k];
    if (t.dtype !== 'f32' || t.rank !== 2 || t.shape[0] !== n || t.shape[1] !== c)
      throw new Error(`renderGaussians: '${k}' must be f32 [${n}, ${c}] (got ${t.dtype} [${t.shape}])`);
  }
  return n;
}

/**
 * Render the Gaussians from the renderer's current view. The op records one output, the [5, H, W] image (one
 * forward writes all five planes and one backward takes all five gradients); color, depth and alpha are slices
 * of it, so a loss may use any of them and the slice backwards assemble the image gradient.
 */
export function renderGaussians(g: GaussianTensors, renderer: SplatRenderer): RenderOutput {
  const n = checkShapes(g);
  const r = renderer.rasterizer;
  const { width: W, height: H } = renderer;
  const scene: GpuScene = {
    count: n,
    means: g.means.buffer,
    scales: g.scales.buffer,
    rotations: g.rotations.buffer,
    opacities: g.opacities.buffer,
    colors: g.colors.buffer,
  };
  const image = Tensor.empty([5, H, W]);
  r.forwardCapturable(scene, renderer.view, { image: image.buffer });
  const frame = r.frameCount;
  const inputs = [g.means, g.scales, g.rotations, g.opacities, g.colors];
  record({
    name: 'renderGaussians',
    inputs,
    output: image,
    // the backward reads the inputs' buffers (through the rasterizer's frame state): keep them alive
    save: inputs,
    backward: (gy, saved, needs) => {
      if (r.frameCount !== frame)
        throw new Error(
          'renderGaussians: the renderer drew another frame before this one was differentiated (use one SplatRenderer per render in a step)',
        );
      const grads = saved.map((t, i) => (needs[i] ? Tensor.empty(t.shape) : null));
      const [means, scales, rotations, opacities, colors] = grads.map((t) => t?.buffer);
      r.backward(gy.buffer, { means, scales, rotations, opacities, colors });
      return grads;
    },
  });
  return { image, color: slice(image, 0, 0, 3), depth: slice(image, 0, 3, 4), alpha: slice(image, 0, 4, 5) };
}

/** Channel order BGR → RGB (persistent, made once). */
let bgrToRgb: Tensor | null = null;

/**
 * The avatar's canonical Gaussians (AvatarNet.forward) skinned with the step's blended joint matrices
 * (blendJointMatrices) and splatted from the renderer's view. The networks' colours are in the original's BGR
 * order (so its checkpoints load as they are); they are splatted as RGB.
 */
export function renderAvatar(gs: AvatarGaussians, blend: Tensor, renderer: SplatRenderer): RenderOutput {
  bgrToRgb ??= Tensor.indices([2, 1, 0]).keep();
  const posed = skinGaussians(gs.positions, gs.rotations, blend);
  return renderGaussians(
    {
      means: posed.positions,
      scales: gs.scales,
      rotations: posed.rotations,
      opacities: gs.opacities,
      colors: gather(gs.colors, 1, bgrToRgb, { unique: true }),
    },
    renderer,
  );
}
