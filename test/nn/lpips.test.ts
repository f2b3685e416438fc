/**
 * VGG16 trunk and LPIPS against their float64 twins, on a reduced-channel VGG of the same structure (13 convs, four
 * pools, five taps) whose weights are written as legacy torch.save files and loaded through the same path as
 * torchvision's and LPIPS's files. The gradient into the predicted image is checked against central differences of
 * the float64 LPIPS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, beginScope, initEngine, scope, Tensor } from '../../src/tensor/index.js';
import { Lpips, lpipsLinEntries, unitNormalize } from '../../src/nn/lpips.js';
import { lpipsInputRef, lpipsRef, vggFeaturesRef } from '../../src/nn/lpips-reference.js';
import { loadLpips, resolveLpipsWeights, VGG16_FILE, LPIPS_LIN_FILE } from '../../src/nn/lpips-weights.js';
import { vggEntries } from '../../src/nn/vgg.js';
import { torchSaveLegacy, type FakeValue } from '../helpers/torch-writer.js';
import { finiteDiffCheck, randomF32, relError, seededRandom } from '../helpers/numeric.js';

const WIDTHS = [4, 5, 6, 5, 5];
const rand = seededRandom(17);

/** He-uniform weights and small biases (leaning positive so few ReLU units die in 13 layers). */
function randomVgg(): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const e of vggEntries(WIDTHS)) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.shape.length === 4) {
      const a = Math.sqrt(6 / (e.shape[1]! * 9));
      m.set(e.name, randomF32(n, rand, -a, a));
    } else m.set(e.name, randomF32(n, rand, -0.02, 0.1));
  }
  return m;
}
const vggValues = randomVgg();
const linValues = new Map(lpipsLinEntries(WIDTHS).map((e) => [e.name, randomF32(e.shape[1]!, rand, 0.05, 1)]));

const fake = (m: Map<string, Float32Array>, extra: [string, FakeValue][] = []) =>
  new Map<string, FakeValue>([
    ...[...m].map(([k, v]): [string, FakeValue] => {
      const shape = [...vggEntries(WIDTHS), ...lpipsLinEntries(WIDTHS)].find((e) => e.name === k)!.shape;
      return [k, { data: v, shape }];
    }),
    ...extra,
  ]);

let dir = '';
let lpips: Lpips;

beforeAll(async () => {
  await initEngine();
  dir = mkdtempSync(join(tmpdir(), 'animgs-lpips-'));
  // as torchvision's file: features.* plus a classifier we ignore, saved from a GPU
  const classifier: [string, FakeValue][] = [['classifier.0.bias', { data: new Float32Array(3), shape: [3] }]];
  writeFileSync(join(dir, VGG16_FILE), torchSaveLegacy(fake(vggValues, classifier), { location: 'cuda:0' }));
  writeFileSync(join(dir, LPIPS_LIN_FILE), torchSaveLegacy(fake(linValues)));
  const paths = resolveLpipsWeights({ dir, env: {} });
  expect(paths).not.toBeNull();
  lpips = loadLpips(paths!, WIDTHS);
});

afterAll(() => {
  lpips?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('LPIPS (VGG16 v0.1)', () => {
  const shape = [2, 3, 17, 19];
  const size = shape.reduce((a, b) => a * b, 1);
  const pred = randomF32(size, rand, 0, 1);
  const target = randomF32(size, rand, 0, 1);

  it('VGG taps and distances match the float64 reference (two images of odd size)', async () => {
    const s = beginScope();
    const a = Tensor.from(pred, shape);
    const b = Tensor.from(target, shape);
    const refPrep = lpipsInputRef(pred, shape);
    const prep = Tensor.from(refPrep, shape);
    const taps = await Promise.all(lpips.vgg.forward(prep).map((f) => f.toArray()));
    const dist = await lpips.distance(a, b).toArray();
    s.end();
    const ref = vggFeaturesRef(vggValues, refPrep, shape, WIDTHS);
    expect(ref.map((f) => f.shape.slice(2))).toEqual([
      [17, 19],
      [8, 9],
      [4, 4],
      [2, 2],
      [1, 1],
    ]);
    ref.forEach((f, k) => expect(relError(taps[k]!, f.data)).toBeLessThan(1e-4));
    const d = lpipsRef(vggValues, linValues, pred, target, shape, WIDTHS);
    expect(d.every((v) => v > 0)).toBe(true);
    expect(relError(dist, d)).toBeLessThan(1e-4);
  });

  it('gradients into the images match central differences of the float64 LPIPS', async () => {
    const one = [1, 3, 17, 19];
    const n = 3 * 17 * 19;
    const [p, t] = [pred.subarray(0, n), target.subarray(0, n)];
    const f = (xs: Float64Array[]) => lpipsRef(vggValues, linValues, xs[0]!, xs[1]!, one, WIDTHS);
    // the usual case, a target without gradient (its pass records nothing), then both images wanting one
    for (const both of [false, true]) {
      const a = Tensor.from(p, one, { requiresGrad: true, persistent: true });
      const b = Tensor.from(t, one, { requiresGrad: both, persistent: true });
      try {
        scope(() => backward(lpips.distance(a, b)));
        const ga = await a.grad!.toArray();
        const gb = both ? await b.grad!.toArray() : null;
        expect(ga.every(Number.isFinite)).toBe(true);
        // 48 random pixels' central differences per image (the full gradient would take seconds of float64 VGGs)
        expect(finiteDiffCheck(f, [p, t], [1], [ga, gb], rand, 48)).toBeLessThan(1e-4);
      } finally {
        a.dispose();
        b.dispose();
      }
    }
  });

  it('unit normalisation keeps a finite gradient where every channel is zero', async () => {
    const x = Tensor.from([0, 3, 0, 4, 0, 0], [1, 3, 2, 1], { requiresGrad: true, persistent: true });
    try {
      const s = beginScope();
      const u = unitNormalize(x);
      backward(u, Tensor.from([1, 1, 1, 1, 1, 1], [1, 3, 2, 1]));
      const v = await u.toArray();
      s.end();
      // pixel 0 is all zero, pixel 1 is (3, 4, 0)/5
      expect(Array.from(v).map((t) => +t.toFixed(6))).toEqual([0, 0.6, 0, 0.8, 0, 0]);
      expect((await x.grad!.toArray()).every(Number.isFinite)).toBe(true);
    } finally {
      x.dispose();
    }
  });

  it('says where to get the weights when they are missing, and names a mis-shaped entry', () => {
    const empty = mkdtempSync(join(tmpdir(), 'animgs-nolpips-'));
    try {
      let message = '';
      expect(resolveLpipsWeights({ dir: empty, env: { TORCH_HOME: empty }, warn: (m) => (message = m) })).toBeNull();
      expect(message).toContain('https://download.pytorch.org/models/vgg16-397923af.pth');
      expect(message).toContain('weights/v0.1/vgg.pth');
      expect(message).toContain(empty);
      expect(resolveLpipsWeights({ env: { TORCH_HOME: empty } })).toBeNull();
      writeFileSync(join(empty, VGG16_FILE), torchSaveLegacy(fake(vggValues)));
      writeFileSync(join(empty, LPIPS_LIN_FILE), torchSaveLegacy(fake(linValues)));
      const paths = resolveLpipsWeights({ dir: empty, env: {} })!;
      expect(() => loadLpips(paths, [4, 5, 6, 5, 6])).toThrow(/vgg16-397923af\.pth: 'features\.24\.weight' has shape/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
