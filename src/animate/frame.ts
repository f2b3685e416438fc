/**
 * One animation frame on the GPU, recorded once and replayed (Gpu.capture), in two parts:
 *   pose part: joint matrices (no root) → posed position map → [pose PCA] → position_net, other_net → Δ, other
 *   view part: joint matrices (root) → blended matrices → view cosines → view CNN → color_net → Gaussians
 *              → skinning → splatting (colour, depth, alpha) [→ posed Gaussians kept for a .ply]
 * Only the colour network depends on the view, so a frame whose pose equals the previous frame's (an orbit around a
 * held pose) replays the view part alone. The inputs live in persistent tensors uploaded before each replay (joint
 * tables, the PCA switch, the view parameters, the rasterizer's camera); nothing is read back inside a frame.
 *
 * The first frame (and any `eager` one) runs without capture: it fills the frozen networks' weight cache
 * (DualStyleUNet.freezeForInference), which a capture would otherwise replay every frame. The split forward below is
 * AvatarNet.forward's three networks in two groups (tested equal to it).
 */
import type { CanonicalTensors } from '../avatar/canonical.js';
import { AVATAR_NET_KEYS } from '../avatar/config.js';
import type { AvatarNet } from '../avatar/net.js';
import { renderAvatar, SplatRenderer } from '../avatar/render.js';
import { blendJointMatrices, skinGaussians } from '../avatar/skinning.js';
import { createViewParams, uploadViewParams, viewCosines } from '../avatar/skinning-view.js';
import { cameraCenter, type Camera } from '../splat/camera.js';
import type { Replay } from '../gpu/capture.js';
import type { PosedGaussians } from '../splat/ply-write.js';
import { gpu, noGrad, scope, slice, Tensor } from '../tensor/index.js';
import type { PcaProjector, PoseMapBuilder } from './pose-map-gpu.js';

/** One frame's inputs. */
export interface FrameSpec {
  /** J × 16 row-major cano → live with the root (skinning; identity tables for the canonical view). */
  jointMats: Float32Array;
  /** J × 16 cano → live without the root (the posed map the networks read). */
  jointMatsWoRoot: Float32Array;
  /** The camera, of the renderer's image size. */
  camera: Camera;
  /** Project the pose map onto the PCA (needs a projector). */
  project: boolean;
}

export interface AnimationRendererOptions {
  width: number;
  height: number;
  /** RGB in [0, 1] (default white, as the reference's animation). */
  background?: readonly [number, number, number];
  /** The pose projection (null: never project). */
  pca?: PcaProjector | null;
  /** Keep the posed Gaussians of each frame (for a .ply) and the canonical colours (for the colour maps). */
  keepGaussians?: boolean;
  keepColors?: boolean;
  /** Initial (tile, Gaussian) pair capacity of the rasterizer (default 4N; grows on overflow). */
  capacity?: number;
}

interface PoseOut {
  poseMap: Tensor;
  delta: Tensor;
  other: Tensor;
}

interface ViewOut {
  image: Tensor;
  colors: Tensor | null;
  means: Tensor | null;
  rotations: Tensor | null;
  scales: Tensor | null;
  opacities: Tensor | null;
}

export interface FrameImages {
  width: number;
  height: number;
  /** [3, H, W] RGB on the background (not clamped). */
  color: Float32Array;
  /** [H, W] accumulated opacity. */
  alpha: Float32Array;
}

export class AnimationRenderer {
  readonly renderer: SplatRenderer;
  readonly background: [number, number, number];
  /** How many times each part ran (eager runs and replays; tests and the bench read them). */
  readonly runs = { pose: 0, view: 0, captures: 0 };
  private readonly jointMats: Tensor;
  private readonly jointMatsWoRoot: Tensor;
  private readonly pcaOn: Tensor;
  private readonly viewParams: Tensor;
  private readonly pca: PcaProjector | null;
  private readonly froze: boolean;
  private poseReplay: Replay | null = null;
  private viewReplay: Replay | null = null;
  private poseOut: PoseOut | null = null;
  private viewOut: ViewOut | null = null;
  private lastPose: { mats: Float32Array; project: boolean } | null = null;
  private warm = false;

