import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import {
  loadSafetensors,
  loadSafetensorsAsync,
  readSafetensorsHeader,
  saveSafetensors,
} from '../../src/io/node/safetensors.js';

describe('safetensors', () => {
  it('round-trips tensors and metadata through a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const m = new Map([
      ['a.weight', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }],
      ['idx', { shape: [3], data: Int32Array.from([7, -1, 9]) }],
    ]);
    saveSafetensors(join(dir, 'w.safetensors'), m, { format: 'animgs', version: '1' });
    const { tensors, metadata } = loadSafetensors(join(dir, 'w.safetensors'));
    expect(metadata).toEqual({ format: 'animgs', version: '1' });
    expect(tensors.get('a.weight')).toEqual({ dtype: 'F32', shape: [2, 3], data: m.get('a.weight')!.data });
    expect(Array.from(tensors.get('idx')!.data)).toEqual([7, -1, 9]);
  });

  it('rejects truncated or inconsistent files with the path in the message', () => {
    const bytes = encodeSafetensors(new Map([['x', { shape: [4], data: new Float32Array(4) }]]));
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'w.st')).toThrow(/w\.st.*inconsistent/);
    expect(() => decodeSafetensors(new Uint8Array(3), 'w.st')).toThrow(/w\.st/);
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    writeFileSync(join(dir, 'bad'), new Uint8Array([255, 0, 0, 0, 0, 0, 0, 0, 1]));
    expect(() => loadSafetensors(join(dir, 'bad'))).toThrow(/bad.*header length/);
    expect(() => encodeSafetensors(new Map([['x', { shape: [5], data: new Float32Array(4) }]]))).toThrow(/shape/);
  });

  it('reads a file tensor by tensor as the decoder reads its bytes: every dtype, each tensor in its own array', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    // a 3-byte U8 first: the tensors after it sit at odd offsets of the file
    const m = new Map<
      string,
      { shape: number[]; data: Float32Array | Int32Array | Uint32Array | Uint8Array | Uint16Array }
    >([
      ['u8', { shape: [3], data: Uint8Array.from([1, 2, 255]) }],
      ['f32', { shape: [2, 2], data: Float32Array.from([1.5, -2, 3e-8, 4e30]) }],
      ['f16', { shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x0001]) }],
      ['i32', { shape: [2], data: Int32Array.from([-7, 2 ** 31 - 1]) }],
      ['u32', { shape: [1, 2], data: Uint32Array.from([0, 2 ** 32 - 1]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const path = join(dir, 'all.safetensors');
    saveSafetensors(path, m, { k: 'v' });
    const fromFile = loadSafetensors(path);
    const fromBytes = decodeSafetensors(encodeSafetensors(m, { k: 'v' }));
    expect(fromFile.metadata).toEqual({ k: 'v' });
    expect([...fromFile.tensors.keys()]).toEqual([...m.keys()]);
    for (const [k, t] of fromFile.tensors) {
      expect(t).toEqual(fromBytes.tensors.get(k));
      expect(t.data.constructor).toBe(m.get(k)!.data.constructor);
      expect(Array.from(t.data)).toEqual(Array.from(m.get(k)!.data));
      expect(t.data.buffer.byteLength).toBe(t.data.byteLength); // its own buffer, not a view of the file
    }
    const fromThreads = await loadSafetensorsAsync(path);
    expect(fromThreads.metadata).toEqual({ k: 'v' });
    expect([...fromThreads.tensors.keys()]).toEqual([...m.keys()]); // in the file's order, whichever read ends first
    for (const [k, t] of fromThreads.tensors) expect(t).toEqual(fromFile.tensors.get(k));
    expect(readSafetensorsHeader(path)).toEqual({
      entries: [...m].map(([name, t]) => ({ name, dtype: fromBytes.tensors.get(name)!.dtype, shape: t.shape })),
      metadata: { k: 'v' },
    });
  });

  it('rejects from a file what the decoder rejects: non-finite values, truncation, a missing file or a folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const bad = Float32Array.from([0, 1, 2, 3, 4, NaN]);
    const path = join(dir, 'nan.safetensors');
    saveSafetensors(path, new Map([['w', { shape: [2, 3], data: bad }]]));
    expect(() => loadSafetensors(path)).toThrow(/nan\.safetensors.*'w' element \[1, 2\] is NaN/);
    await expect(loadSafetensorsAsync(path)).rejects.toThrow(/nan\.safetensors.*'w' element \[1, 2\] is NaN/);
    expect(loadSafetensors(path, { allowNonFinite: true }).tensors.get('w')!.data[5]).toBeNaN();
    saveSafetensors(path, new Map([['w', { shape: [2], data: Float32Array.from([1, -Infinity]) }]]));
    expect(() => loadSafetensors(path)).toThrow(/'w' element 1 is -Infinity/);
    const half = join(dir, 'half.safetensors');
    saveSafetensors(half, new Map([['h', { shape: [2], data: Uint16Array.from([0x3c00, 0x7c00]) }]]));
    expect(() => loadSafetensors(half)).toThrow(/half\.safetensors.*'h'.*Infinity/);
    const bytes = encodeSafetensors(new Map([['x', { shape: [4], data: new Float32Array(4) }]]));
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 4));
    expect(() => loadSafetensors(cut)).toThrow(/cut\.safetensors.*inconsistent offsets/);
    await expect(loadSafetensorsAsync(cut)).rejects.toThrow(/cut\.safetensors.*inconsistent offsets/);
    writeFileSync(cut, bytes.subarray(0, 5));
    expect(() => loadSafetensors(cut)).toThrow(/cut\.safetensors.*shorter than its 8-byte header/);
    writeFileSync(cut, bytes.subarray(0, 12));
    expect(() => loadSafetensors(cut)).toThrow(/cut\.safetensors.*header length/);
    expect(() => loadSafetensors(join(dir, 'none.safetensors'))).toThrow(/cannot read .*none\.safetensors/);
    mkdirSync(join(dir, 'folder.safetensors'));
    expect(() => loadSafetensors(join(dir, 'folder.safetensors'))).toThrow(/cannot read .*folder\.safetensors/);
    await expect(loadSafetensorsAsync(join(dir, 'none.safetensors'))).rejects.toThrow(/cannot read .*none/);
    await expect(loadSafetensorsAsync(join(dir, 'folder.safetensors'))).rejects.toThrow(/cannot read .*folder/);
  });
});
