import { describe, expect, it } from 'vitest';
import { isTorchTensor, readTorchCheckpoint } from '../../src/io/torch.js';
import { torchSave, torchSaveLegacy, type FakeValue } from '../helpers/torch-writer.js';

describe('PyTorch checkpoint reader', () => {
  it('reads tensors (contiguous, strided, sharing a storage at an offset) and plain values', () => {
    const base = Float32Array.from({ length: 12 }, (_, i) => i);
    const bytes = torchSave(
      new Map<string, never>([
        ['epoch_idx', 7 as never],
        ['name', 'zzr' as never],
        [
          'avatar_net',
          {
            ordered: new Map([
              ['a.weight', { data: base, shape: [3, 4] }],
              ['a.t', { data: base, shape: [4, 3], stride: [1, 4], storageOf: 'a.weight' }],
              ['a.tail', { data: base, shape: [2], offset: 10, storageOf: 'a.weight' }],
            ]),
          } as never,
        ],
      ]),
    );
    const obj = readTorchCheckpoint(bytes, 'fake.pt') as Record<string, unknown>;
    expect(obj.epoch_idx).toBe(7);
    expect(obj.name).toBe('zzr');
    const sd = obj.avatar_net as Record<string, unknown>;
    const w = sd['a.weight'];
    expect(isTorchTensor(w) && w.shape).toEqual([3, 4]);
    expect(Array.from((sd['a.weight'] as { data: Float32Array }).data)).toEqual(Array.from(base));
    // The transposed view: t[i][j] = base[j*4 + i].
    expect(Array.from((sd['a.t'] as { data: Float32Array }).data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(Array.from((sd['a.tail'] as { data: Float32Array }).data)).toEqual([10, 11]);
  });

  it('refuses non-zip, truncated and non-checkpoint files clearly', () => {
    expect(() => readTorchCheckpoint(new Uint8Array([0x80, 2, 0x7d, 0x2e]), 'plain.pkl')).toThrow(
      /plain\.pkl.*not a torch\.save checkpoint/,
    );
    expect(() => readTorchCheckpoint(new Uint8Array([1, 2, 3]), 'junk.pt')).toThrow(
      /junk\.pt: not a PyTorch checkpoint/,
    );
    const good = torchSave(new Map([['x', 1]]));
    expect(() => readTorchCheckpoint(good.subarray(0, good.length - 30), 'cut.pt')).toThrow(/cut\.pt/);
  });

  const base = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
  const legacyDict = (): Map<string, FakeValue> =>
    new Map<string, FakeValue>([
      ['features.0.weight', { data: base, shape: [3, 4] }],
      ['features.0.bias', { data: Float32Array.from([1, 2, 3]), shape: [3] }],
      ['features.0.t', { data: base, shape: [4, 3], stride: [1, 4], storageOf: 'features.0.weight' }],
      // a view storage (old releases): elements 8..11 of the weight's storage, the tensor reads from its 1st
      [
        'features.0.v',
        { data: base, shape: [3], offset: 1, storageOf: 'features.0.weight', storageView: { offset: 8, size: 4 } },
      ],
    ]);

  for (const location of ['cpu', 'cuda:0']) {
    it(`reads legacy (pre-1.6) checkpoints, storages saved on '${location}'`, () => {
      const bytes = torchSaveLegacy(new Map([['state', { ordered: legacyDict() }]]), { location });
      expect(bytes[0]).toBe(0x80);
      const sd = (readTorchCheckpoint(bytes, 'vgg.pth') as Record<string, Record<string, unknown>>).state!;
      const arr = (k: string) => Array.from((sd[k] as { data: Float32Array }).data);
      expect(isTorchTensor(sd['features.0.weight']) && (sd['features.0.weight'] as { shape: number[] }).shape).toEqual([
        3, 4,
      ]);
      expect(arr('features.0.weight')).toEqual(Array.from(base));
      expect(arr('features.0.bias')).toEqual([1, 2, 3]);
      expect(arr('features.0.t')).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map((i) => base[i]!));
      expect(arr('features.0.v')).toEqual([9, 10, 11].map((i) => base[i]!));
    });
  }

  it('refuses truncated and corrupt legacy checkpoints with one-line errors', () => {
    const good = torchSaveLegacy(legacyDict());
    const oneLine = (f: () => unknown, re: RegExp) => {
      let msg = '';
      try {
        f();
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
    };
    // cut inside each part: the magic, the object pickle, the storage data, right after the key list
    for (const cut of [5, 60, 200, good.length - 20, good.length - 48 - 8]) {
      oneLine(() => readTorchCheckpoint(good.subarray(0, cut), 'cut.pth'), /^cut\.pth.*truncated/);
    }
    const badMagic = good.slice();
    badMagic[4] ^= 0xff; // inside the LONG1 magic number
    oneLine(() => readTorchCheckpoint(badMagic, 'bad.pth'), /^bad\.pth: .*no PyTorch magic number/);
    const trailing = good.slice(0, good.length - 1);
    oneLine(() => readTorchCheckpoint(trailing, 'short.pth'), /^short\.pth: storage .*truncated/);
  });
});
