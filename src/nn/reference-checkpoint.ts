/**
 * Import of the reference implementation's avatar checkpoints (`net.pt`: {epoch_idx, iter_idx, avatar_net}), so
 * its published pretrained avatars load (checkpoint-layout.md). The state dict is split by sub-network prefix
 * (`position_net.`, `color_net.`, `other_net.`: DualStyleUNets; `viewdir_net.0.` / `viewdir_net.2.`: the view CNN),
 * and every entry is checked against the structure we build (spec.ts): a missing or mis-shaped key is an error that
 * names it. Values stay as the reference stores them (the colour network predicts BGR; the avatar converts).
 */
import { isTorchTensor, readTorchCheckpoint, type TorchTensor } from '../io/torch.js';
import { avatarUnetConfig, styleUnetSpec, type StyleUnetConfig } from './styleunet/spec.js';

export const AVATAR_NETS = { position_net: 3, color_net: 3, other_net: 8 } as const;
export type AvatarNetName = keyof typeof AVATAR_NETS;

/** The view-direction CNN: Conv2d(1→64, 4, s2, p1) → LeakyReLU(0.2) → Conv2d(64→128, 4, s2, p1). */
export function viewdirEntries(hidden = 64, out = 128): Array<{ name: string; shape: number[] }> {
  return [
    { name: 'viewdir_net.0.weight', shape: [hidden, 1, 4, 4] },
    { name: 'viewdir_net.0.bias', shape: [hidden] },
    { name: 'viewdir_net.2.weight', shape: [out, hidden, 4, 4] },
    { name: 'viewdir_net.2.bias', shape: [out] },
  ];
}

/** What a checkpoint holds: the three DualStyleUNets and the view CNN (`viewdir_net`). */
export type AvatarPartName = AvatarNetName | 'viewdir_net';
export const AVATAR_PARTS: readonly AvatarPartName[] = [
  ...(Object.keys(AVATAR_NETS) as AvatarNetName[]),
  'viewdir_net',
];

export interface ReferenceAvatarWeights {
  epoch: number | null;
  iteration: number | null;
  /** Per imported network: state-dict values by the names of spec.ts (prefix removed). */
  networks: Partial<Record<AvatarNetName, Map<string, Float32Array>>>;
  /** The view CNN's weights, by their full names (null when it was not imported). */
  viewdir: Map<string, Float32Array> | null;
}

export interface ImportOptions {
  /** Network configurations (default: the reference's full-size ones). */
  configs?: Partial<Record<AvatarNetName, StyleUnetConfig>>;
  /** View CNN channels (default 64 → 128). */
  viewdir?: { hidden: number; out: number };
  /**
   * Which parts to import (default: all four). The others' entries are skipped unchecked, so e.g. only the colour
   * network of a checkpoint can be loaded, or a checkpoint trained without view conditioning.
   */
  nets?: readonly AvatarPartName[];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const partOf = (key: string): AvatarPartName | null => AVATAR_PARTS.find((p) => key.startsWith(`${p}.`)) ?? null;

/** Validate and split an unpickled checkpoint object. */
export function splitReferenceCheckpoint(
  obj: unknown,
  source: string,
  opts: ImportOptions = {},
): ReferenceAvatarWeights {
  const top = obj as Record<string, unknown> | null;
  const sd = (top && typeof top === 'object' && 'avatar_net' in top ? top.avatar_net : top) as Record<string, unknown>;
  if (!sd || typeof sd !== 'object') throw new Error(`${source}: no 'avatar_net' state dict in the checkpoint`);
  const tensors = new Map<string, TorchTensor>();
  for (const [k, v] of Object.entries(sd)) if (isTorchTensor(v)) tensors.set(k, v);
  if (tensors.size === 0) throw new Error(`${source}: the 'avatar_net' entry holds no tensors`);
  const wanted = new Set(opts.nets ?? AVATAR_PARTS);
  for (const n of wanted) {
    if (!AVATAR_PARTS.includes(n))
      throw new Error(`${source}: unknown network '${n}' (one of ${AVATAR_PARTS.join(', ')})`);
  }
  const present = AVATAR_PARTS.filter((p) => [...tensors.keys()].some((k) => partOf(k) === p));
  const absent = [...wanted].filter((n) => !present.includes(n));
  if (absent.length) {
    throw new Error(
      `${source}: no ${absent.map((n) => `'${n}'`).join(', ')} in the checkpoint (it holds ${present.join(', ') || 'none of the avatar networks'}); ask only for those it has (nets option)`,
    );
  }
  const used = new Set<string>();
  const take = (name: string, shape: readonly number[]): Float32Array => {
    const t = tensors.get(name);
    if (!t)
      throw new Error(
        `${source}: missing '${name}' (shape [${shape}]): not an Animatable Gaussians avatar checkpoint?`,
      );
    if (!sameShape(t.shape, shape)) {
      throw new Error(`${source}: '${name}' has shape [${t.shape}], expected [${shape}] (a different network size?)`);
    }
    used.add(name);
    return t.data;
  };
  const networks: Partial<Record<AvatarNetName, Map<string, Float32Array>>> = {};
  for (const [net, outCh] of Object.entries(AVATAR_NETS) as Array<[AvatarNetName, number]>) {
    if (!wanted.has(net)) continue;
    const spec = styleUnetSpec(opts.configs?.[net] ?? avatarUnetConfig(outCh));
    const m = new Map<string, Float32Array>();
    for (const e of spec.entries) m.set(e.name, take(`${net}.${e.name}`, e.shape));
    networks[net] = m;
  }
  let viewdir: Map<string, Float32Array> | null = null;
  if (wanted.has('viewdir_net')) {
    viewdir = new Map();
    for (const e of viewdirEntries(opts.viewdir?.hidden, opts.viewdir?.out)) viewdir.set(e.name, take(e.name, e.shape));
  }
  // Entries of the requested parts (or of none) that we did not take: a different architecture.
  const extra = [...tensors.keys()].filter((k) => !used.has(k) && (partOf(k) === null || wanted.has(partOf(k)!)));
  if (extra.length) {
    throw new Error(`${source}: ${extra.length} unexpected entries, e.g. ${extra.slice(0, 3).join(', ')}`);
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return { epoch: num(top?.epoch_idx), iteration: num(top?.iter_idx), networks, viewdir };
}

export function readReferenceCheckpoint(
  bytes: Uint8Array,
  source = 'net.pt',
  opts?: ImportOptions,
): ReferenceAvatarWeights {
  return splitReferenceCheckpoint(readTorchCheckpoint(bytes, source), source, opts);
}