  constructor(
    private readonly net: AvatarNet,
    private readonly canonical: CanonicalTensors,
    private readonly builder: PoseMapBuilder,
    private readonly opts: AnimationRendererOptions,
  ) {
    const J = canonical.weights.shape[1]!;
    if (builder.numJoints !== J)
      throw new Error(`AnimationRenderer: the pose map has ${builder.numJoints} joints, the Gaussians ${J}`);
    if (builder.size !== net.config.poseMapSize)
      throw new Error(`AnimationRenderer: pose maps of ${builder.size}², the networks read ${net.config.poseMapSize}²`);
    const keep = { persistent: true };
    this.jointMats = Tensor.zeros([J, 4, 4], { ...keep, label: 'animate joint matrices' });
    this.jointMatsWoRoot = Tensor.zeros([J, 4, 4], { ...keep, label: 'animate joint matrices (no root)' });
    this.pcaOn = Tensor.zeros([1], { ...keep, label: 'animate PCA switch' });
    this.viewParams = createViewParams({ camPos: [0, 0, 0], noiseStd: 0 });
    this.pca = opts.pca ?? null;
    this.background = [...(opts.background ?? [1, 1, 1])] as [number, number, number];
    this.renderer = new SplatRenderer(opts.width, opts.height, opts.capacity ? { capacity: opts.capacity } : {});
    this.froze = AVATAR_NET_KEYS.some((k) => !net.nets[k].isFrozen);
    for (const k of AVATAR_NET_KEYS) if (!net.nets[k].isFrozen) net.nets[k].freezeForInference();
  }

  get width(): number {
    return this.renderer.width;
  }

  get height(): number {
    return this.renderer.height;
  }

  /**
   * Upload a frame's inputs and run it: eagerly the first time (and when `eager`), then by replaying the captured
   * parts; the pose part is skipped when the pose equals the previous frame's. Read the results with `readImages`
   * etc. before the next `render`.
   */
  render(frame: FrameSpec, opts: { eager?: boolean } = {}): void {
    const g = gpu();
    if (frame.project && !this.pca) throw new Error('AnimationRenderer: pose projection asked for, but no PCA given');
    const last = this.lastPose;
    const poseChanged =
      !last || last.project !== frame.project || !sameValues(last.mats, frame.jointMatsWoRoot) || !this.poseOut;
    g.upload(this.jointMats.buffer, frame.jointMats);
    if (poseChanged) {
      g.upload(this.jointMatsWoRoot.buffer, frame.jointMatsWoRoot);
      g.upload(this.pcaOn.buffer, Float32Array.of(frame.project ? 1 : 0));
    }
    const c = cameraCenter(frame.camera);
    uploadViewParams(this.viewParams, { camPos: [c[0]!, c[1]!, c[2]!], noiseStd: 0 });
    this.renderer.setCamera(frame.camera, this.background);
    this.lastPose = { mats: Float32Array.from(frame.jointMatsWoRoot), project: frame.project };

    if (opts.eager || !this.warm) {
      this.invalidate();
      this.setPoseOut(this.runPose());
      this.setViewOut(this.runView());
      this.warm = true;
      return;
    }
    if (poseChanged) {
      if (this.poseReplay) {
        this.poseReplay.run();
        this.runs.pose++;
      } else {
        // new pose outputs: a view part captured on the old ones reads buffers that are no longer them
        this.dropReplay('view');
        this.setPoseOut(null);
        this.poseReplay = g.capture(() => {
          this.poseOut = this.runPose();
        });
        this.runs.captures++;
      }
    }
    if (this.viewReplay) {
      this.viewReplay.run();
      this.runs.view++;
    } else {
      this.setViewOut(null);
      this.viewReplay = g.capture(() => {
        this.viewOut = this.runView();
      });
      this.runs.captures++;
    }
  }

  /** Drop the captured parts (the next frame runs eagerly, then captures again). */
  invalidate(): void {
    this.dropReplay('pose');
    this.dropReplay('view');
  }

  /**
   * Whether a frame since the last check had more (tile, Gaussian) pairs than the rasterizer held (its farthest
   * pairs were dropped): then the capacity has grown, the view part is captured again at the next frame, and the
   * caller should render the frame again. Reads back.
   */
  async checkOverflow(): Promise<boolean> {
    const r = await this.renderer.checkOverflow();
    if (r.overflowed) this.dropReplay('view');
    return r.overflowed;
  }

  /** The last frame's colour and alpha. */
  async readImages(): Promise<FrameImages> {
    const out = this.requireView();
    const { width: W, height: H } = this;
    const all = await out.image.toArray();
    return { width: W, height: H, color: all.slice(0, 3 * W * H), alpha: all.slice(4 * W * H, 5 * W * H) };
  }

  /**
   * The last frame's image on the GPU, [5, H, W] planar: RGB on the background, depth, alpha (a page draws it to
   * its canvas without reading it back).
   */
  get image(): Tensor {
    return this.requireView().image;
  }

  /** The last frame's posed Gaussians (RGB colours), when built with `keepGaussians`. */
  async readGaussians(): Promise<PosedGaussians> {
    const out = this.requireView();
    if (!out.means) throw new Error('AnimationRenderer: built without keepGaussians');
    const [means, rotations, scales, opacities, bgr] = await Promise.all(
      [out.means, out.rotations!, out.scales!, out.opacities!, out.colors!].map((t) => t.toArray()),
    );
    return {
      count: means!.length / 3,
      means: means!,
      rotations: rotations!,
      scales: scales!,
      opacities: opacities!,
      colors: bgrToRgb(bgr!),
    };
  }

