/**
 * Rasterizer benchmark: forward and forward + backward for avatar-like scenes at 1500×2048 (the reference's
 * resolution), 300k and 1M Gaussians, plus 618k small Gaussians (the reference: 1.9 ms forward on the H100).
 * - `splat forward`, `splat forward+backward`: the read-back path, wall clock per frame after warm-up, including
 *   the one pair-count readback per frame (at the frame's end);
 * - `splat replay forward`, `splat replay forward+backward`: the capturable path as a training step runs it
 *   (captured once, replayed; capacity 1.1× the pair count), GPU time per frame from timestamps;
 * - `splat backward repeatable`: the backward run twice on the same frame gives the same gradient bits (ms: 0 or 1
 *   in the `rate` column; the note says which buffers differed, if any).
 * The image gradient is a fixed pseudo-random field, not zeros (zero gradients would let a backward skip work).
 * `tiny` shrinks everything for a lavapipe smoke run. Also reports whether the pool created buffers after warm-up
 * (it must not). `SPLAT_CASES=300k,618k` runs only the cases whose names start with those prefixes;
 * `SPLAT_BUTTERFLY=0` sums the backward's per-Gaussian gradients with subgroupAdd (the read-back path's rows).
 */
import type { Gpu } from '../src/gpu/index.js';
import type { Camera } from '../src/splat/camera.js';
import { GaussianRasterizer, uploadScene } from '../src/splat/rasterizer.js';
import type { SplatScene } from '../src/splat/reference.js';
import { seededRandom } from '../src/tensor/rng.js';
import { median, type BenchRow } from './table.js';
import { timeGpu, warmUp } from './timeit.js';
import { SplatView } from '../src/splat/view.js';

/** Gaussians on an upright ellipsoid shell (≈ a 1.7 m body), seen from 3 m; `scale` is the mean Gaussian size (m). */
export function avatarScene(n: number, scale: number, seed = 1): SplatScene {
  const rand = seededRandom(seed);
  const means = new Float32Array(3 * n);
  const scales = new Float32Array(3 * n);
  const rotations = new Float32Array(4 * n);
  const opacities = new Float32Array(n);
  const colors = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const u = rand() * 2 - 1;
    const phi = rand() * 2 * Math.PI;
    const r = Math.sqrt(1 - u * u);
    means.set([0.25 * r * Math.cos(phi), 0.85 * u, 0.15 * r * Math.sin(phi)], 3 * i);
    for (let k = 0; k < 3; k++) scales[3 * i + k] = scale * (0.5 + rand()) * (k === 2 ? 0.3 : 1);
    const q = [rand() - 0.5, rand() - 0.5, rand() - 0.5, rand() - 0.5];
    const l = Math.hypot(...q);
    rotations.set(
      q.map((v) => v / l),
      4 * i,
    );
    opacities[i] = 0.3 + 0.69 * rand();
    colors.set([rand(), rand(), rand()], 3 * i);
  }
  return { count: n, means, scales, rotations, opacities, colors };
}

export function benchCamera(width: number, height: number): Camera {
  const f = 1.25 * height;
  return {
    width,
    height,
    K: [f, 0, width / 2, 0, f, height / 2, 0, 0, 1],
    R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    T: [0, 0, 3],
  };
}

