/**
 * Times the conv2d kernels on every distinct 3×3 convolution shape of the full DualStyleUNet (512² input, 1024²
 * output, channel table of §2.6), batch 1: forward, input gradient and weight gradient, per kernel path.
 * Shapes come from the network spec (src/nn/styleunet/spec.ts):
 *   conv_in      Blur(pad 2,2) then 3×3 stride 2, 3 → 128 at 512²
 *   cond_convs   3×3 (C → C) at r, then Blur(pad 2,2) + 3×3 stride 2 (C → C') to r/2, r = 256 … 16
 *   comb_convs   3×3 (2C → C) at the skip's resolution, and comb_convs.5 (512 → 512 at 8²)
 *   StyledConv   up: conv_transpose2d 3×3 stride 2 (C → C') to 2r+1 (then Blur(pad 1,1)); then 3×3 (C' → C')
 * A conv_transpose2d's forward is conv2d's input gradient (and vice versa), so its rows say which kernel ran.
 * Checks the tiled path against the direct kernels on each shape (forward and input gradient) and reports the
 * largest relative error in the note.
 *
 * `tiny` shrinks resolutions by 32 and channels by 16 (and uses a small tile) so the CPU adapter can smoke-test it.
 */
import type { Gpu } from '../src/gpu/index.js';
import { avatarUnetConfig, styleUnetSpec } from '../src/nn/styleunet/spec.js';
import {
  conv2dBackwardInputRaw,
  conv2dBackwardWeightRaw,
  conv2dForwardRaw,
  type ConvKernelOptions,
} from '../src/tensor/conv/conv2d-raw.js';
import type { GemmTile } from '../src/tensor/conv/gemm.js';
import { conv2dGeometry, conv2dMacs, convTranspose2dGeometry, type Conv2dGeom } from '../src/tensor/conv/geometry.js';
import type { BenchRow } from './table.js';
import { timeGpu } from './timeit.js';

export interface ConvShape {
  /** e.g. 'conv 3x3 s1 128→128 @256²' or 'convT 3x3 s2 512→512 @16²→33²'. */
  name: string;
  /** The conv2d whose kernels run (for a transposed conv: the adjoint conv2d). */
  geom: Conv2dGeom;
  transposed: boolean;
  /** How many times the full network (both decoders) uses this shape per forward. */
  count: number;
}

export interface ConvBenchRow extends BenchRow {
  shape: string;
  path: string;
  pass: 'forward' | 'input-grad' | 'weight-grad';
  tflops: number;
  count: number;
}

export interface ConvBenchOptions {
  tiny?: boolean;
  /** Tile configurations to time (default: the default tile). */
  tiles?: Array<{ name: string; tile?: GemmTile }>;
  /** Compare against the direct kernels (default true). */
  check?: boolean;
  /** Only shapes whose name contains this. */
  filter?: string;
}

/** The distinct 3×3 conv shapes of one DualStyleUNet (batch 1), with multiplicities. */
export function unetConvShapes(tiny = false): ConvShape[] {
  const spec = styleUnetSpec(avatarUnetConfig(3));
  const rs = tiny ? 32 : 1;
  const cs = tiny ? 16 : 1;
  const C = (c: number) => Math.max(2, Math.round(c / cs));
  const R = (r: number) => Math.max(2, Math.round(r / rs));
  const shapes = new Map<string, ConvShape>();
  const add = (name: string, geom: Conv2dGeom, transposed: boolean, count: number) => {
    const s = shapes.get(name);
    if (s) s.count += count;
    else shapes.set(name, { name, geom, transposed, count });
  };
  const conv = (cin: number, cout: number, res: number, count: number) =>
    add(
      `conv 3x3 s1 ${C(cin)}→${C(cout)} @${R(res)}²`,
      conv2dGeometry([1, C(cin), R(res), R(res)], [C(cout), C(cin), 3, 3], { padding: 1 }),
      false,
      count,
    );
  const down = (cin: number, cout: number, res: number, count: number) => {
    const h = R(res) + 1; // after Blur(pad 2,2) with a 4-tap kernel
    add(
      `conv 3x3 s2 ${C(cin)}→${C(cout)} @${h}²→${R(res) / 2}²`,
      conv2dGeometry([1, C(cin), h, h], [C(cout), C(cin), 3, 3], { stride: 2 }),
      false,
      count,
    );
  };
  const up = (cin: number, cout: number, res: number, count: number) => {
    const t = convTranspose2dGeometry([1, C(cin), R(res), R(res)], [C(cin), C(cout), 3, 3], { stride: 2 });
    add(`convT 3x3 s2 ${C(cin)}→${C(cout)} @${R(res)}²→${t.hout}²`, t.conv, true, count);
  };
  down(spec.convIn.inCh, spec.convIn.outCh, spec.config.inpSize, 1);
  for (const e of spec.encoder) {
    conv(e.inCh, e.inCh, e.res, 1);
    down(e.inCh, e.outCh, e.res, 1);
  }
  conv(spec.start.ch, spec.start.ch, spec.start.res, 2);
  for (const lv of spec.levels) {
    if (lv.comb) conv(lv.comb.inCh, lv.comb.outCh, lv.res / 2, 2);
    const [u, s] = lv.convs;
    up(u.inCh, u.outCh, lv.res / 2, 2);
    conv(s.inCh, s.outCh, lv.res, 2);
  }
  return [...shapes.values()];
}

