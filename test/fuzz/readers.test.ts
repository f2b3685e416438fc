/**
 * The reader fuzz suite (issue 19): for every reader, a few hundred seeded corruptions of small valid files
 * (truncation, byte flips, huge counts, NaN/±Inf, wrong types in text and JSON). Each must end in our named error
 * (InputError / FormatError / ConfigError) or a correct result (finite values, consistent sizes) within the time
 * bound: never a raw RangeError/TypeError, a hang, or NaN in what a reader returns. The summary table (inputs
 * tried, named errors, correct results, failures) is printed after the suite.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { smplxForward } from '../../src/body/forward.js';
import { decodeSmplxModel, type SmplxModel } from '../../src/body/model.js';
import { decodePoseSequence, frameParams, type PoseSequence } from '../../src/body/poses.js';
import { readPrepConfig } from '../../src/cli/prep.js';
import {
  formatActorsHqCsv,
  parseActorsHqCsv,
  parseCalibrationJson,
  parseCameraJson,
  type Camera,
} from '../../src/data/camera.js';
import { decodeSmplParams, type SmplParamSequence } from '../../src/data/smpl-params.js';
import { decodeExr, encodeExr, type ExrImage } from '../../src/io/exr.js';
import { readGray, readRgb } from '../../src/io/node/image.js';
import { encodePly as encodeMeshPly } from '../../src/io/mesh.js';
import { decodeNpy, encodeNpy, ndarray, numel, type NdArray } from '../../src/io/npy.js';
import { decodeNpz, encodeNpz } from '../../src/io/npz.js';
import { isNdArray, isSparseMatrix, unpickle } from '../../src/io/pickle.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { isTorchTensor, readTorchCheckpoint } from '../../src/io/torch.js';
import { decodePlyMesh } from '../../src/prep/template.js';
import { decodePly, encodePly, plyToScene, sceneToPly } from '../../src/splat/ply.js';
import { torchSave, torchSaveLegacy, type FakeValue } from '../helpers/torch-writer.js';
import { ALL_STATS, fuzz, fuzzAsync, nonFinite, summary, type FuzzStats } from './harness.js';
import { BINARY, JSON_MUTATIONS, TEXT } from './mutate.js';
import { unzipSync, zipSync } from 'fflate';

const fixture = (p: string) => new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', p)));
const text = (s: string) => new TextEncoder().encode(s);
const root = mkdtempSync(join(tmpdir(), 'animgs-fuzz-'));
/** Inputs per reader (the slowest readers take fewer). */
const N = 300;

/**
 * Inputs that are one member of an archive, re-zipped with a valid CRC-32 around the corrupted member (so the
 * member's own parser is fuzzed, not only the checksum): byte 0 picks the member, the rest replaces it.
 */
function memberSeeds(
  archive: Uint8Array,
  names: string[],
): { seeds: Uint8Array[]; rebuild: (b: Uint8Array) => Uint8Array } {
  const files = unzipSync(archive);
  const seeds = names.map((n, i) => {
    const m = files[n]!;
    const b = new Uint8Array(m.length + 1);
    b[0] = i;
    b.set(m, 1);
    return b;
  });
  const rebuild = (b: Uint8Array) => {
    const name = names[(b[0] ?? 0) % names.length]!;
    return zipSync({ ...files, [name]: b.subarray(1) }, { level: 0 });
  };
  return { seeds, rebuild };
}

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  console.log(`\nreader fuzz suite (issue 19):\n${summary(ALL_STATS)}`);
});

function expectClean(s: FuzzStats): void {
  expect(s.failures.slice(0, 5), `${s.reader}: ${s.failures.length} failures`).toEqual([]);
  expect(s.tried).toBeGreaterThan(100);
  expect(s.named).toBeGreaterThan(0);
}

function arrayProblem(name: string, a: NdArray): string | undefined {
  if (a.data.length !== numel(a.shape)) return `${name}: ${a.data.length} values for shape [${a.shape}]`;
  return Array.isArray(a.data) ? undefined : nonFinite(name, a.data);
}

