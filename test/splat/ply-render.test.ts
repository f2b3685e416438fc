import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { registerRender } from '../../src/cli/render.js';
import { readNpz } from '../../src/io/node/npz.js';
import { decodePly, encodePly, plyToScene, sceneToPly } from '../../src/splat/ply.js';
import { readPly, writePly } from '../../src/splat/node/ply.js';
import { referenceForward } from '../../src/splat/reference.js';
import { makeCamera, randomScene } from './scenes.js';

describe('3DGS PLY', () => {
  it('round-trips binary and reads ASCII', () => {
    const s = randomScene({ n: 7, seed: 41, shDegree: 2 });
    const g = sceneToPly(s);
    const back = decodePly(encodePly(g));
    expect(back.shCoeffs).toBe(9);
    for (const k of ['means', 'sh', 'opacityLogits', 'logScales', 'rotations'] as const) expect(back[k]).toEqual(g[k]);
    const sc = plyToScene(back);
    for (let i = 0; i < s.scales.length; i++) expect(sc.scales[i]).toBeCloseTo(s.scales[i]!, 5);
    for (let i = 0; i < s.count; i++) expect(sc.opacities[i]).toBeCloseTo(s.opacities[i]!, 5);
    // ASCII with extra properties in another order and a leading element.
    const props = [
      'x',
      'y',
      'z',
      'f_dc_0',
      'f_dc_1',
      'f_dc_2',
      'opacity',
      'scale_0',
      'scale_1',
      'scale_2',
      'rot_0',
      'rot_1',
      'rot_2',
      'rot_3',
      'extra',
    ];
    const text =
      'ply\nformat ascii 1.0\nelement camera 1\nproperty float fx\nelement vertex 2\n' +
      props.map((p) => `property float ${p}`).join('\n') +
      '\nend_header\n5\n' +
      '1 2 3 0.1 0.2 0.3 0 -1 -2 -3 1 0 0 0 9\n4 5 6 0 0 0 2 0 0 0 0 1 0 0 9\n';
    const a = decodePly(new TextEncoder().encode(text));
    expect(a.count).toBe(2);
    expect(Array.from(a.means)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(a.shCoeffs).toBe(1);
    expect(Array.from(a.sh.slice(0, 3))).toEqual(Array.from(new Float32Array([0.1, 0.2, 0.3])));
    expect(Array.from(a.rotations.slice(4))).toEqual([0, 1, 0, 0]);
  });

  it('gives clear errors for bad files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ply-'));
    const p = join(dir, 'bad.ply');
    writeFileSync(p, 'hello');
    expect(() => readPly(p)).toThrow(/bad\.ply: not a PLY file/);
    writeFileSync(p, 'ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n');
    expect(() => readPly(p)).toThrow(/bad\.ply: a point cloud without Gaussian properties/);
    const good = encodePly(sceneToPly(randomScene({ n: 3, seed: 1 })));
    writeFileSync(p, good.subarray(0, good.length - 10));
    expect(() => readPly(p)).toThrow(/bad\.ply: truncated/);
    expect(() => readPly(join(dir, 'missing.ply'))).toThrow(/cannot read .*missing\.ply/);
  });
});

describe('animgs render', () => {
  it('writes a PNG and an .npz matching the reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'render-'));
    const s = randomScene({ n: 25, seed: 42, shDegree: 1 });
    writePly(join(dir, 's.ply'), sceneToPly(s));
    const cam = makeCamera(37, 29, { cx: 15, cy: 17 });
    writeFileSync(
      join(dir, 'cam.json'),
      JSON.stringify({
        width: 37,
        height: 29,
        K: [
          [cam.K[0], 0, 15],
          [0, cam.K[4], 17],
          [0, 0, 1],
        ],
        R: [0, 3, 6].map((r) => Array.from(cam.R).slice(r, r + 3)),
        T: cam.T,
      }),
    );
    const program = new Command().exitOverride();
    registerRender(program);
    const log = console.log;
    console.log = () => {};
    try {
      await program.parseAsync([
        'node',
        'animgs',
        'render',
        join(dir, 's.ply'),
        '--camera',
        join(dir, 'cam.json'),
        '--out',
        join(dir, 'o.png'),
        '--background',
        '1,1,1',
        '--raw',
        join(dir, 'o.npz'),
      ]);
    } finally {
      console.log = log;
    }
    const meta = await sharp(join(dir, 'o.png')).metadata();
    expect([meta.width, meta.height]).toEqual([37, 29]);
    const npz = readNpz(join(dir, 'o.npz'));
    expect(npz.get('color').shape).toEqual([3, 29, 37]);
    expect(npz.get('depth').shape).toEqual([1, 29, 37]);
    const ref = referenceForward(plyToScene(readPly(join(dir, 's.ply'))), cam, [1, 1, 1]);
    const a = npz.get('alpha').data as Float32Array;
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - ref.alpha[i]!));
    expect(m).toBeLessThan(1e-4);
    expect(Math.max(...a)).toBeGreaterThan(0.3);
    writeFileSync(join(dir, 'bad.json'), '{"width": 10, "height": 10, "K": [1, 2], "R": [], "T": [0,0,0]}');
    await expect(
      program.parseAsync([
        'node',
        'animgs',
        'render',
        join(dir, 's.ply'),
        '--camera',
        join(dir, 'bad.json'),
        '--out',
        join(dir, 'x.png'),
      ]),
    ).rejects.toThrow(/bad\.json: 'K' must be a 3×3 matrix/);
    expect(readFileSync(join(dir, 'o.png')).length).toBeGreaterThan(50);
  });
});