const TINY_TILE: GemmTile = { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 };

export async function benchConv(gpu: Gpu, opts: ConvBenchOptions = {}): Promise<ConvBenchRow[]> {
  const tiny = opts.tiny ?? false;
  const tiles = opts.tiles ?? [{ name: 'tiled', tile: tiny ? TINY_TILE : undefined }];
  const check = opts.check ?? true;
  const rows: ConvBenchRow[] = [];
  const reps = tiny ? 1 : 10;
  const samples = tiny ? 1 : 5;
  for (const s of unetConvShapes(tiny)) {
    if (opts.filter && !s.name.includes(opts.filter)) continue;
    const g = s.geom;
    const nx = g.n * g.cin * g.h * g.w;
    const ny = g.n * g.cout * g.ho * g.wo;
    const nw = g.cout * g.cin * g.kh * g.kw;
    const fill = (n: number, seed: number) => {
      const a = new Float32Array(n);
      let v = seed >>> 0;
      for (let i = 0; i < n; i++) {
        v = (Math.imul(v, 1664525) + 1013904223) >>> 0;
        a[i] = v / 2 ** 32 - 0.5;
      }
      return a;
    };
    const x = gpu.bufferFrom(fill(nx, 1));
    const w = gpu.bufferFrom(fill(nw, 2));
    const gy = gpu.bufferFrom(fill(ny, 3));
    const bias = gpu.bufferFrom(fill(g.cout, 4));
    const y = gpu.pool.acquire(ny * 4);
    const gx = gpu.pool.acquire(nx * 4);
    const gw = gpu.pool.acquire(nw * 4);
    const flops = 2 * conv2dMacs(g);
    // For a transposed conv the roles swap: its forward is conv2d's input gradient and vice versa.
    const passes: Array<[ConvBenchRow['pass'], (o: ConvKernelOptions) => void]> = [
      [
        s.transposed ? 'input-grad' : 'forward',
        (o) => conv2dForwardRaw(gpu, g, x, w, s.transposed ? null : bias, y, o),
      ],
      [s.transposed ? 'forward' : 'input-grad', (o) => conv2dBackwardInputRaw(gpu, g, gy, w, gx, o)],
      ['weight-grad', (o) => conv2dBackwardWeightRaw(gpu, g, s.transposed ? gy : x, s.transposed ? x : gy, gw, o)],
    ];
    let note = '';
    if (check) {
      const errs: string[] = [];
      for (const [i, out, n] of [
        [0, y, ny],
        [1, gx, nx],
      ] as const) {
        passes[i]![1]({ path: 'direct' });
        const ref = await gpu.readF32(out, n);
        passes[i]![1]({ path: 'tiled', tile: tiles[0]!.tile });
        const got = await gpu.readF32(out, n);
        let num = 0;
        let den = 0;
        for (let j = 0; j < n; j++) {
          num = Math.max(num, Math.abs(got[j]! - ref[j]!));
          den = Math.max(den, Math.abs(ref[j]!));
        }
        errs.push((num / Math.max(den, 1e-30)).toExponential(1));
      }
      note = `rel err vs direct: ${errs.join(', ')}`;
    }
    for (const t of tiles) {
      for (const [pass, run] of passes) {
        const o: ConvKernelOptions = { path: 'tiled', tile: t.tile };
        const ms = await timeGpu(gpu, () => run(o), { reps, samples, warmup: 1, warmMs: tiny ? 0 : 300 });
        const tflops = flops / (ms * 1e-3) / 1e12;
        rows.push({
          bench: 'conv',
          case: `${s.name} ${pass} ×${s.count}`,
          ms,
          rate: tflops,
          unit: 'TFLOP/s',
          note: `${t.name}${note ? `; ${note}` : ''}`,
          shape: s.name,
          path: t.name,
          pass,
          tflops,
          count: s.count,
        });
      }
    }
    await gpu.sync();
    for (const b of [x, w, gy, bias, y, gx, gw]) gpu.pool.release(b);
    if (!tiny) gpu.pool.trim();
  }
  return rows;
}

/** Whether `CONV_PASSES` (comma-separated: forward, input-grad, weight-grad) leaves this pass in; all by default. */
export function passWanted(pass: string, env: Record<string, string | undefined> = process.env): boolean {
  const pick = env.CONV_PASSES?.split(',').filter(Boolean);
  return !pick?.length || pick.includes(pass);
}

/** Whether a shape name passes `CONV_PATHS_FILTER`: substrings separated by '|', any of which may match. */
export function shapeWanted(name: string, env: Record<string, string | undefined> = process.env): boolean {
  const any = env.CONV_PATHS_FILTER?.split('|').filter(Boolean);
  return !any?.length || any.some((f) => name.includes(f));
}