/** Walk an unpickled graph: every number finite, every array consistent with its shape. */
function graphProblem(root: unknown): string | undefined {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'number' && !Number.isFinite(v)) return `a number is ${v}`;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (isNdArray(v)) {
      const p = arrayProblem('array', v);
      if (p) return p;
    } else if (isTorchTensor(v)) {
      if (v.data.length !== v.shape.reduce((a, b) => a * b, 1)) return `tensor of shape [${v.shape}]`;
      const p = nonFinite('tensor', v.data);
      if (p) return p;
    } else if (isSparseMatrix(v)) {
      const p = nonFinite('sparse', v.data);
      if (p) return p;
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v instanceof Set) stack.push(...v);
    else if (!(v instanceof Uint8Array)) stack.push(...Object.values(v));
  }
  return undefined;
}

function cameraProblem(c: Camera): string | undefined {
  for (const [k, a] of [
    ['K', c.K],
    ['R', c.R],
    ['T', c.T],
  ] as const) {
    const p = nonFinite(k, a);
    if (p) return p;
  }
  if (!(Number.isInteger(c.width) && c.width > 0 && Number.isInteger(c.height) && c.height > 0)) return 'size';
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let d = 0;
      for (let k = 0; k < 3; k++) d += c.R[3 * i + k]! * c.R[3 * j + k]!;
      if (Math.abs(d - (i === j ? 1 : 0)) > 1e-2) return 'R is not a rotation';
    }
  }
  if (!(c.K[0]! > 0 && c.K[4]! > 0)) return 'focal lengths';
  return undefined;
}

// ----------------------------------------------------------------------------------------------------------------
// seeds

function npySeeds(): Uint8Array[] {
  return [
    encodeNpy(ndarray(Float32Array.from([1, -2, 3.5, 4, 5, 6]), [2, 3])),
    encodeNpy(ndarray(Float64Array.from([1, 2, 3, 4, 5, 6]), [3, 2]), { fortranOrder: true }),
    encodeNpy(ndarray(BigInt64Array.from([1n, -2n, 3n, 4n]), [4])),
    encodeNpy(ndarray(['ab', 'c'], [2], 'U')),
    encodeNpy(ndarray(Uint8Array.from([0, 1, 1, 0]), [2, 2], 'b1')),
    encodeNpy(ndarray(Float32Array.from([0.5, 1.5, 2.5]), [3]), { dtype: 'f2' }),
    fixture('io/numpy_fortran.npy'),
  ];
}

function smplArrays(frames: number, scale = 0.1): Record<string, NdArray> {
  const f = (n: number, s = scale) => Float32Array.from({ length: frames * n }, (_, i) => s * Math.sin(i + 1));
  return {
    betas: ndarray(
      Float32Array.from({ length: 10 }, (_, i) => 0.1 * i),
      [1, 10],
    ),
    global_orient: ndarray(f(3), [frames, 3]),
    transl: ndarray(f(3), [frames, 3]),
    body_pose: ndarray(f(63), [frames, 63]),
    jaw_pose: ndarray(f(3), [frames, 3]),
    expression: ndarray(f(10), [frames, 10]),
    left_hand_pose: ndarray(f(45), [frames, 45]),
    right_hand_pose: ndarray(f(45), [frames, 45]),
  };
}

function exrSeeds(): Uint8Array[] {
  const W = 5,
    H = 19;
  const ch = (k: number) => Float32Array.from({ length: W * H }, (_, i) => Math.sin(i * 0.3 + k));
  const channels = [
    { name: 'B', data: ch(0) },
    { name: 'G', data: ch(1) },
    { name: 'R', data: ch(2) },
  ];
  return [
    encodeExr(W, H, channels, { compression: 'zip' }),
    encodeExr(W, H, channels, { compression: 'none', type: 'half' }),
    encodeExr(
      3,
      2,
      channels.slice(0, 1).map((c) => ({ ...c, data: c.data.subarray(0, 6) })),
      { compression: 'none' },
    ),
  ];
}

