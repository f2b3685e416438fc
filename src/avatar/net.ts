/**
 * AvatarNet: the posed position map → the avatar's canonical Gaussians. Three DualStyleUNets read the pose map
 * (position_net: position offsets, color_net: colours, conditioned on the view through the view CNN, other_net:
 * opacity | scale | rotation); their front/back output maps are read at the canonical Gaussians' pixels and turned
 * into Gaussians around the base values (gaussian-map.ts). State-dict names are the reference's
 * (position_net.*, color_net.*, other_net.*, viewdir_net.*), so its checkpoints load and ours use the same names.
 */
import {
  AVATAR_PARTS,
  readReferenceCheckpoint,
  viewdirEntries,
  type AvatarPartName,
  type ImportOptions,
  type ReferenceAvatarWeights,
} from '../nn/reference-checkpoint.js';
import { DualStyleUNet } from '../nn/styleunet/network.js';
import { parameterCount, styleUnetSpec, type ParamEntry } from '../nn/styleunet/spec.js';
import { slice } from '../tensor/ops/indexing.js';
import { gpu, scope, type Tensor } from '../tensor/tensor.js';
import {
  AVATAR_NET_KEYS,
  AVATAR_PRESETS,
  avatarNetUnetConfig,
  viewdirOutChannels,
  type AvatarNetConfig,
  type AvatarNetKey,
} from './config.js';
import { GaussianMap, type AvatarGaussians, type BaseGaussians, type CanonicalGaussians } from './gaussian-map.js';
import { ViewdirNet } from './viewdir-net.js';

/** Every state-dict entry of AvatarNet under `config`, by full name (the three networks, then the view CNN). */
export function avatarNetEntries(config: AvatarNetConfig): ParamEntry[] {
  const out: ParamEntry[] = [];
  for (const net of AVATAR_NET_KEYS) {
    for (const e of styleUnetSpec(avatarNetUnetConfig(config, net)).entries)
      out.push({ ...e, name: `${net}.${e.name}` });
  }
  if (config.withViewdirs) {
    for (const e of viewdirEntries(config.viewdirHidden, viewdirOutChannels(config))) out.push({ ...e, kind: 'param' });
  }
  return out;
}