  /** The last frame's canonical Gaussian colours (N × 3 RGB), when built with `keepColors` or `keepGaussians`. */
  async readColors(): Promise<Float32Array> {
    const out = this.requireView();
    if (!out.colors) throw new Error('AnimationRenderer: built without keepColors');
    return bgrToRgb(await out.colors.toArray());
  }

  /** The last frame's network input (the posed, possibly projected, front map [3, S, S]). */
  async readPoseMap(): Promise<Float32Array> {
    if (!this.poseOut) throw new Error('AnimationRenderer: no frame rendered yet');
    return this.poseOut.poseMap.toArray();
  }

  dispose(): void {
    this.invalidate();
    this.setPoseOut(null);
    this.setViewOut(null);
    for (const t of [this.jointMats, this.jointMatsWoRoot, this.pcaOn, this.viewParams]) t.dispose();
    this.renderer.dispose();
    if (this.froze) for (const k of AVATAR_NET_KEYS) this.net.nets[k].unfreeze();
  }

  private requireView(): ViewOut {
    if (!this.viewOut) throw new Error('AnimationRenderer: no frame rendered yet');
    return this.viewOut;
  }

  private dropReplay(which: 'pose' | 'view'): void {
    if (which === 'pose') {
      this.poseReplay?.dispose();
      this.poseReplay = null;
    } else {
      this.viewReplay?.dispose();
      this.viewReplay = null;
    }
  }

  private setPoseOut(p: PoseOut | null): void {
    if (this.poseOut) for (const t of Object.values(this.poseOut)) t.dispose();
    this.poseOut = p;
  }

  private setViewOut(v: ViewOut | null): void {
    if (this.viewOut) for (const t of Object.values(this.viewOut)) t?.dispose();
    this.viewOut = v;
  }

  private runPose(): PoseOut {
    this.runs.pose++;
    const { net, builder, pca } = this;
    const out = noGrad(() =>
      scope(() => {
        let poseMap = builder.build(this.jointMatsWoRoot);
        if (pca) poseMap = pca.project(poseMap, this.pcaOn);
        const delta = net.map.gather(net.nets.position_net.forward(poseMap));
        const other = net.map.gather(net.nets.other_net.forward(poseMap));
        return { poseMap, delta, other };
      }),
    );
    for (const t of Object.values(out)) t.keep();
    return out;
  }

  private runView(): ViewOut {
    this.runs.view++;
    const { net, canonical } = this;
    const pose = this.poseOut!;
    const keepG = !!this.opts.keepGaussians;
    const keepC = keepG || !!this.opts.keepColors;
    const out = noGrad(() =>
      scope((): ViewOut => {
        const blend = blendJointMatrices(canonical.weights, this.jointMats);
        let view: [Tensor, Tensor] | undefined;
        if (net.viewdir) {
          const cos = viewCosines(blend, canonical.points, canonical.normals, this.viewParams);
          const f = net.viewdir.forward(net.map.viewInput(cos));
          view = [slice(f, 0, 0, 1), slice(f, 0, 1, 2)];
        }
        const color = net.map.gather(net.nets.color_net.forward(pose.poseMap, view));
        const gs = net.map.parameterize(pose.delta, color, pose.other);
        const image = renderAvatar(gs, blend, this.renderer).image;
        const posed = keepG ? skinGaussians(gs.positions, gs.rotations, blend) : null;
        return {
          image,
          colors: keepC ? gs.colors : null,
          means: posed?.positions ?? null,
          rotations: posed?.rotations ?? null,
          scales: keepG ? gs.scales : null,
          opacities: keepG ? gs.opacities : null,
        };
      }),
    );
    for (const t of Object.values(out)) t?.keep();
    return out;
  }
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** N × 3 BGR (the networks' order) → RGB. */
export function bgrToRgb(c: Float32Array): Float32Array {
  const out = new Float32Array(c.length);
  for (let i = 0; i + 2 < c.length; i += 3) {
    out[i] = c[i + 2]!;
    out[i + 1] = c[i + 1]!;
    out[i + 2] = c[i]!;
  }
  return out;
}

/** J identity matrices (J × 16): skinning that leaves the canonical Gaussians where they are. */
export function identityJoints(J: number): Float32Array {
  const m = new Float32Array(16 * J);
  for (let j = 0; j < J; j++) for (let k = 0; k < 4; k++) m[16 * j + 5 * k] = 1;
  return m;
}
