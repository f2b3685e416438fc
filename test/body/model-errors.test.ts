import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { decodeNpz, encodeNpz } from '../../src/io/npz.js';

const fixture = (name: string): string => new URL(`../fixtures/body/${name}`, import.meta.url).pathname;

describe('SMPL-X model file errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplx-'));
  it('a missing file names the path and where to get the model', () => {
    expect(() => loadSmplxModel(join(dir, 'SMPLX_NEUTRAL.npz'))).toThrow(
      /SMPLX_NEUTRAL\.npz: no such file.*smpl-x\.is\.tue\.mpg\.de/,
    );
  });

  it('a file of another kind is rejected by content', () => {
    const p = join(dir, 'model.npz');
    writeFileSync(p, 'hello');
    expect(() => loadSmplxModel(p)).toThrow(/model\.npz: not an SMPL-X model file.*smpl-x\.is\.tue\.mpg\.de/);
  });

  it('a missing or mis-shaped key is named', () => {
    const z = decodeNpz(readFileSync(fixture('tiny_smplx.npz')));
    const arrays = Object.fromEntries(z.names.map((n) => [n, z.get(n)]));
    const { posedirs: _drop, ...noPosedirs } = arrays;
    const p1 = join(dir, 'a.npz');
    writeFileSync(p1, encodeNpz(noPosedirs));
    expect(() => loadSmplxModel(p1)).toThrow(/a\.npz: not a usable SMPL-X model file: missing 'posedirs'/);
    const p2 = join(dir, 'b.npz');
    writeFileSync(p2, encodeNpz({ ...arrays, weights: { ...arrays['weights']!, shape: [3, 110] } }));
    expect(() => loadSmplxModel(p2)).toThrow(/'weights' has shape \(3,110\), expected \(6,55\)/);
  });
});
