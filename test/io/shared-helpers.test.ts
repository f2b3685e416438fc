/**
 * The shared safety helpers: CRC-32 and the strict zip reader, atomic writes (no temporary left or named on
 * failure), stale-temporary cleanup, stage markers (what differs), finiteness/range checks and option parsing.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { frameIdsOf, intOption, parseFrameSpec, sizeOption } from '../../src/cli/options.js';
import { FormatError, InputError, isInputError } from '../../src/io/errors.js';
import { checkFinite, checkRange, firstNonFinite } from '../../src/io/finite.js';
import {
  checkOutputFile,
  describeFsError,
  removeStaleTemps,
  writeAtomicWith,
  writeFileAtomic,
} from '../../src/io/node/atomic.js';
import { beginStage, completeStage, differences, fileStamp, readStage } from '../../src/io/node/stage.js';
import { crc32, readZip } from '../../src/io/zip.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-helpers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);

describe('zip', () => {
  it('CRC-32 of the check string, of odd lengths and incrementally', () => {
    expect(crc32(enc('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const b = enc('The quick brown fox jumps over the lazy dog');
    expect(crc32(b)).toBe(0x414fa339);
    expect(crc32(b.subarray(5), crc32(b.subarray(0, 5)))).toBe(0x414fa339);
  });

  it('reads stored and deflated members lazily, checking each CRC; refuses bombs and truncation', () => {
    const big = new Uint8Array(100_000).fill(7);
    const z = zipSync({ 'a.txt': [enc('hello'), { level: 0 }], 'b.bin': [big, { level: 9 }] });
    const entries = readZip(z, 'x.zip');
    expect(entries.map((e) => [e.name, e.method, e.size])).toEqual([
      ['a.txt', 0, 5],
      ['b.bin', 8, 100_000],
    ]);
    expect(new TextDecoder().decode(entries[0]!.data())).toBe('hello');
    expect(entries[1]!.data()).toEqual(big);
    // a flipped byte in a stored member: only that member fails, naming it
    const bad = z.slice();
    bad[z.indexOf(0x68 /* 'h' */, 30)] ^= 1;
    const e2 = readZip(bad, 'x.zip');
    expect(() => e2[0]!.data()).toThrow(/x\.zip: corrupt zip archive: entry 'a\.txt' fails its CRC-32 check/);
    expect(e2[1]!.data().length).toBe(100_000);
    expect(() => readZip(z.subarray(0, z.length - 30), 'cut.zip')).toThrow(FormatError);
    // a member claiming far more than deflate can produce from its bytes
    const dv = new DataView(z.buffer);
    const cd = z.length - 22 - 2 * 46 - 'a.txt'.length - 'b.bin'.length;
    dv.setUint32(cd + 46 + 5 + 24, 0x7fffffff, true);
    expect(() => readZip(z, 'bomb.zip')).toThrow(/claims 2147483647 bytes .* zip bomb/);
  });
});

describe('atomic writes', () => {
  it('write through a temporary; on failure nothing is left and the error names the target', async () => {
    const p = join(root, 'a.bin');
    writeFileAtomic(p, 'one');
    writeFileAtomic(p, enc('two'));
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
    await expect(
      writeAtomicWith(join(root, 'b.png'), async (tmp) => {
        writeFileSync(tmp, 'partial');
        throw new Error('encoder failed');
      }),
    ).rejects.toThrow(/cannot write .*b\.png: encoder failed/);
    expect(readdirSync(root).filter((n) => n.includes('.tmp-') || n === 'b.png')).toEqual([]);
    expect(() => writeFileAtomic(join(root, 'nope', 'c.bin'), 'x')).toThrow(/the folder .*nope does not exist/);
  });

  it('removes temporaries of dead processes only', () => {
    const d = join(root, 'temps');
    mkdirSync(d);
    writeFileSync(join(d, '.x.jpg.tmp-999999-ab'), '');
    writeFileSync(join(d, 'y.exr.tmp-999998'), '');
    writeFileSync(join(d, `.z.jpg.tmp-${process.pid}-cd`), '');
    writeFileSync(join(d, 'keep.jpg'), '');
    expect(removeStaleTemps(d)).toBe(2);
    expect(readdirSync(d).sort()).toEqual([`.z.jpg.tmp-${process.pid}-cd`, 'keep.jpg']);
  });

  it('checkOutputFile: refuses existing files without force, creates missing folders, names blockers', () => {
    const p = join(root, 'out', 'deep', 'o.png');
    checkOutputFile(p);
    expect(existsSync(join(root, 'out', 'deep'))).toBe(true);
    writeFileSync(p, 'x');
    expect(() => checkOutputFile(p, { what: 'image' })).toThrow(/o\.png already exists: use --force/);
    checkOutputFile(p, { force: true });
    expect(() => checkOutputFile(join(p, 'child.png'))).toThrow(/o\.png is a file, not a folder/);
    expect(describeFsError(Object.assign(new Error('EACCES: x'), { code: 'EACCES' }))).toBe('permission denied');
  });
});

