import { beforeAll, describe, expect, it } from 'vitest';
import { AVATAR_NETS, readReferenceCheckpoint, viewdirEntries } from '../../src/nn/reference-checkpoint.js';
import { DualStyleUNet } from '../../src/nn/styleunet/network.js';
import { styleUnetForwardRef } from '../../src/nn/styleunet/reference.js';
import { styleUnetSpec } from '../../src/nn/styleunet/spec.js';
import { initEngine, noGrad, Tensor } from '../../src/tensor/index.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { torchSave, type FakeValue } from '../helpers/torch-writer.js';
import { TINY, tinyParams } from './tiny-unet.js';

beforeAll(async () => {
  await initEngine();
});

const configs = { position_net: TINY, color_net: TINY, other_net: TINY };

function fakeAvatarCheckpoint(drop?: string | RegExp): { bytes: Uint8Array; params: Map<string, Float32Array> } {
  const sd = new Map<string, FakeValue>();
  const params = tinyParams(9);
  for (const net of Object.keys(AVATAR_NETS)) {
    for (const e of styleUnetSpec(TINY).entries)
      sd.set(`${net}.${e.name}`, { data: params.get(e.name)!, shape: e.shape });
  }
  const rand = seededRandom(4);
  for (const e of viewdirEntries(5, TINY.channels[TINY.inpSize / 2]!)) {
    sd.set(e.name, {
      data: randomF32(
        e.shape.reduce((a, b) => a * b, 1),
        rand,
      ),
      shape: e.shape,
    });
  }
  if (typeof drop === 'string') sd.delete(drop);
  else if (drop) for (const k of [...sd.keys()]) if (drop.test(k)) sd.delete(k);
  const root = new Map<string, FakeValue>([
    ['epoch_idx', 12],
    ['iter_idx', 50000],
    ['avatar_net', { ordered: sd }],
  ]);
  return { bytes: torchSave(root), params };
}

describe('reference checkpoint import', () => {
  it('splits net.pt into the three DualStyleUNets and the view CNN, and the imported network computes the reference forward', async () => {
    const { bytes, params } = fakeAvatarCheckpoint();
    const opts = { configs, viewdir: { hidden: 5, out: TINY.channels[TINY.inpSize / 2]! } };
    const w = readReferenceCheckpoint(bytes, 'net.pt', opts);
    expect(w.epoch).toBe(12);
    expect(w.iteration).toBe(50000);
    expect(w.viewdir!.get('viewdir_net.0.weight')!.length).toBe(5 * 16);
    const net = DualStyleUNet.fromStateDict(TINY, w.networks.color_net!);
    const S = TINY.inpSize;
    const xa = randomF32(3 * S * S, seededRandom(2));
    const y = noGrad(() => net.forward(Tensor.from(xa, [1, 3, S, S])));
    const ref = styleUnetForwardRef(TINY, params, { data: Float64Array.from(xa), n: 1, c: 3, h: S, w: S });
    expect(relError(await y.toArray(), ref.data)).toBeLessThan(1e-4);
    net.dispose();
  });

  it('names a missing or mis-shaped entry', () => {
    const opts = { configs, viewdir: { hidden: 5, out: TINY.channels[TINY.inpSize / 2]! } };
    const { bytes } = fakeAvatarCheckpoint('other_net.convs2.3.noise.weight');
    expect(() => readReferenceCheckpoint(bytes, 'net.pt', opts)).toThrow(
      /net\.pt: missing 'other_net\.convs2\.3\.noise\.weight'/,
    );
    const full = fakeAvatarCheckpoint().bytes;
    expect(() => readReferenceCheckpoint(full, 'net.pt')).toThrow(/has shape .* expected/);
  });

  it('imports a chosen subset of the networks, and names a requested one the checkpoint lacks', () => {
    const opts = { configs, viewdir: { hidden: 5, out: TINY.channels[TINY.inpSize / 2]! } };
    // A checkpoint without the view CNN (trained without view conditioning) and without position_net.
    const { bytes, params } = fakeAvatarCheckpoint(/^(viewdir_net|position_net)\./);
    const w = readReferenceCheckpoint(bytes, 'net.pt', { ...opts, nets: ['color_net'] });
    expect(Object.keys(w.networks)).toEqual(['color_net']);
    expect(w.viewdir).toBeNull();
    expect(w.networks.color_net!.get('convs1.3.noise.weight')).toEqual(params.get('convs1.3.noise.weight'));
    expect(
      Object.keys(
        readReferenceCheckpoint(bytes, 'net.pt', { ...opts, nets: ['other_net', 'color_net'] }).networks,
      ).sort(),
    ).toEqual(['color_net', 'other_net']);
    expect(() => readReferenceCheckpoint(bytes, 'net.pt', opts)).toThrow(
      /net\.pt: no 'position_net', 'viewdir_net' in the checkpoint \(it holds color_net, other_net\)/,
    );
    expect(() => readReferenceCheckpoint(bytes, 'net.pt', { ...opts, nets: ['viewdir_net'] })).toThrow(
      /no 'viewdir_net'/,
    );
    // A requested network is still checked entry by entry.
    const partial = fakeAvatarCheckpoint('color_net.to_rgbs2.1.bias').bytes;
    expect(() => readReferenceCheckpoint(partial, 'net.pt', { ...opts, nets: ['position_net'] })).not.toThrow();
    expect(() => readReferenceCheckpoint(partial, 'net.pt', { ...opts, nets: ['color_net'] })).toThrow(
      /missing 'color_net\.to_rgbs2\.1\.bias'/,
    );
  });
});
