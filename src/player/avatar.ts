/**
 * The avatar as the page plays it, built from the site's bytes (format.ts): AvatarNet, the canonical tensors, the
 * pose-map builder and the PCA, and per motion frame the inputs of `animate`'s frame (src/animate/frame.ts), which
 * does the GPU work exactly as `animgs animate` does: pose map, the three frozen networks, skinning, splatting,
 * recorded once and replayed, with only the view part rerun when the pose is held and the camera moves.
 * Browser-safe: the Node tests build it from the same files to check it against `animate`.
 */
import { AnimationRenderer, type FrameSpec } from '../animate/frame.js';
import { PcaProjector, PoseMapBuilder } from '../animate/pose-map-gpu.js';
import { orbitCamera, type ViewRig } from '../animate/views.js';
import { canonicalGaussians, canonicalTensors, disposeCanonical, type CanonicalTensors } from '../avatar/canonical.js';
import { AvatarNet } from '../avatar/net.js';
import type { Camera } from '../splat/camera.js';
import {
  decodeBaked,
  decodeCanonical,
  decodeMotion,
  decodeNetWeights,
  type BakedFrames,
  type DecodedCanonical,
  type Motion,
  type SiteManifest,
} from '../animate/web/format.js';

/** Where the camera is: angles about the motion's rig centre (radians) and the distance (metres). */
export interface OrbitView {
  pitch: number;
  yaw: number;
  distance: number;
}

/** A site's files decoded on the CPU (PlayerAvatar.decode), before anything is on the GPU. */
export interface DecodedAvatar {
  manifest: SiteManifest;
  maps: DecodedCanonical['maps'];
  pca: DecodedCanonical['pca'];
  gaussians: ReturnType<typeof canonicalGaussians>;
  weights: Map<string, Float32Array>;
  motions: Motion[];
}

export const FRONT_VIEW: OrbitView = { pitch: 0, yaw: 0, distance: 2.5 };

export class PlayerAvatar {
  readonly motions: Motion[];
  private readonly chunks = new Map<string, Promise<BakedFrames>>();
  /** Where the site's files come from (baked chunks are fetched as they are needed). */
  file: (path: string) => Promise<Uint8Array> = () => Promise.reject(new Error('no file source'));

  private constructor(
    readonly manifest: SiteManifest,
    readonly net: AvatarNet,
    readonly canonical: CanonicalTensors,
    readonly builder: PoseMapBuilder,
    readonly pca: PcaProjector | null,
    motions: Motion[],
  ) {
    this.motions = motions;
  }

  /**
   * From the site's files (`file(path)` gives a file's bytes, fetched or read): decode, then build. The engine must
   * be initialised (initEngine) first.
   */
  static async load(manifest: SiteManifest, file: (path: string) => Promise<Uint8Array>): Promise<PlayerAvatar> {
    const [netBytes, canoBytes, ...motionBytes] = await Promise.all([
      file(manifest.net.file),
      file(manifest.canonical.file),
      ...manifest.motions.map((m) => file(m.file)),
    ]);
    const avatar = PlayerAvatar.build(PlayerAvatar.decode(manifest, netBytes!, canoBytes!, motionBytes));
    avatar.file = file;
    return avatar;
  }

  /** The CPU part of load: the files' bytes parsed and converted (weights to f32, the canonical Gaussians). */
  static decode(
    manifest: SiteManifest,
    netBytes: Uint8Array,
    canoBytes: Uint8Array,
    motionBytes: readonly Uint8Array[],
  ): DecodedAvatar {
    const { maps, pca } = decodeCanonical(canoBytes, manifest.canonical.file);
    return {
      manifest,
      maps,
      pca,
      gaussians: canonicalGaussians(maps),
      weights: decodeNetWeights(netBytes, manifest.net.file),
      motions: motionBytes.map((b, i) => decodeMotion(b, manifest.motions[i]!.file)),
    };
  }

  /** The GPU part of load: the networks, the canonical tensors, the pose-map builder and the PCA uploaded. */
  static build(d: DecodedAvatar): PlayerAvatar {
    const cfg = d.manifest.net.config;
    const net = AvatarNet.fromStateDict(cfg, d.gaussians, d.weights);
    const canonical = canonicalTensors(d.maps, d.gaussians);
    const builder = new PoseMapBuilder(d.maps, cfg.poseMapSize);
    const projector = d.pca ? new PcaProjector(d.pca.pca, d.pca.pixels, cfg.poseMapSize, d.pca.sigma) : null;
    for (const m of d.motions) {
      if (m.numJoints !== builder.numJoints)
        throw new Error(`a motion of ${m.numJoints} joints for an avatar of ${builder.numJoints}`);
    }
    return new PlayerAvatar(d.manifest, net, canonical, builder, projector, d.motions);
  }

  /** A renderer of this avatar at a size (the page makes a new one when the canvas is resized). */
  renderer(width: number, height: number, background: readonly [number, number, number]): AnimationRenderer {
    return new AnimationRenderer(this.net, this.canonical, this.builder, { width, height, background, pca: this.pca });
  }

  /** The camera of a view of motion `m` at an image size (the synthetic views' rig: frame 0's body centre). */
  camera(m: number, view: OrbitView, width: number, height: number): Camera {
    const info = this.manifest.motions[m]!;
    const rig: ViewRig = { width, height, center: info.center, upright: Float64Array.from(info.upright) };
    return orbitCamera(rig, view.pitch, view.yaw, { distance: view.distance });
  }

  /** Frame `i` of motion `m` from a view. */
  frame(m: number, i: number, camera: Camera): FrameSpec {
    const mo = this.motions[m]!;
    const J16 = mo.numJoints * 16;
    return {
      jointMats: mo.joints.subarray(i * J16, (i + 1) * J16),
      jointMatsWoRoot: mo.jointsWoRoot.subarray(i * J16, (i + 1) * J16),
      camera,
      project: !!mo.project[i] && !!this.pca,
    };
  }

  /** Whether motion `m` is baked (its frames are posed Gaussians: no networks run). */
  isBaked(m: number): boolean {
    return !!this.manifest.motions[m]!.baked;
  }

  /** The baked chunk holding frame `i` of motion `m`, and the frame's index in it; the next chunk is fetched ahead. */
  async bakedFrame(m: number, i: number): Promise<{ chunk: BakedFrames; index: number }> {
    const b = this.manifest.motions[m]!.baked;
    if (!b) throw new Error(`motion ${this.manifest.motions[m]!.name} is not baked`);
    const k = Math.floor(i / b.framesPerChunk);
    const get = (c: number) => {
      const path = b.chunks[c]!;
      let p = this.chunks.get(path);
      if (!p) {
        p = this.file(path).then((bytes) => decodeBaked(bytes, path));
        p.catch(() => this.chunks.delete(path)); // a failed fetch is tried again next time
        this.chunks.set(path, p);
        // keep the chunk in use, the next and the previous: a long motion does not pile up in memory
        for (const key of [...this.chunks.keys()]) {
          const at = b.chunks.indexOf(key);
          if (at >= 0 && Math.abs(at - c) > 1) this.chunks.delete(key);
        }
      }
      return p;
    };
    if (k + 1 < b.chunks.length) void get(k + 1).catch(() => undefined);
    return { chunk: await get(k), index: i - k * b.framesPerChunk };
  }

  dispose(): void {
    this.pca?.dispose();
    this.builder.dispose();
    this.net.dispose();
    disposeCanonical(this.canonical);
  }
}
