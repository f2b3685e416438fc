import { describe, expect, it } from 'vitest';
import { isTorchTensor, readTorchCheckpoint } from '../../src/io/torch.js';
import { torchSave } from '../helpers/torch-writer.js';

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
    expect(() => readTorchCheckpoint(new Uint8Array([0x80, 2, 0x7d, 0x2e]), 'old.pt')).toThrow(/old\.pt.*legacy/);
    const good = torchSave(new Map([['x', 1]]));
    expect(() => readTorchCheckpoint(good.subarray(0, good.length - 30), 'cut.pt')).toThrow(/cut\.pt/);
  });
});
