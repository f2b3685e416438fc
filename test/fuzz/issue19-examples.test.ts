/**
 * Issue 19's examples, one test per class, so they stay fixed: state (resume only with matching settings; refuse
 * or --force), wrong results with exit 0 (CRC, NaN, ragged R, empty frame ranges, PCA counts, image format),
 * late failures (everything checked before the GPU), messages (named, one line, no internal temp names) and
 * commands that chain (calibration cameras, prep --out, the canonical 3DGS .ply). Tiny sizes: the GPU work is a
 * 32×32 capture of 2 frames and 32-pixel maps.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSmplxModel } from '../../src/body/model.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { exportBody } from '../../src/cli/body.js';
import { frameIdsOf, intOption, parseFrameSpec } from '../../src/cli/options.js';
import { prepOptionsFromFlags, readPrepConfig } from '../../src/cli/prep.js';
import { progress } from '../../src/cli/progress.js';
import { render } from '../../src/cli/render.js';
import { synthOptionsFromFlags } from '../../src/cli/synth.js';
import { parseCalibrationJson, readCameraJson } from '../../src/data/camera.js';
import { readSmplParams } from '../../src/data/smpl-params.js';
import { checkSynthTarget, synthesizeCapture, type SynthOptions } from '../../src/data/synth/capture.js';
import { getGpu } from '../../src/gpu/index.js';
import { FormatError, InputError } from '../../src/io/errors.js';
import { checkOutputFile, writeFileAtomic } from '../../src/io/node/atomic.js';
import { ndarray } from '../../src/io/npy.js';
import { decodeNpz, encodeNpz } from '../../src/io/npz.js';
import { writeNpz } from '../../src/io/node/npz.js';
import { unpickle } from '../../src/io/pickle.js';
import { readPca } from '../../src/prep/files.js';
import { checkPrepTarget, prepare } from '../../src/prep/prep.js';
import { decodePly, encodePly, sceneToPly } from '../../src/splat/ply.js';

let root: string;
let cap: string;
const SYNTH: Omit<SynthOptions, 'out'> = {
  cameras: 2,
  camerasAbove: 0,
  width: 32,
  height: 32,
  frames: 3,
  testFrames: 2,
  seed: 1,
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'animgs-issue19-'));
  cap = join(root, 'cap');
  await synthesizeCapture(await getGpu(), { ...SYNTH, out: cap });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const prepFlags = (extra: Record<string, unknown> = {}) => ({ data: cap, size: '32', resume: true, ...extra });

describe('state: resume only what matches, refuse or --force otherwise', () => {
  it('prep with another --size refuses (names what differs); --force recomputes every map at the new size', async () => {
    const gpu = await getGpu();
    const first = await prepare(gpu, prepOptionsFromFlags(prepFlags({ pca: '2' })));
    expect(first.poseMaps).toBe(3);
    expect(() => checkPrepTarget(prepOptionsFromFlags(prepFlags({ size: '64', pca: '2' })))).toThrow(
      /smpl_pos_map holds maps made with other inputs or settings \(size: 32 → 64\): use --force/,
    );
    // a rerun with the same settings keeps the posed maps (resume)
    const again = await prepare(gpu, prepOptionsFromFlags(prepFlags({ pca: '2' })));
    expect([again.poseMaps, again.reused]).toEqual([0, 3]);
    const forced = await prepare(gpu, prepOptionsFromFlags(prepFlags({ size: '64', pca: '1', force: true })));
    expect(forced.poseMaps).toBe(3);
    const dir = join(cap, 'smpl_pos_map');
    const pca = readPca(join(dir, 'pca_1.safetensors'));
    expect([pca.pca.count, pca.size]).toEqual([1, 64]);
    expect(existsSync(join(dir, 'pca_2.safetensors'))).toBe(false); // the old size's PCA is gone
  });

  it('synth refuses another capture or foreign files; --force replaces it without stale camera folders', async () => {
    const gpu = await getGpu();
    const other = join(root, 'other');
    await synthesizeCapture(gpu, { ...SYNTH, cameras: 3, out: other });
    const fewer: SynthOptions = { ...SYNTH, cameras: 1, out: other };
    expect(() => checkSynthTarget(fewer)).toThrow(
      /holds a synthetic capture made with other settings \(cameras: 3 → 1\)/,
    );
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    expect(() => checkSynthTarget({ ...SYNTH, out: foreign })).toThrow(/is not empty \(notes\.txt\).*--force/);
    const r = await synthesizeCapture(gpu, { ...fewer, force: true });
    expect(r.outcome).toBe('written');
    expect(readdirSync(join(other, 'images'))).toEqual(['cam00']);
    expect(Object.keys(JSON.parse(readFileSync(join(other, 'calibration.json'), 'utf8')))).toEqual(['cam00']);
    // the same settings again: complete, nothing rewritten
    const mtime = statSync(join(other, 'smpl_params.npz')).mtimeMs;
    expect((await synthesizeCapture(gpu, fewer)).outcome).toBe('complete');
    expect(statSync(join(other, 'smpl_params.npz')).mtimeMs).toBe(mtime);
  });

  it('an interrupted capture (no synth.json, missing images) is recognised and finished, not reused half-written', async () => {
    const gpu = await getGpu();
    const part = join(root, 'part');
    await synthesizeCapture(gpu, { ...SYNTH, out: part });
    const whole = readFileSync(join(part, 'images', 'cam01', '00000002.jpg'));
    // what a kill leaves: the last images missing, a temporary of the writer, no synth.json
    rmSync(join(part, 'synth.json'));
    rmSync(join(part, 'images', 'cam01', '00000002.jpg'));
    rmSync(join(part, 'masks', 'cam00', '00000002.jpg'));
    writeFileSync(join(part, 'images', 'cam01', '.00000002.jpg.tmp-999999-ab'), 'half');
    const opt = { ...SYNTH, out: part };
    expect(checkSynthTarget(opt).kind).toBe('partial');
    const r = await synthesizeCapture(gpu, opt);
    expect([r.outcome, r.rendered]).toEqual(['resumed', 2]);
    expect(readFileSync(join(part, 'images', 'cam01', '00000002.jpg')).equals(whole)).toBe(true);
    expect(readdirSync(join(part, 'images', 'cam01')).some((n) => n.includes('.tmp-'))).toBe(false);
    expect(existsSync(join(part, 'synth.json'))).toBe(true);
  });
});

describe('wrong results with exit 0 are errors now', () => {
  it('an .npz with a bad CRC-32 (bytes flipped in the middle) is refused', () => {
    const good = encodeNpz({
      a: ndarray(
        Float64Array.from({ length: 64 }, (_, i) => i),
        [64],
      ),
    });
    const bad = good.slice();
    for (let i = 0; i < 8; i++) bad[(good.length >> 1) + i] ^= 0xff;
    expect(() => decodeNpz(bad, 'm.npz').get('a')).toThrow(FormatError);
    expect(() => decodeNpz(bad, 'm.npz').get('a')).toThrow(
      /m\.npz: corrupt \.npz \(zip\) archive: entry 'a\.npy' fails its CRC-32/,
    );
  });

  it('NaN/Inf in poses, the body model and a PLY (opacity, scale, rotation) are named errors', () => {
    const poses = join(root, 'nan_poses.npz');
    const bp = new Float32Array(2 * 63);
    bp[70] = NaN;
    writeNpz(poses, { body_pose: ndarray(bp, [2, 63]), global_orient: ndarray(new Float32Array(6), [2, 3]) });
    expect(() => readSmplParams(poses)).toThrow(/nan_poses\.npz: 'body_pose' element \[1, 7\] is NaN/);
    const z = decodeNpz(readFileSync(join(cap, 'smplx_model.npz')));
    const arrays = Object.fromEntries(z.names.map((n) => [n, z.get(n)]));
    const vt = Float64Array.from(arrays['v_template']!.data as Float32Array);
    vt[5] = Infinity;
    const model = encodeNpz({ ...arrays, v_template: ndarray(vt, arrays['v_template']!.shape) });
    expect(() => decodeSmplxModel(model, 'model.npz')).toThrow(/model\.npz: 'v_template' element \[1, 2\] is Infinity/);
    const g = sceneToPly({
      count: 2,
      means: new Float32Array(6),
      scales: new Float32Array(6).fill(0.1),
      rotations: Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0),
      opacities: Float32Array.of(0.5, 0.5),
      colors: new Float32Array(6),
    });
    for (const [k, i] of [
      ['opacityLogits', 1],
      ['logScales', 4],
      ['rotations', 5],
    ] as const) {
      const c = { ...g, [k]: g[k].slice() };
      c[k][i] = NaN;
      expect(() => decodePly(encodePly(c), 's.ply')).toThrow(/s\.ply: Gaussian 1 has NaN in '(opacity|scale_1|rot_1)'/);
    }
    expect(() => decodePly(encodePly({ ...g, rotations: new Float32Array(8) }), 's.ply')).toThrow(/zero .*quaternion/);
  });

  it('a ragged or all-zero camera R is refused', () => {
    const cam = (R: unknown) =>
      JSON.stringify({
        c: {
          K: [
            [50, 0, 16],
            [0, 50, 16],
            [0, 0, 1],
          ],
          R,
          T: [0, 0, 2],
          imgSize: [32, 32],
        },
      });
    expect(() =>
      parseCalibrationJson(
        cam([
          [1, 0, 0, 0],
          [1, 0],
          [0, 0, 1],
        ]),
        'cal.json',
      ),
    ).toThrow(/cal\.json: camera 'c': 'R' must be a 3×3 matrix/);
    expect(() =>
      parseCalibrationJson(
        cam([
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ]),
        'cal.json',
      ),
    ).toThrow(/'R' is not a rotation matrix/);
  });

  it('--frames 5:2, --pca abc and --pca 1000 are errors, not 0 frames / no PCA / a misnamed file', () => {
    expect(() => parseFrameSpec('5:2')).toThrow(/--frames '5:2': the end \(2\) must be greater than the start \(5\)/);
    expect(() => intOption('abc', '--pca', { min: 0 })).toThrow(/--pca 'abc': expected an integer >= 0/);
    expect(() => prepOptionsFromFlags(prepFlags({ frames: '5:2' }))).toThrow(InputError);
    expect(() => prepOptionsFromFlags(prepFlags({ pca: 'abc' }))).toThrow(/--pca 'abc'/);
    expect(() => checkPrepTarget(prepOptionsFromFlags(prepFlags({ pca: '1000' })))).toThrow(
      /--pca 1000: a PCA over 3 distinct frames has at most 2 components; use --pca 2 or fewer/,
    );
    expect(frameIdsOf(parseFrameSpec('0:3:2'), 3, '--frames', 's.npz')).toEqual([0, 2]);
  });

  it('render writes PNG or JPEG as the extension says and refuses other extensions', async () => {
    const scene = join(cap, 'smpl_pos_map', 'canonical_gaussians.ply');
    const calib = join(cap, 'calibration.json');
    const jpg = join(root, 'o.jpg');
    await render({ scene, camera: calib, cam: 'cam01', out: jpg }, () => undefined);
    expect((await sharp(jpg).metadata()).format).toBe('jpeg');
    const png = join(root, 'o.png');
    await render({ scene, camera: calib, cam: '0', out: png }, () => undefined);
    expect((await sharp(png).metadata()).format).toBe('png');
    await expect(render({ scene, camera: calib, cam: '0', out: join(root, 'o.bmp') })).rejects.toThrow(
      /--out .*o\.bmp: use a \.png, \.jpg or \.jpeg file name/,
    );
    await expect(render({ scene, camera: calib, cam: '0', out: png })).rejects.toThrow(
      /o\.png already exists: use --force/,
    );
  });
});

describe('late failures happen first now (before the GPU starts)', () => {
  it('out-of-range frames, a bad smpl_params shape and a bad --size fail while reading the flags', () => {
    expect(() => prepOptionsFromFlags(prepFlags({ frames: '0:99' }))).toThrow(
      /--frames: frames up to 98 were asked for but .*smpl_params\.npz holds 3 frames/,
    );
    expect(() => prepOptionsFromFlags(prepFlags({ size: '48' }))).toThrow(/--size 48: must be a multiple of 32/);
    const bad = join(root, 'badshape');
    mkdirSync(bad);
    writeNpz(join(bad, 'smpl_params.npz'), {
      body_pose: ndarray(new Float32Array(2 * 60), [2, 60]),
      global_orient: ndarray(new Float32Array(6), [2, 3]),
    });
    expect(() => prepOptionsFromFlags({ data: bad, size: '32', resume: true })).toThrow(
      /smpl_params\.npz: 'body_pose' has shape \[2,60\], expected \(2, 63\)/,
    );
  });

  it('synth --size 0 is an option error; nothing is written', () => {
    const out = join(root, 'size0');
    expect(() => synthOptionsFromFlags({ out, preset: 'small', size: '0', seed: '1' })).toThrow(
      /--size '0': the width must be from 16 to 8192 pixels/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('messages: named, one line, no internal names', () => {
  it('a PLY claiming 10^12 vertices, one with 0, a deeply nested pickle, a mesh given as splats', () => {
    const g = encodePly(
      sceneToPly({
        count: 1,
        means: [0, 0, 0],
        scales: [1, 1, 1],
        rotations: [1, 0, 0, 0],
        opacities: [0.5],
        colors: [0, 0, 0],
      }),
    );
    const head = (n: string) =>
      new TextEncoder().encode(new TextDecoder('latin1').decode(g).replace('element vertex 1', `element vertex ${n}`));
    expect(() => decodePly(head('1000000000000'), 'big.ply')).toThrow(/big\.ply: truncated: 1000000000000 vertices/);
    expect(() => decodePly(head('0'), 'empty.ply')).toThrow(/empty\.ply: holds no Gaussians/);
    const deep = new Uint8Array(2 + 200_000 + 199_999 + 1);
    deep.set([0x80, 2]);
    deep.fill(0x5d, 2, 200_002);
    deep.fill(0x61, 200_002, deep.length - 1);
    deep[deep.length - 1] = 0x2e;
    expect(() => unpickle(deep, { source: 'deep.pkl' })).toThrow(
      /deep\.pkl: containers are nested more than 1000 levels/,
    );
    const mesh =
      'ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n' +
      'element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n';
    expect(() => decodePly(new TextEncoder().encode(mesh), 'mesh.ply')).toThrow(
      /mesh\.ply: a triangle mesh \(vertices and faces\), not 3DGS Gaussians/,
    );
  });

  it('YAML: data_dir: 12345 and a misspelt key name the key; a syntax error is an InputError', () => {
    const y = (body: string) => {
      const p = join(root, 'a.yaml');
      writeFileSync(p, body);
      return () => readPrepConfig(p);
    };
    const base = 'train:\n  dataset: MvRgbDatasetTHuman4\n  net_ckpt_dir: r\n  data:\n    frame_range: [0, 2]\n';
    expect(y(`${base}    data_dir: 12345\n`)).toThrow(/a\.yaml: train\.data\.data_dir: expected a string, got 12345/);
    expect(y(`${base}    datadir: x\n`)).toThrow(/train\.data\.datadir: unknown key/);
    expect(y('train: [\n')).toThrow(InputError);
  });

  it('smpl_params with no frames says so (not "shape [0,3], expected [0, 3]")', () => {
    const p = join(root, 'empty_params.npz');
    writeNpz(p, {
      body_pose: ndarray(new Float32Array(0), [0, 63]),
      global_orient: ndarray(new Float32Array(0), [0, 3]),
    });
    expect(() => readSmplParams(p)).toThrow(
      /'body_pose' has shape \[0,63\]: it must be \(frames, 63\) with at least one frame/,
    );
  });

  it('unwritable outputs: one line naming the output and the reason; no temporary left or named', () => {
    const file = join(root, 'blocker');
    writeFileSync(file, 'x');
    const target = join(file, 'sub', 'o.png');
    let msg = '';
    try {
      checkOutputFile(target);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/cannot write .*o\.png: cannot create its folder: .*blocker is a file, not a folder/);
    expect(msg).not.toMatch(/\n|tmp-|ENOENT|mkdir/);
    let w = '';
    try {
      writeFileAtomic(join(root, 'missing-dir', 'x.bin'), 'data');
    } catch (e) {
      w = (e as Error).message;
    }
    expect(w).toMatch(/cannot write .*x\.bin: the folder .*missing-dir does not exist/);
    expect(w).not.toMatch(/tmp-/);
    expect(() => exportBody({ model: join(cap, 'smplx_model.npz'), out: join(file, 'm.obj') })).toThrow(InputError);
  });
});

describe('commands chain', () => {
  it('render takes calibration.json + --cam (name or index); a calibration without --cam says which exist', () => {
    const calib = join(cap, 'calibration.json');
    expect(readCameraJson(calib, 'cam01').name).toBe('cam01');
    expect(readCameraJson(calib, '1').name).toBe('cam01');
    expect(() => readCameraJson(calib)).toThrow(/calibration of 2 cameras: choose one with --cam .*cam00, cam01/);
    expect(() => readCameraJson(calib, 'cam07')).toThrow(/--cam cam07: .* has no such camera/);
  });

  it('prep --out writes elsewhere and leaves the capture untouched; the canonical Gaussians are a 3DGS .ply', async () => {
    const out = join(root, 'prepared');
    const before = readdirSync(cap).sort();
    const capMtime = statSync(cap).mtimeMs;
    const r = await prepare(await getGpu(), prepOptionsFromFlags(prepFlags({ out, pca: '0', force: false })));
    expect(r.outDir).toBe(out);
    expect(readdirSync(cap).sort()).toEqual(before);
    expect(statSync(cap).mtimeMs).toBe(capMtime);
    const g = decodePly(readFileSync(join(out, 'canonical_gaussians.ply')), 'canonical_gaussians.ply');
    expect(g.count).toBe(r.gaussians);
    expect(loadSmplxModel(join(cap, 'smplx_model.npz')).numJoints).toBe(55);
  });

  it('progress: a bar on a terminal, plain lines (at most every few seconds, plus the last) otherwise', () => {
    const lines: string[] = [];
    const p = progress({ tty: false, intervalMs: 1e9, log: (l) => lines.push(l), prefix: 'prep' });
    p.start('posed maps', 3);
    p.update(1);
    p.update(2);
    p.update(3);
    p.stop();
    expect(lines).toEqual(['prep: posed maps 3/3']);
  });
});