function splatSeeds(): Uint8Array[] {
  const n = 4;
  const scene = {
    count: n,
    means: Float32Array.from({ length: 3 * n }, (_, i) => Math.sin(i)),
    scales: Float32Array.from({ length: 3 * n }, (_, i) => 0.05 + 0.01 * i),
    rotations: Float32Array.from({ length: 4 * n }, (_, i) => (i % 4 === 0 ? 1 : 0.1)),
    opacities: Float32Array.from({ length: n }, (_, i) => 0.2 + 0.15 * i),
    sh: Float32Array.from({ length: n * 4 * 3 }, (_, i) => 0.1 * Math.cos(i)),
  };
  const ascii =
    'ply\nformat ascii 1.0\ncomment fuzz\nelement vertex 2\n' +
    ['x', 'y', 'z', 'f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity', 'scale_0', 'scale_1', 'scale_2']
      .concat(['rot_0', 'rot_1', 'rot_2', 'rot_3'])
      .map((p) => `property float ${p}`)
      .join('\n') +
    '\nend_header\n1 2 3 0.1 0.2 0.3 0 -1 -2 -3 1 0 0 0\n4 5 6 0 0 0 2 -3 -3 -3 0 1 0 0\n';
  return [encodePly(sceneToPly(scene)), text(ascii)];
}

function meshSeeds(): Uint8Array[] {
  const positions = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
  const faces = [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3];
  const ascii =
    'ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n' +
    'element face 2\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n4 0 1 3 2\n';
  return [encodeMeshPly({ positions, faces }), encodeMeshPly({ positions, faces, normals: positions }), text(ascii)];
}

function calibrationSeed(): Uint8Array {
  const cam = (t: number) => ({
    K: [
      [100, 0, 32],
      [0, 100, 24],
      [0, 0, 1],
    ],
    R: [
      [Math.cos(t), 0, Math.sin(t)],
      [0, 1, 0],
      [-Math.sin(t), 0, Math.cos(t)],
    ],
    T: [0.1, -0.2, 3],
    imgSize: [64, 48],
  });
  return text(JSON.stringify({ cam00: cam(0), cam01: cam(1) }, null, 1));
}

function modelProblem(m: SmplxModel): string | undefined {
  for (const k of ['vTemplate', 'shapedirs', 'posedirs', 'weights', 'jTemplate'] as const) {
    const p = nonFinite(k, m[k]);
    if (p) return p;
  }
  for (const f of m.faces) if (f >= m.numVertices) return `face index ${f}`;
  const pose = { bodyPose: Float64Array.from({ length: 63 }, (_, i) => 0.3 * Math.sin(i)), betas: [0.5, -0.5] };
  for (const p of [{}, pose]) {
    const v = smplxForward(m, p, { vertices: true }).vertices!;
    const bad = nonFinite('posed vertices', v);
    if (bad) return bad;
  }
  return undefined;
}

function poseProblem(s: PoseSequence): string | undefined {
  if (s.numFrames < 1) return 'no frames';
  for (const k of [
    'globalOrient',
    'transl',
    'bodyPose',
    'jawPose',
    'expression',
    'leftHandPose',
    'rightHandPose',
  ] as const) {
    const p = nonFinite(k, s[k]);
    if (p) return p;
  }
  return nonFinite('betas', s.betas) ?? (frameParams(s, s.numFrames - 1) ? undefined : 'frame');
}

function smplProblem(s: SmplParamSequence): string | undefined {
  if (s.length < 1) return 'no frames';
  for (let i = 0; i < s.length; i++) {
    for (const [k, v] of Object.entries(s.frame(i))) {
      const p = nonFinite(k, v as ArrayLike<number>);
      if (p) return p;
    }
  }
  return undefined;
}

// ----------------------------------------------------------------------------------------------------------------