describe('stage markers', () => {
  it('record parameters, say what differs, and tell an input changed by its size and time', () => {
    const d = join(root, 'stage');
    mkdirSync(d);
    const input = join(d, 'in.npz');
    writeFileSync(input, 'abc');
    const params = { size: 1024, frames: [0, 1], model: fileStamp(input) };
    beginStage(d, 'posed', params);
    expect(readStage(d, 'posed')).toMatchObject({ complete: false, params: { size: 1024 } });
    completeStage(d, 'posed', params, { frames: 2 });
    expect(readStage(d, 'posed')?.complete).toBe(true);
    writeFileSync(input, 'abcd');
    expect(differences(readStage(d, 'posed')!.params, { ...params, size: 256, model: fileStamp(input) })).toEqual([
      'size: 1024 → 256',
      'model changed since (size or modification time)',
    ]);
    writeFileSync(join(d, '.animgs-pca.json'), '{broken');
    expect(readStage(d, 'pca')).toBeUndefined();
  });
});

describe('checks and option parsing', () => {
  it('finite and range checks name the field and the element', () => {
    expect(firstNonFinite(Float32Array.of(1, NaN))).toBe(1);
    expect(firstNonFinite(['a', 1] as unknown as number[])).toBe(-1);
    expect(() => checkFinite(Float64Array.of(0, 0, 0, Infinity), 'f.npz', 'x', [2, 2])).toThrow(
      /f\.npz: 'x' element \[1, 1\] is Infinity/,
    );
    expect(() => checkRange([0, 2e5], 'p.npz', 'transl', 1e4, ' m')).toThrow(
      /'transl' element 1 is 200000 m, beyond ±10000 m/,
    );
    expect(isInputError(new FormatError('f', 'x'))).toBe(true);
    expect(isInputError(Object.assign(new Error('x'), { name: 'ConfigError' }))).toBe(true);
    expect(isInputError(new RangeError('x'))).toBe(false);
  });

  it('integers, sizes and frame specs', () => {
    expect(intOption('12', '--n', { min: 1 })).toBe(12);
    expect(intOption(undefined, '--n')).toBeUndefined();
    for (const bad of ['abc', '1.5', '', '1e3', '0x10']) expect(() => intOption(bad, '--n')).toThrow(InputError);
    expect(() => intOption('0', '--cameras', { min: 1, max: 99 })).toThrow(/--cameras 0: must be from 1 to 99/);
    expect(sizeOption('640x480', '--size', 16, 8192)).toEqual({ width: 640, height: 480 });
    expect(sizeOption('64', '--size', 16, 8192)).toEqual({ width: 64, height: 64 });
    expect(() => sizeOption('0', '--size', 16, 8192)).toThrow(/the width must be from 16 to 8192/);
    expect(() => sizeOption('64x', '--size', 16, 8192)).toThrow(/use N or WxH/);
    expect(parseFrameSpec('0:10:3')).toEqual({ kind: 'range', start: 0, end: 10, step: 3 });
    expect(parseFrameSpec('4,1,9')).toEqual({ kind: 'list', ids: [4, 1, 9] });
    for (const bad of ['5:2', '3:3', '1:2:0', 'a:b', '1,,2', '-1:3', '1:2:3:4']) {
      expect(() => parseFrameSpec(bad), bad).toThrow(InputError);
    }
    expect(frameIdsOf(parseFrameSpec('0:5:2'), 5, '--frames', 's.npz')).toEqual([0, 2, 4]);
    expect(() => frameIdsOf(parseFrameSpec('2,7'), 5, '--frames', 's.npz')).toThrow(
      /frame 7 is not in s\.npz, which holds 5 frames/,
    );
  });
});

describe('the float → 8-bit rule (io/image)', () => {
  it('clamps, rounds half up, maps NaN to 0, and interleaves planar images', async () => {
    const { to8bit, planarToInterleaved8 } = await import('../../src/io/image.js');
    expect([-1, 0, 0.5 / 255, 1.5 / 255, 0.5, 1, 2, NaN, Infinity, -Infinity].map(to8bit)).toEqual([
      0, 0, 1, 2, 128, 255, 255, 0, 255, 0,
    ]);
    const img = { width: 2, height: 1, channels: 3, data: Float32Array.from([0, 1, 0.2, 0.4, 2, -1]) };
    expect([...planarToInterleaved8(img)]).toEqual([0, 51, 255, 255, 102, 0]);
  });
});
