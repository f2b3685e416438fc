import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/node/safetensors.js';

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
});