describe('reader fuzz suite', () => {
  it('npy', () => {
    expectClean(
      fuzz({
        reader: '.npy',
        seeds: npySeeds(),
        count: N,
        seed: 1,
        read: (b) => decodeNpy(b, 'fuzz.npy'),
        check: (a) => arrayProblem('npy', a),
      }),
    );
  });

  it('npz (stored and deflated; CRC-32)', () => {
    const arrays = { a: ndarray(Float32Array.from([1, 2, 3, 4]), [2, 2]), s: ndarray(['x', 'yz'], [2], 'U') };
    expectClean(
      fuzz({
        reader: '.npz',
        seeds: [encodeNpz(arrays), encodeNpz(arrays, { compress: true }), fixture('io/numpy_stored.npz')],
        count: N,
        seed: 2,
        read: (b) => {
          const z = decodeNpz(b, 'fuzz.npz');
          return z.names.map((n) => z.get(n));
        },
        check: (all) => all.map((a) => arrayProblem('member', a)).find((p) => p),
      }),
    );
  });

  it('npz, smpl_params, SMPL-X model and torch members behind a valid CRC-32', () => {
    const npz = memberSeeds(encodeNpz({ a: ndarray(Float64Array.from([1, 2, 3, 4]), [2, 2]) }), ['a.npy']);
    expectClean(
      fuzz({
        reader: '.npz member (valid CRC)',
        seeds: npz.seeds,
        count: N,
        seed: 21,
        read: (b) => decodeNpz(npz.rebuild(b), 'fuzz.npz').get('a'),
        check: (a) => arrayProblem('a', a),
      }),
    );
    const sp = memberSeeds(encodeNpz(smplArrays(3)), ['body_pose.npy', 'transl.npy', 'betas.npy', 'expression.npy']);
    expectClean(
      fuzz({
        reader: 'smpl_params member',
        seeds: sp.seeds,
        count: N,
        seed: 22,
        read: (b) => decodeSmplParams(sp.rebuild(b), 'smpl_params.npz'),
        check: smplProblem,
      }),
    );
    const md = memberSeeds(fixture('body/tiny_smplx.npz'), [
      'v_template.npy',
      'weights.npy',
      'f.npy',
      'kintree_table.npy',
      'J_regressor.npy',
      'shapedirs.npy',
    ]);
    expectClean(
      fuzz({
        reader: 'SMPL-X model member',
        seeds: md.seeds,
        count: 200,
        seed: 23,
        read: (b) => decodeSmplxModel(md.rebuild(b), 'fuzz-model.npz'),
        check: modelProblem,
      }),
    );
    const state = new Map<string, FakeValue>([
      ['w', { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] }],
      ['wt', { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2], stride: [1, 3], storageOf: 'w' }],
    ]);
    const pt = memberSeeds(torchSave(state), ['archive/data.pkl', 'archive/data/0']);
    expectClean(
      fuzz({
        reader: 'torch data.pkl/storage',
        seeds: pt.seeds,
        count: N,
        seed: 24,
        read: (b) => readTorchCheckpoint(pt.rebuild(b), 'fuzz.pt'),
        check: graphProblem,
      }),
    );
  });

  it('pickle (protocols 0-5, numpy arrays, chumpy)', () => {
    const seeds = ['data_p0', 'data_p2', 'data_p4', 'data_p5', 'chumpy_p2'].map((n) => fixture(`io/${n}.pkl`));
    expectClean(
      fuzz({
        reader: 'pickle',
        seeds,
        count: N,
        seed: 3,
        read: (b) => unpickle(b, { source: 'fuzz.pkl' }),
        check: graphProblem,
      }),
    );
  });

  it('torch checkpoints (zip and legacy)', () => {
    const state = new Map<string, FakeValue>([
      ['w', { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] }],
      ['b', { data: Float32Array.from([0.5, -0.5]), shape: [2] }],
      ['wt', { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2], stride: [1, 3], storageOf: 'w' }],
      ['step', 7],
      ['name', 'fuzz'],
    ]);
    expectClean(
      fuzz({
        reader: 'torch .pt',
        seeds: [torchSave(state), torchSaveLegacy(state)],
        count: N,
        seed: 4,
        read: (b) => readTorchCheckpoint(b, 'fuzz.pt'),
        check: graphProblem,
      }),
    );
  });

  it('EXR (ZIP and uncompressed, float and half)', () => {
    expectClean(
      fuzz({
        reader: 'EXR',
        seeds: exrSeeds(),
        count: N,
        seed: 5,
        read: (b) => decodeExr(b, 'fuzz.exr'),
        check: (img: ExrImage) =>
          img.channels
            .map((c) =>
              c.data.length !== img.width * img.height ? `channel ${c.name} size` : nonFinite(c.name, c.data),
            )
            .find((p) => p),
      }),
    );
  });

  it('safetensors', () => {
    const t = new Map([
      ['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['i', { shape: [3], data: Int32Array.from([1, -2, 3]) }],
      ['p', { shape: [2], data: Uint32Array.from([7, 8]) }],
      ['h', { shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) }],
    ]);
    expectClean(
      fuzz({
        reader: 'safetensors',
        seeds: [encodeSafetensors(t, { size: '32', note: 'fuzz' })],
        count: N,
        seed: 6,
        read: (b) => decodeSafetensors(b, 'fuzz.safetensors'),
        check: ({ tensors }) =>
          [...tensors.values()]
            .map((x) =>
              x.data.length !== x.shape.reduce((a, c) => a * c, 1)
                ? 'size'
                : x.dtype === 'F32'
                  ? nonFinite('F32', x.data)
                  : undefined,
            )
            .find((p) => p),
      }),
    );
  });

  it('3DGS PLY (binary and ASCII)', () => {
    expectClean(
      fuzz({
        reader: '3DGS .ply',
        seeds: splatSeeds(),
        count: N,
        seed: 7,
        read: (b) => plyToScene(decodePly(b, 'fuzz.ply')),
        check: (s) => {
          if (s.count < 1) return 'no Gaussians';
          for (const [k, a] of Object.entries(s)) {
            if (typeof a === 'object' && a) {
              const p = nonFinite(k, a as ArrayLike<number>);
              if (p) return p;
            }
          }
          if (Array.from(s.scales).some((x) => !(x >= 0))) return 'scale';
          if (Array.from(s.opacities).some((x) => !(x >= 0 && x <= 1))) return 'opacity';
          return undefined;
        },
      }),
    );
  });

  it('template mesh PLY', () => {
    expectClean(
      fuzz({
        reader: 'mesh .ply (template)',
        seeds: meshSeeds(),
        count: N,
        seed: 8,
        read: (b) => decodePlyMesh(b, 'fuzz.ply'),
        check: (m) =>
          nonFinite('positions', m.positions) ??
          (Array.from(m.faces).some((f) => f >= m.positions.length / 3) || m.faces.length % 3 ? 'faces' : undefined),
      }),
    );
  });

  it('calibration JSON, camera JSON, ActorsHQ CSV', () => {
    const calib = calibrationSeed();
    expectClean(
      fuzz({
        reader: 'calibration.json',
        seeds: [calib],
        count: N,
        seed: 9,
        mutations: JSON_MUTATIONS,
        read: (b) => parseCalibrationJson(new TextDecoder().decode(b), 'fuzz.json'),
        check: (cams) => (cams.length ? cams.map(cameraProblem).find((p) => p) : 'no cameras'),
      }),
    );
    const single = text(
      JSON.stringify({
        width: 64,
        height: 48,
        K: [100, 0, 32, 0, 100, 24, 0, 0, 1],
        R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
        T: [0, 0, 3],
      }),
    );
    expectClean(
      fuzz({
        reader: 'camera.json (render)',
        seeds: [single, calib],
        count: N,
        seed: 10,
        mutations: JSON_MUTATIONS,
        read: (b) => {
          const t = new TextDecoder().decode(b);
          return parseCameraJson(t, 'fuzz.json', t.includes('imgSize') ? 'cam01' : undefined);
        },
        check: cameraProblem,
      }),
    );
    const csv = text(formatActorsHqCsv(parseCalibrationJson(new TextDecoder().decode(calib), 'seed')));
    expectClean(
      fuzz({
        reader: 'calibration.csv (ActorsHQ)',
        seeds: [csv],
        count: N,
        seed: 11,
        mutations: TEXT,
        read: (b) => parseActorsHqCsv(new TextDecoder().decode(b), 'fuzz.csv'),
        check: (cams) => cams.map(cameraProblem).find((p) => p),
      }),
    );
  });

  it('smpl_params.npz', () => {
    expectClean(
      fuzz({
        reader: 'smpl_params.npz',
        seeds: [encodeNpz(smplArrays(3)), encodeNpz(smplArrays(2), { compress: true })],
        count: N,
        seed: 12,
        read: (b) => decodeSmplParams(b, 'smpl_params.npz'),
        check: smplProblem,
      }),
    );
  });

  it('pose sequences (smpl_params, AMASS, AIST++)', () => {
    const amass = {
      poses: ndarray(
        Float32Array.from({ length: 2 * 156 }, (_, i) => 0.05 * Math.sin(i)),
        [2, 156],
      ),
      trans: ndarray(Float32Array.from([0, 0, 0, 0.1, 0.2, 0.3]), [2, 3]),
    };
    expectClean(
      fuzz({
        reader: 'pose sequence',
        seeds: [encodeNpz(smplArrays(2)), encodeNpz(amass), fixture('body/aist_tiny.pkl')],
        count: N,
        seed: 13,
        read: (b) => decodePoseSequence(b, 'fuzz-poses'),
        check: poseProblem,
      }),
    );
  });

  it('SMPL-X model (.npz and .pkl)', () => {
    expectClean(
      fuzz({
        reader: 'SMPL-X model',
        seeds: [fixture('body/tiny_smplx.npz'), fixture('body/tiny_smplx.pkl')],
        count: 200,
        seed: 14,
        read: (b) => decodeSmplxModel(b, 'fuzz-model'),
        check: modelProblem,
      }),
    );
  });

  it('avatar.yaml (as prep --config reads it)', () => {
    const yaml = text(
      [
        'train:',
        '  dataset: MvRgbDatasetTHuman4',
        '  data:',
        '    subject_name: fuzz',
        '    data_dir: ./capture',
        '    frame_range: [0, 20, 2]',
        '    used_cam_ids: [0, 1, 2]',
        '  net_ckpt_dir: ./results',
        '  loss_weight: {l1: 1.0, lpips: 0.1, offset: 0.005}',
        '  lr_init: 0.0005',
        'model:',
        '  with_viewdirs: true',
        '',
      ].join('\n'),
    );
    let k = 0;
    expectClean(
      fuzz({
        reader: 'avatar.yaml (prep)',
        seeds: [yaml],
        count: N,
        seed: 15,
        mutations: TEXT,
        read: (b) => {
          const p = join(root, `c${k++ % 4}.yaml`);
          writeFileSync(p, b);
          return readPrepConfig(p);
        },
        check: (c) =>
          typeof c.dataDir !== 'string' || c.dataDir === ''
            ? 'data_dir'
            : Array.isArray(c.frameRange) && c.frameRange.some((x) => !Number.isInteger(x))
              ? 'frame_range'
              : undefined,
      }),
    );
  });

  it('images (PNG, JPEG) as colour and as masks', async () => {
    const W = 16,
      H = 12;
    const px = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37) % 256);
    const raw = { raw: { width: W, height: H, channels: 3 as const } };
    const seeds = [
      new Uint8Array(await sharp(px, raw).png().toBuffer()),
      new Uint8Array(await sharp(px, raw).jpeg({ quality: 90 }).toBuffer()),
    ];
    let k = 0;
    const stats = await fuzzAsync({
      reader: 'images (sharp)',
      seeds,
      count: 240,
      seed: 16,
      mutations: BINARY,
      read: async (b) => {
        const p = join(root, `img${k++ % 4}.${b[0] === 0x89 ? 'png' : 'jpg'}`);
        writeFileSync(p, b);
        const rgb = await readRgb(p);
        const gray = await readGray(p);
        return { rgb, gray };
      },
      check: ({ rgb, gray }) =>
        rgb.data.length !== 3 * rgb.width * rgb.height || gray.data.length !== gray.width * gray.height
          ? 'size'
          : (nonFinite('rgb', rgb.data) ??
            (Array.from(rgb.data).some((x) => x < 0 || x > 1) ? 'rgb outside [0, 1]' : undefined)),
    });
    expectClean(stats);
  });
});
