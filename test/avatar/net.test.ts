import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AVATAR_PRESETS,
  avatarNetUnetConfig,
  viewdirOutChannels,
  type AvatarNetConfig,
  type AvatarNetKey,
} from '../../src/avatar/config.js';
import { initialScaleRaw } from '../../src/avatar/knn-scale.js';
import { AvatarNet, avatarNetEntries, avatarNetParameterCount } from '../../src/avatar/net.js';
import { avatarNetOutputRef, parameterizeRef } from '../../src/avatar/net-reference.js';
import { parameterCount, styleUnetSpec } from '../../src/nn/styleunet/spec.js';
import { add, backward, clearTape, initEngine, mul, sum, Tensor } from '../../src/tensor/index.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { torchSave, type FakeValue } from '../helpers/torch-writer.js';

beforeAll(async () => {
  await initEngine();
});

const TINY: AvatarNetConfig = {
  poseMapSize: 64,
  mapSize: 128,
  inpCh: 3,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 3, 32: 3, 64: 2, 128: 2 },
  styleDim: 8,
  nMlp: 2,
  withViewdirs: true,
  viewdirHidden: 3,
};
const M = TINY.mapSize;

/** ~1% of the combined map's pixels (row-major, both sides, odd and even places) with random canonical points. */
function canonical(seed: number) {
  const rand = seededRandom(seed);
  const px: number[] = [];
  for (let p = 0; p < 2 * M * M; p++) if (rand() < 0.012 || p === 0 || p === 2 * M * M - 1) px.push(p);
  const pixels = Uint32Array.from(px);
  const positions = randomF32(3 * pixels.length, rand);
  return { positions, pixels, mapSize: M, scaleRaw0: initialScaleRaw(positions) };
}

/** Reference initialisation with every all-zero parameter (biases, noise weights) made nonzero. */
async function tinyNet(seed: number, canon: ReturnType<typeof canonical>) {
  const net = AvatarNet.init(TINY, canon, { seed });
  const sd = await net.stateDict();
  const rand = seededRandom(seed + 50);
  for (const e of avatarNetEntries(TINY)) {
    const v = sd.get(e.name)!;
    if (e.kind === 'param' && v.every((x) => x === 0)) for (let i = 0; i < v.length; i++) v[i] = (rand() - 0.5) * 0.4;
  }
  net.loadStateDict(sd);
  return { net, sd };
}

const KEYS = ['positions', 'opacities', 'scales', 'rotations', 'colors', 'offsets'] as const;

