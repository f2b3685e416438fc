/**
 * A baked motion's frames on the GPU: the posed Gaussians export-web --bake stored per frame, uploaded and splatted
 * (no networks, no skinning: the same renderGaussians op as the last step of `animate`'s frame). The interface is
 * the part of AnimationRenderer the page uses, so the page plays either kind of motion the same way.
 */
import { renderGaussians, SplatRenderer } from '../avatar/render.js';
import type { Camera } from '../splat/camera.js';
import { gpu, noGrad, scope, Tensor } from '../tensor/index.js';
import type { BakedFrames } from '../animate/web/format.js';

export class BakedRenderer {
  readonly renderer: SplatRenderer;
  private readonly parts: { means: Tensor; scales: Tensor; rotations: Tensor; opacities: Tensor; colors: Tensor };
  private out: Tensor | null = null;

  constructor(
    readonly gaussians: number,
    width: number,
    height: number,
    readonly background: readonly [number, number, number],
  ) {
    const keep = { persistent: true };
    const N = Math.max(1, gaussians);
    this.parts = {
      means: Tensor.zeros([N, 3], keep),
      scales: Tensor.zeros([N, 3], keep),
      rotations: Tensor.zeros([N, 4], keep),
      opacities: Tensor.zeros([N, 1], keep),
      colors: Tensor.zeros([N, 3], keep),
    };
    this.renderer = new SplatRenderer(width, height);
  }

  get width(): number {
    return this.renderer.width;
  }

  get height(): number {
    return this.renderer.height;
  }

  /** Frame `i` of a chunk from a camera. */
  render(chunk: BakedFrames, i: number, camera: Camera): void {
    const N = chunk.gaussians;
    if (N !== this.gaussians) throw new Error(`a baked chunk of ${N} Gaussians for a renderer of ${this.gaussians}`);
    const g = gpu();
    for (const [k, c] of [
      ['means', 3],
      ['scales', 3],
      ['rotations', 4],
      ['opacities', 1],
      ['colors', 3],
    ] as const) {
      g.upload(this.parts[k].buffer, chunk[k].subarray(i * N * c, (i + 1) * N * c));
    }
    this.renderer.setCamera(camera, this.background);
    this.out?.dispose();
    this.out = noGrad(() => scope(() => renderGaussians(this.parts, this.renderer).image)).keep();
  }

  get image(): Tensor {
    if (!this.out) throw new Error('BakedRenderer: no frame rendered yet');
    return this.out;
  }

  async checkOverflow(): Promise<boolean> {
    return (await this.renderer.checkOverflow()).overflowed;
  }

  async readImages(): Promise<{ width: number; height: number; color: Float32Array; alpha: Float32Array }> {
    const { width: W, height: H } = this;
    const all = await this.image.toArray();
    return { width: W, height: H, color: all.slice(0, 3 * W * H), alpha: all.slice(4 * W * H, 5 * W * H) };
  }

  dispose(): void {
    this.out?.dispose();
    for (const t of Object.values(this.parts)) t.dispose();
    this.renderer.dispose();
  }
}