export async function benchSplat(gpu: Gpu, opts: { tiny?: boolean; reps?: number } = {}): Promise<BenchRow[]> {
  const tiny = opts.tiny ?? false;
  const reps = opts.reps ?? (tiny ? 2 : 20);
  const [W, H] = tiny ? [64, 48] : [1500, 2048];
  const cases: [string, number, number][] = tiny
    ? [['tiny', 2000, 0.01]]
    : [
        ['300k avatar', 300_000, 0.004],
        ['618k small', 618_000, 0.0025],
        ['1M avatar', 1_000_000, 0.003],
      ];
  const rows: BenchRow[] = [];
  const cam = benchCamera(W, H);
  const only = process.env.SPLAT_CASES?.split(',');
  const dImage = gpu.pool.acquire(20 * W * H);
  gpu.upload(dImage, imageGradient(5 * W * H));
  for (const [name, n, scale] of cases) {
    if (only && !only.some((o) => name.startsWith(o))) continue;
    const scene = uploadScene(gpu, avatarScene(n, scale));
    const r = new GaussianRasterizer(gpu);
    if (process.env.SPLAT_FLUSH) r.flushEvery = Number(process.env.SPLAT_FLUSH); // A/B of submission batching
    if (process.env.SPLAT_BUTTERFLY === '0') r.butterflySize = 0; // A/B: the backward's ten subgroupAdd calls
    let pairs = 0;
    const time = async (backward: boolean) => {
      const ts: number[] = [];
      for (let i = 0; i < reps + 2; i++) {
        const t0 = performance.now();
        const out = await r.forward(scene, cam, { background: [1, 1, 1] });
        pairs = out.pairs;
        if (backward) r.backward(dImage);
        await gpu.sync();
        if (i >= 2) ts.push(performance.now() - t0);
      }
      return median(ts);
    };
    // Raise the GPU clocks first (an idle H100 runs its first second of work slowly; see warmUp).
    await warmUp(gpu, async () => {
      await r.forward(scene, cam, { background: [1, 1, 1] });
      r.backward(dImage);
    });
    const fwd = await time(false);
    const fb1 = await time(true);
    const created = gpu.pool.stats.created;
    const fwd2 = await time(false);
    const fb = Math.min(fb1, await time(true));
    const steady = gpu.pool.stats.created - created;
    const note = `${W}×${H}, ${pairs} tile pairs`;
    rows.push({
      bench: 'splat forward',
      case: name,
      ms: Math.min(fwd, fwd2),
      rate: n / Math.min(fwd, fwd2) / 1e3,
      unit: 'MGauss/s',
      note,
    });
    rows.push({
      bench: 'splat forward+backward',
      case: name,
      ms: fb,
      rate: n / fb / 1e3,
      unit: 'MGauss/s',
      note: `${note}; pool buffers created after warm-up: ${steady}`,
    });
    rows.push(await repeatable(gpu, r, scene.count, dImage, name, note));
    r.release();
    rows.push(...(await replayed(gpu, scene, cam, pairs, dImage, name, note)));
    scene.free();
    gpu.pool.trim();
  }
  gpu.pool.release(dImage);
  return rows;
}

/** A fixed pseudo-random image gradient in [−0.5, 0.5): every pixel's five planes non-zero. */
export function imageGradient(count: number): Float32Array {
  const a = new Float32Array(count);
  let s = 12345;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s >>> 8) / 16777216 - 0.5;
  }
  return a;
}

/** Whether two backwards of the last frame give the same bits (the backward has no float atomics). */
async function repeatable(
  gpu: Gpu,
  r: GaussianRasterizer,
  n: number,
  dImage: GPUBuffer,
  name: string,
  note: string,
): Promise<BenchRow> {
  const read = async () => {
    const o = r.backward(dImage);
    const parts = [o.means, o.scales, o.rotations, o.opacities, o.colors];
    const sizes = [3 * n, 3 * n, 4 * n, n, 3 * n];
    return Promise.all(parts.map(async (b, i) => new Uint32Array(await gpu.read(b, 0, 4 * sizes[i]!))));
  };
  const a = await read();
  const b = await read();
  const names = ['means', 'scales', 'rotations', 'opacities', 'colors'];
  const differ = names.filter((_, i) => a[i]!.some((v, j) => v !== b[i]![j]));
  return {
    bench: 'splat backward repeatable',
    case: name,
    ms: 0,
    rate: differ.length ? 0 : 1,
    unit: '1 = same bits',
    note: `${note}; ${differ.length ? `differ: ${differ.join(', ')}` : 'all gradients bit-identical'}`,
  };
}

/** The capturable path, captured once and replayed (as a training step runs it): GPU time per frame. */
async function replayed(
  gpu: Gpu,
  scene: ReturnType<typeof uploadScene>,
  cam: Camera,
  pairs: number,
  dImage: GPUBuffer,
  name: string,
  note: string,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const view = new SplatView(gpu, cam.width, cam.height);
  view.set(cam, [1, 1, 1]);
  for (const backward of [false, true]) {
    const r = new GaussianRasterizer(gpu);
    r.capacity = Math.max(1024, Math.ceil(1.1 * pairs));
    const replay = gpu.capture(() => {
      r.forwardCapturable(scene, view);
      if (backward) r.backward(dImage);
    });
    const ms = await timeGpu(gpu, () => replay.run(), { reps: 10, samples: 5, warmup: 3, warmMs: 1000 });
    const over = await r.checkOverflow();
    rows.push({
      bench: `splat replay forward${backward ? '+backward' : ''}`,
      case: name,
      ms,
      rate: scene.count / ms / 1e3,
      unit: 'MGauss/s',
      note: `${note}; GPU time, capacity ${r.capacity}${over.overflowed ? ' (OVERFLOWED: pairs dropped)' : ''}`,
    });
    replay.dispose();
    r.release();
  }
  view.destroy();
  return rows;
}