describe('AvatarNet', () => {
  it('has the reference parameter count at full size (from the specs, nothing allocated) and the small preset builds', () => {
    const full = AVATAR_PRESETS.full;
    expect(avatarNetParameterCount(full)).toBe(223_648_936);
    expect(parameterCount(styleUnetSpec(avatarNetUnetConfig(full, 'color_net')))).toBe(74_479_016);
    expect(parameterCount(styleUnetSpec(avatarNetUnetConfig(full, 'other_net')))).toBe(74_558_616);
    const names = avatarNetEntries(full).map((e) => e.name);
    expect(names).toContain('position_net.convs1.0.conv.weight');
    expect(names).toContain('other_net.to_rgbs2.5.bias');
    expect(avatarNetEntries(full).find((e) => e.name === 'viewdir_net.2.weight')!.shape).toEqual([128, 64, 4, 4]);
    const small = AVATAR_PRESETS.small;
    for (const n of ['position_net', 'color_net', 'other_net'] as const) {
      const spec = styleUnetSpec(avatarNetUnetConfig(small, n));
      expect(spec.levels.at(-1)!.res).toBe(small.poseMapSize);
      expect(spec.viewCh).toBe(viewdirOutChannels(small));
    }
  });

  describe('tiny forward and backward', () => {
    const canon = canonical(3);
    const N = canon.pixels.length;
    const S = TINY.poseMapSize;
    const rand = seededRandom(9);
    const pose = randomF32(3 * S * S, rand);
    const cos = randomF32(N, rand);
    const poseF64 = { data: Float64Array.from(pose), n: 1, c: 3, h: S, w: S };
    let net: AvatarNet;
    let sd: Map<string, Float32Array>;
    const raw = (key: AvatarNetKey, p: ReadonlyMap<string, ArrayLike<number>>) =>
      avatarNetOutputRef(TINY, p, canon, poseF64, key, cos);
    type Raws = Record<AvatarNetKey, Float64Array>;
    let raws: Raws;
    const gaussians = (r: Raws) => parameterizeRef(canon, r.position_net, r.color_net, r.other_net);
    const run = () => net.forward(Tensor.from(pose, [1, 3, S, S]), Tensor.from(cos, [N]));

    beforeAll(async () => {
      ({ net, sd } = await tinyNet(7, canon));
      raws = {
        position_net: raw('position_net', sd),
        color_net: raw('color_net', sd),
        other_net: raw('other_net', sd),
      };
    });
    afterAll(() => net.dispose());

    it('forward matches the float64 AvatarNet (gather, view input, parameterisation)', async () => {
      const out = run();
      expect(out.positions.shape).toEqual([N, 3]);
      expect(out.opacities.shape).toEqual([N, 1]);
      expect(out.scales.shape).toEqual([N, 3]);
      expect(out.rotations.shape).toEqual([N, 4]);
      expect(out.colors.shape).toEqual([N, 3]);
      expect(out.offsets.shape).toEqual([N, 3]);
      const want = gaussians(raws);
      for (const k of KEYS) expect(relError(await out[k].toArray(), want[k]), k).toBeLessThan(1e-4);
      clearTape();
    });

    it('gradients reach the three networks and the view CNN and match finite differences', async () => {
      const out = run();
      // L = Σ_k ⟨r_k, out_k⟩; one probe per part against central differences of the float64 AvatarNet (only the
      // network a parameter belongs to is recomputed; the view CNN feeds the colour network).
      const r = Object.fromEntries(KEYS.map((k) => [k, randomF32(out[k].size, rand)])) as Record<string, Float32Array>;
      const terms = KEYS.map((k) => sum(mul(out[k], Tensor.from(r[k]!, out[k].shape))));
      backward(terms.reduce((a, b) => add(a, b)));
      const probes: Array<[string, number, AvatarNetKey]> = [
        ['viewdir_net.0.weight', 5, 'color_net'],
        ['position_net.convs2.11.activate.bias', 1, 'position_net'],
        ['color_net.to_rgbs1.5.bias', 2, 'color_net'],
        ['other_net.to_rgbs2.5.bias', 3, 'other_net'],
      ];
      for (const [name, i, owner] of probes) {
        const g = (await net.tensor(name).grad!.toArray())[i]!;
        const eps = 1e-6;
        const L = (d: number) => {
          const m = new Map<string, ArrayLike<number>>(sd);
          const v = Float64Array.from(sd.get(name)!);
          v[i]! += d;
          m.set(name, v);
          const o = gaussians({ ...raws, [owner]: raw(owner, m) });
          return KEYS.reduce((s, k) => s + o[k].reduce((a, x, j) => a + x * r[k]![j]!, 0), 0);
        };
        const fd = (L(eps) - L(-eps)) / (2 * eps);
        expect(Math.abs(fd), `${name}: the loss must depend on it`).toBeGreaterThan(1e-4);
        expect(Math.abs(g - fd), `${name}[${i}]: GPU ${g}, finite difference ${fd}`).toBeLessThan(
          2e-3 * Math.max(1, Math.abs(fd)),
        );
      }
      for (const key of ['position_net', 'color_net', 'other_net']) {
        const g = await net.tensor(`${key}.conv_in.1.weight`).grad!.toArray();
        expect(
          g.some((v) => v !== 0),
          `${key} gets gradients`,
        ).toBe(true);
      }
    });
  });

  it('exposes the base values, round-trips its state dict, and imports a subset of a reference checkpoint', async () => {
    const canon = canonical(4);
    const N = canon.pixels.length;
    const { net, sd } = await tinyNet(2, canon);
    expect(await net.base.opacities.toArray()).toEqual(new Float32Array(N).fill(0.1));
    const scales = await net.base.scales.toArray();
    expect(scales[3 * 7 + 2]).toBeCloseTo(Math.exp(canon.scaleRaw0[7]!), 5);
    expect(Array.from((await net.base.rotations.toArray()).slice(0, 8))).toEqual([1, 0, 0, 0, 1, 0, 0, 0]);
    const back = await net.stateDict();
    expect([...back.keys()]).toEqual(avatarNetEntries(TINY).map((e) => e.name));
    expect(back.get('other_net.style.1.bias')).toEqual(sd.get('other_net.style.1.bias'));
    const copy = AvatarNet.fromStateDict(TINY, canon, back);
    expect((await copy.stateDict()).get('color_net.convs2.4.conv.weight')).toEqual(
      sd.get('color_net.convs2.4.conv.weight'),
    );
    copy.dispose();
    expect(() => AvatarNet.fromStateDict(TINY, canon, new Map([...sd].slice(1)))).toThrow(
      /AvatarNet position_net: DualStyleUNet: 1 state-dict entries missing, e\.g\. style\.1\.weight/,
    );
    expect(() => net.loadStateDict(new Map([...sd].slice(1)))).toThrow(
      /1 entries missing \(e\.g\. position_net\.style\.1\.weight/,
    );

    // A reference net.pt holding only color_net and the view CNN: import color_net alone, the rest fresh.
    const entries = new Map<string, FakeValue>();
    for (const e of avatarNetEntries(TINY)) {
      if (e.name.startsWith('color_net.') || e.name.startsWith('viewdir_net.')) {
        entries.set(e.name, { data: sd.get(e.name)!, shape: e.shape });
      }
    }
    const bytes = torchSave(new Map<string, FakeValue>([['avatar_net', { ordered: entries }]]));
    expect(() => AvatarNet.fromReferenceCheckpoint(bytes, canon, { config: TINY })).toThrow(
      /no 'position_net', 'other_net' in the checkpoint \(it holds color_net, viewdir_net\)/,
    );
    const imported = AvatarNet.fromReferenceCheckpoint(bytes, canon, { config: TINY, nets: ['color_net'], seed: 5 });
    const isd = await imported.stateDict();
    expect(isd.get('color_net.convs1.3.noise.weight')).toEqual(sd.get('color_net.convs1.3.noise.weight'));
    expect(isd.get('viewdir_net.0.bias')).not.toEqual(sd.get('viewdir_net.0.bias'));
    imported.dispose();
    net.dispose();
  });
});