/** Trained parameters of AvatarNet (what the reference prints: 223,648,936 for the full preset), from the specs. */
export function avatarNetParameterCount(config: AvatarNetConfig): number {
  let n = 0;
  for (const net of AVATAR_NET_KEYS) n += parameterCount(styleUnetSpec(avatarNetUnetConfig(config, net)));
  if (config.withViewdirs) {
    for (const e of viewdirEntries(config.viewdirHidden, viewdirOutChannels(config)))
      n += e.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

export interface AvatarNetOptions {
  /** Seed of the initialisation (networks not loaded from a checkpoint). */
  seed?: number;
}

export interface ReferenceImportOptions extends AvatarNetOptions {
  /** Sizes (default: the full preset, the reference's). */
  config?: AvatarNetConfig;
  /** Parts to take from the checkpoint (default: all the config has); the others are initialised fresh. */
  nets?: readonly AvatarPartName[];
  /** The file the bytes came from, for error messages (default 'net.pt'). */
  source?: string;
}

export class AvatarNet {
  readonly nets: Record<AvatarNetKey, DualStyleUNet>;
  /** The view CNN (null when the config has no view conditioning). */
  readonly viewdir: ViewdirNet | null;
  readonly map: GaussianMap;

  private constructor(
    readonly config: AvatarNetConfig,
    canonical: CanonicalGaussians,
    weights: Partial<Record<AvatarNetKey, ReadonlyMap<string, Float32Array>>>,
    viewdir: ReadonlyMap<string, Float32Array> | null,
    seed: number,
  ) {
    if (canonical.mapSize !== config.mapSize) {
      throw new Error(`AvatarNet: canonical maps of ${canonical.mapSize}² per side, config expects ${config.mapSize}²`);
    }
    const nets: Partial<Record<AvatarNetKey, DualStyleUNet>> = {};
    try {
      AVATAR_NET_KEYS.forEach((net, i) => {
        const c = avatarNetUnetConfig(config, net);
        const w = weights[net];
        try {
          nets[net] = w ? DualStyleUNet.fromStateDict(c, w) : DualStyleUNet.init(c, seed + i);
        } catch (e) {
          throw new Error(`AvatarNet ${net}: ${(e as Error).message}`);
        }
      });
      this.nets = nets as Record<AvatarNetKey, DualStyleUNet>;
      const [hidden, out] = [config.viewdirHidden, viewdirOutChannels(config)];
      this.viewdir = !config.withViewdirs
        ? null
        : viewdir
          ? ViewdirNet.fromStateDict(hidden, out, viewdir)
          : ViewdirNet.init(hidden, out, seed + 3);
      this.map = new GaussianMap(canonical);
    } catch (e) {
      for (const n of Object.values(nets)) n.dispose();
      throw e;
    }
  }

  /** A freshly initialised AvatarNet (the reference's initialisation), deterministic in `seed`. */
  static init(config: AvatarNetConfig, canonical: CanonicalGaussians, opts: AvatarNetOptions = {}): AvatarNet {
    return new AvatarNet(config, canonical, {}, null, opts.seed ?? 1);
  }

  /** From state-dict values by full names (what `stateDict()` gives, or our safetensors checkpoints hold). */
  static fromStateDict(
    config: AvatarNetConfig,
    canonical: CanonicalGaussians,
    values: ReadonlyMap<string, Float32Array>,
  ): AvatarNet {
    const weights: Partial<Record<AvatarNetKey, Map<string, Float32Array>>> = {};
    const viewdir = new Map<string, Float32Array>();
    const extra: string[] = [];
    for (const [k, v] of values) {
      const net = AVATAR_NET_KEYS.find((n) => k.startsWith(`${n}.`));
      if (net) (weights[net] ??= new Map()).set(k.slice(net.length + 1), v);
      else if (k.startsWith('viewdir_net.') && config.withViewdirs) viewdir.set(k, v);
      else extra.push(k);
    }
    const missing: string[] = AVATAR_NET_KEYS.filter((n) => !weights[n]);
    if (config.withViewdirs && viewdir.size === 0) missing.push('viewdir_net');
    if (missing.length || extra.length) {
      throw new Error(
        `AvatarNet.fromStateDict: ${missing.length ? `no ${missing.join(', ')} entries` : ''}` +
          `${missing.length && extra.length ? '; ' : ''}${extra.length ? `unexpected ${extra.slice(0, 3).join(', ')}` : ''}` +
          ' (a checkpoint of another config?)',
      );
    }
    return new AvatarNet(config, canonical, weights, config.withViewdirs ? viewdir : null, 1);
  }

  /**
   * From the bytes of the reference's `net.pt` (bytes, not a path, so this class stays browser-safe). `nets` picks
   * the parts to import (e.g. only color_net); the others start from the initialisation.
   */
  static fromReferenceCheckpoint(
    bytes: Uint8Array,
    canonical: CanonicalGaussians,
    opts: ReferenceImportOptions = {},
  ): AvatarNet {
    const config = opts.config ?? AVATAR_PRESETS.full;
    const importOpts: ImportOptions = {
      configs: Object.fromEntries(AVATAR_NET_KEYS.map((n) => [n, avatarNetUnetConfig(config, n)])),
      viewdir: { hidden: config.viewdirHidden, out: viewdirOutChannels(config) },
      nets: opts.nets ?? AVATAR_PARTS.filter((p) => p !== 'viewdir_net' || config.withViewdirs),
    };
    const w: ReferenceAvatarWeights = readReferenceCheckpoint(bytes, opts.source ?? 'net.pt', importOpts);
    if (w.viewdir && !config.withViewdirs) {
      throw new Error('AvatarNet.fromReferenceCheckpoint: viewdir_net requested but the config has withViewdirs false');
    }
    return new AvatarNet(config, canonical, w.networks, w.viewdir, opts.seed ?? 1);
  }

  /** The values a zero network output gives: the pretraining targets. */
  get base(): BaseGaussians {
    return this.map.base;
  }

  get numGaussians(): number {
    return this.map.n;
  }

  /**
   * poseMap [1, inpCh, S, S] (the front posed position map) and, with view conditioning, the per-Gaussian view
   * cosines [N] → the canonical Gaussians, on the tape.
   */
  forward(poseMap: Tensor, viewCosines?: Tensor): AvatarGaussians {
    const S = this.config.poseMapSize;
    const shape = [1, this.config.inpCh, S, S];
    if (poseMap.rank !== 4 || poseMap.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`AvatarNet: the pose map must be [${shape}], got [${poseMap.shape}]`);
    }
    // Each network in a scope that keeps only its gathered output: what its backward needs stays alive through the
    // tape, and what nothing needs (a transposed conv's output before its blur, the ToRGB skips, the 2×1024² output
    // map once gathered) goes back to the pool before the next network runs, so a training step's peak holds one
    // network's temporaries, not three (bench/train-memory.ts).
    let view: [Tensor, Tensor] | undefined;
    if (this.viewdir) {
      if (!viewCosines) throw new Error('AvatarNet: view conditioning is on: pass the view cosines [N] to forward');
      const vd = this.viewdir;
      view = scope(() => {
        const f = vd.forward(this.map.viewInput(viewCosines));
        return [slice(f, 0, 0, 1), slice(f, 0, 1, 2)] as [Tensor, Tensor];
      });
    }
    const delta = scope(() => this.map.gather(this.nets.position_net.forward(poseMap)));
    const color = scope(() => this.map.gather(this.nets.color_net.forward(poseMap, view)));
    const other = scope(() => this.map.gather(this.nets.other_net.forward(poseMap)));
    return this.map.parameterize(delta, color, other);
  }

  /** Every trained parameter (for Adam): the three networks', then the view CNN's. */
  parameters(): Tensor[] {
    return [...AVATAR_NET_KEYS.flatMap((n) => this.nets[n].parameters()), ...(this.viewdir?.parameters() ?? [])];
  }

  /** A state-dict entry's tensor by full name (e.g. 'color_net.conv_in.1.weight', 'viewdir_net.0.bias'). */
  tensor(name: string): Tensor {
    const t = this.tensorsByName().get(name);
    if (!t) throw new Error(`AvatarNet: no entry '${name}' (names as avatarNetEntries)`);
    return t;
  }

  /** Every state-dict entry (fixed buffers too) by full name, in avatarNetEntries order. */
  private tensorsByName(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const n of AVATAR_NET_KEYS) for (const [k, t] of this.nets[n].tensors) out.set(`${n}.${k}`, t);
    if (this.viewdir) for (const [k, t] of this.viewdir.tensors) out.set(k, t);
    return out;
  }

  async stateDict(): Promise<Map<string, Float32Array>> {
    const byName = this.tensorsByName();
    const names = avatarNetEntries(this.config).map((e) => e.name);
    // all reads in flight at once: one wait for the GPU instead of one per tensor (hundreds at a checkpoint)
    const values = await Promise.all(names.map((n) => byName.get(n)!.toArray()));
    return new Map(names.map((n, i) => [n, values[i]!]));
  }

  /** Overwrite every entry from `values` (all of avatarNetEntries must be present, with their sizes; no others). */
  loadStateDict(values: ReadonlyMap<string, ArrayLike<number>>): void {
    const byName = this.tensorsByName();
    const missing = [...byName.keys()].filter((k) => !values.has(k));
    const extra = [...values.keys()].filter((k) => !byName.has(k));
    if (missing.length || extra.length) {
      throw new Error(
        `AvatarNet.loadStateDict: ${missing.length} entries missing (e.g. ${missing.slice(0, 3).join(', ') || '-'}), ` +
          `${extra.length} unexpected (e.g. ${extra.slice(0, 3).join(', ') || '-'}): a checkpoint of another config?`,
      );
    }
    for (const [k, t] of byName) {
      const v = values.get(k)!;
      if (v.length !== t.size)
        throw new Error(`AvatarNet.loadStateDict: '${k}' has ${v.length} values, expected [${t.shape}]`);
    }
    for (const [k, t] of byName) gpu().upload(t.buffer, Float32Array.from(values.get(k)!));
    // Cached inference weights derive from the old values.
    for (const n of AVATAR_NET_KEYS) if (this.nets[n].isFrozen) this.nets[n].freezeForInference();
  }

  dispose(): void {
    for (const n of AVATAR_NET_KEYS) this.nets[n].dispose();
    this.viewdir?.dispose();
    this.map.dispose();
  }
}
