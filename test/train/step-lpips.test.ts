/**
 * The training step with the reference's loss (L1 + LPIPS on the crop), which the trainer tests (no LPIPS weights:
 * D-SSIM) do not reach: the captured step replays what the eager one computes, bit for bit, and its losses are
 * finite. Tiny preset, random VGG weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AVATAR_PRESETS } from '../../src/avatar/config.js';
import { AvatarNet } from '../../src/avatar/net.js';
import type { Camera } from '../../src/data/camera.js';
import { Lpips, lpipsLinEntries } from '../../src/nn/lpips.js';
import { Adam } from '../../src/nn/optim.js';
import { vggEntries } from '../../src/nn/vgg.js';
import { initEngine, Tensor } from '../../src/tensor/index.js';
import { seededRandom } from '../../src/tensor/rng.js';
import { packedSizes, PIXEL_SUBJECT, wholeImage } from '../../src/train/ground-truth.js';
import { TrainStep, type StepInput } from '../../src/train/step.js';

const J = 55;
const [W, H] = [24, 32];
const CROP = 16;
const WIDTHS = [2, 2, 2, 2, 2];
const cfg = AVATAR_PRESETS.tiny;

/** Gaussians on a disc of pixels of each side of the canonical map, skinned to the root. */
function canonical() {
  const S = cfg.mapSize;
  const pixels: number[] = [];
  const pos: number[] = [];
  const nml: number[] = [];
  for (let y = 0; y < S; y += 4)
    for (let x = 0; x < 2 * S; x += 4) {
      const side = x < S ? 1 : -1;
      const u = ((x % S) + 0.5) / S - 0.5;
      const v = (y + 0.5) / S - 0.5;
      if (u * u + v * v >= 0.16) continue;
      pixels.push(y * 2 * S + x);
      pos.push(u, -v, side * 0.05);
      nml.push(0, 0, side);
    }
  const n = pixels.length;
  const weights = new Float32Array(n * J);
  for (let i = 0; i < n; i++) weights[i * J] = 1;
  return { positions: Float32Array.from(pos), pixels: Uint32Array.from(pixels), mapSize: S, weights, normals: nml, n };
}

function randomLpips(): Lpips {
  const r = seededRandom(11);
  const dict = (entries: Array<{ name: string; shape: number[] }>, s: number) =>
    new Map(
      entries.map((e) => [e.name, new Float32Array(e.shape.reduce((a, b) => a * b, 1)).map(() => s * (r() - 0.5))]),
    );
  return Lpips.fromStateDicts(dict(vggEntries(WIDTHS), 0.5), dict(lpipsLinEntries(WIDTHS), 1), WIDTHS);
}

const cam: Camera = {
  name: 'test',
  width: W,
  height: H,
  K: Float64Array.from([40, 0, W / 2, 0, 40, H / 2, 0, 0, 1]),
  R: Float64Array.from([1, 0, 0, 0, -1, 0, 0, 0, -1]),
  T: Float64Array.from([0, 0, 2]),
};

let lpips: Lpips;
beforeAll(async () => {
  await initEngine();
  lpips = randomLpips();
});
afterAll(() => lpips.dispose());

describe('training step with L1 + LPIPS', () => {
  it('the captured step replays exactly what the eager step computes', async () => {
    const c = canonical();
    const keep = { persistent: true };
    const canon = {
      weights: Tensor.from(c.weights, [c.n, J], keep),
      points: Tensor.from(c.positions, [c.n, 3], keep),
      normals: Tensor.from(c.normals, [c.n, 3], keep),
    };
    const r = seededRandom(3);
    const S = cfg.poseMapSize;
    const jointMats = new Float32Array(J * 16);
    for (let j = 0; j < J; j++) for (let k = 0; k < 4; k++) jointMats[j * 16 + k * 5] = 1;
    const input: StepInput = {
      poseMap: new Float32Array(3 * S * S).map(() => r() - 0.5),
      jointMats,
      camera: cam,
      bg: [0.2, 0.5, 0.7],
      box: wholeImage(W, H),
      photo: new Uint8Array(packedSizes(W, H).photo).map(() => Math.floor(256 * r())),
      classes: new Uint8Array(packedSizes(W, H).classes).fill(PIXEL_SUBJECT),
      cropParams: Float32Array.from([2, 6, 20, CROP]),
      seed: 1,
    };
    const run = async (eager: boolean) => {
      const net = AvatarNet.init(cfg, c, { seed: 5 });
      const step = new TrainStep(
        net,
        new Adam(net.parameters(), { lr: 1e-3 }),
        canon,
        'train',
        { width: W, height: H },
        { weights: { l1: 1, lpips: 0.5, offset: 0.005 }, lpips, lpipsSize: CROP },
      );
      const losses: number[][] = [];
      for (let i = 0; i < 2; i++) {
        step.run(input, eager);
        losses.push(Array.from(await step.readLosses()));
      }
      step.dispose();
      net.dispose();
      return losses;
    };
    const eager = await run(true);
    const captured = await run(false);
    expect(captured).toEqual(eager);
    for (const l of eager) for (const v of l) expect(Number.isFinite(v)).toBe(true);
    expect(eager[0]![2]).toBeGreaterThan(0); // the LPIPS term is there
    for (const t of Object.values(canon)) t.dispose();
  });
});
