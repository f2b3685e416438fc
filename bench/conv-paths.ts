/**
 * Every conv2d kernel path on every distinct 3×3 conv shape of the full DualStyleUNet (bench/conv.ts's list),
 * forward, input gradient and weight gradient, in ONE run:
 *   tiled      fp32 tiled implicit GEMM (64×64 tile, the baseline of RESULTS.md)
 *   tuned      fp32, 128×128 tile, 8×8 per thread, double-buffered (gemm-tuned.ts)
 *   tc2        tc2.ts: conv-aware staging (per-thread pixel bases, K in (tap, channel-chunk) slices, no div/mod per
 *              element), weights converted per call to f16 in the B tile's layout (vec4<f16> copies), tile rows
 *              padded by 8 halves; 128×128×32, 2×4 subgroups (TC2_TILE)
 *   tc2-p0     tc2 with unpadded rows (isolates the shared-memory bank conflicts of the matrix loads)
 *   tc2-bg     tc2 with the weight matrices loaded straight from the f16 buffer (no B staging)
 *   tc2-4sg    tc2 with 2×2 subgroups: 64×64 per subgroup, 16 accumulators (fewer matrix loads per MMA)
 *   tc2-bg-k64 tc2-bg with BK = 64 (half the barriers per K; the weight gradient keeps BK = 32 to fit 48 KiB)
 *   tc2-auto   the default: TC2_TILE_16SG (or TC2_TILE where the device lacks 512 invocations), TC2_TILE_N64
 *              (256×64, 4×2 subgroups, B from global) where a forward / input-gradient GEMM has N ≤ 64, and
 *              TC2_TILE_SMALL_M for 65–1,089 rows (tc2-tiles.ts tileFor, defaultTile)
 * Each result is checked against the fp32 tiled path (itself checked against the direct kernels in bench/conv.ts,
 * rel err ≤ 2e-6): normwise max|got − ref| / max|ref|. Tolerances: 1e-5 for fp32 paths; 5e-3 for the tensor-core
 * paths (f16 operands: expect ~1e-3). A row over its tolerance says WRONG in its note.
 * Each row is also printed as soon as it is measured (a crash keeps what was done), then sums over the network
 * (ms × multiplicity) per path and pass.
 *
 *   node dist-bench/bench/run.js --only conv-paths        (after `bash bench/stage-gpu.sh`, `source .gpu/env.sh`)
 * Environment: CONV_PATHS_FILTER=<substrings of shape names, '|'-separated>, CONV_PATHS=tiled,tuned,tc,tc2,… to pick,
 * CONV_PATHS_JSON=[{name, opts}] to add variants (always run; opts are ConvKernelOptions, unknown keys rejected),
 * CONV_PASSES=forward,… to time only those passes. `tiny` shrinks the shapes (bench/conv.ts) and runs 'tc2-sw'
 * (software subgroup matrices) in place of 'tc2'.
 * The first-generation tensor-core kernel ('tc', 'tc-rm') and the A/B variants whose options left the library
 * (tile-table overrides, vec2 weight staging, walking all sub-pixel taps) are gone: bench/RESULTS.md, 2026-12.
 */
import type { Gpu } from '../src/gpu/index.js';
import {
  conv2dBackwardInputRaw,
  conv2dBackwardWeightRaw,
  conv2dForwardRaw,
  tensorCoresAvailable,
  type ConvKernelOptions,
} from '../src/tensor/conv/conv2d-raw.js';
import { holdConstantWeights, releaseConstantWeights } from '../src/tensor/conv/constant-weights.js';
import { conv2dMacs } from '../src/tensor/conv/geometry.js';
import { TC2_TILE } from '../src/tensor/conv/tc2-tiles.js';
import { passWanted, shapeWanted, unetConvShapes, type ConvBenchRow } from './conv.js';
import { timeGpu } from './timeit.js';

interface PathSpec {
  name: string;
  opts: ConvKernelOptions;
  tol: number;
  /** Hold the weights as constant (holdConstantWeights): derived forms (tc2's f16 copy) are made once, not timed. */
  constantWeights?: boolean;
  /**
   * Ablation: [regex, replacement] edits applied to every WGSL source the path compiles (e.g. drop the MMAs to time
   * the staging alone). Results are then wrong by design: the row is timed, not checked.
   */
  patch?: [string, string][];
}

/** Run `f` with every kernel compiled from `src` edited by `patch` (a separate pipeline: the cache keys on source). */
function withPatchedKernels<T>(gpu: Gpu, patch: [string, string][] | undefined, f: () => T): T {
  if (!patch?.length) return f();
  const orig = gpu.kernel.bind(gpu);
  gpu.kernel = (name, src) =>
    orig(
      `${name} [ablation]`,
      patch.reduce((t, [re, to]) => t.replace(new RegExp(re, 'g'), to), src),
    );
  try {
    return f();
  } finally {
    gpu.kernel = orig;
  }
}

/** The keys of ConvKernelOptions (a variant naming another would silently run the default). */
const OPTION_KEYS: readonly string[] = Object.keys({
  path: 1,
  tile: 1,
  tc2Tile: 1,
  tc2PatchTile: 1,
  splits: 1,
  subpixelTranspose: 1,
} satisfies Record<keyof ConvKernelOptions, 1>);

/** Throws where `opts` (from JSON) names a key ConvKernelOptions does not have. */
export function checkConvOptions(opts: object, where: string): void {
  const unknown = Object.keys(opts).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length) throw new Error(`${where}: unknown conv options ${unknown.join(', ')} (ConvKernelOptions)`);
}

function pathList(gpu: Gpu, tiny: boolean): PathSpec[] {
  const tc = tensorCoresAvailable(gpu);
  const all: PathSpec[] = tiny
    ? [
        { name: 'tiled', opts: { path: 'tiled', tile: { bm: 16, bn: 16, bk: 4, tm: 2, tn: 2 } }, tol: 1e-5 },
        { name: 'tuned', opts: { path: 'tuned', tile: { bm: 16, bn: 16, bk: 4, tm: 4, tn: 4 } }, tol: 1e-5 },
        {
          name: 'tc2-sw',
          opts: { path: 'tc2-sw', tc2Tile: { bm: 32, bn: 32, bk: 16, sgm: 2, sgn: 2 } },
          tol: 5e-3,
        },
      ]
    : [
        { name: 'tiled', opts: { path: 'tiled' }, tol: 1e-5 },
        { name: 'tuned', opts: { path: 'tuned' }, tol: 1e-5 },
        ...(tc
          ? [
              { name: 'tc2', opts: { path: 'tc2' as const, tc2Tile: TC2_TILE }, tol: 5e-3 },
              { name: 'tc2-p0', opts: { path: 'tc2' as const, tc2Tile: { ...TC2_TILE, pad: 0 } }, tol: 5e-3 },
              { name: 'tc2-bg', opts: { path: 'tc2' as const, tc2Tile: { ...TC2_TILE, bGlobal: true } }, tol: 5e-3 },
              { name: 'tc2-4sg', opts: { path: 'tc2' as const, tc2Tile: { ...TC2_TILE, sgn: 2 } }, tol: 5e-3 },
              {
                name: 'tc2-bg-k64',
                opts: { path: 'tc2' as const, tc2Tile: { ...TC2_TILE, bk: 64, bGlobal: true } },
                tol: 5e-3,
              },
              // the shape-dependent default (tileFor: TC2_TILE_N64 where N ≤ 64, TC2_TILE_SMALL_M, patch tiles)
              { name: 'tc2-auto', opts: { path: 'tc2' as const }, tol: 5e-3 },
            ]
          : []),
      ];
  // Extra named variants for sweeps, e.g. CONV_PATHS_JSON='[{"name":"s4","opts":{"path":"tc2","splits":4}}]'
  const extra = process.env.CONV_PATHS_JSON
    ? (JSON.parse(process.env.CONV_PATHS_JSON) as (Omit<PathSpec, 'tol'> & { tol?: number })[])
    : [];
  for (const e of extra) {
    checkConvOptions(e.opts, `CONV_PATHS_JSON ${e.name}`);
    all.push({ ...e, tol: e.tol ?? 5e-3 });
  }
  const pick = process.env.CONV_PATHS?.split(',');
  return pick ? all.filter((p) => pick.includes(p.name) || extra.some((e) => e.name === p.name)) : all;
}

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let v = seed >>> 0;
  for (let i = 0; i < n; i++) {
    v = (Math.imul(v, 1664525) + 1013904223) >>> 0;
    a[i] = v / 2 ** 32 - 0.5;
  }
  return a;
}

function relErr(got: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let j = 0; j < ref.length; j++) {
    const d = Math.abs(got[j]! - ref[j]!);
    num = d > num || Number.isNaN(d) ? (Number.isNaN(d) ? Infinity : d) : num;
    den = Math.max(den, Math.abs(ref[j]!));
  }
  return num / Math.max(den, 1e-30);
}

export async function benchConvPaths(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<ConvBenchRow[]> {
  const tiny = opts.tiny ?? false;
  const paths = pathList(gpu, tiny);
  const rows: ConvBenchRow[] = [];
  const reps = tiny ? 1 : 10;
  const samples = tiny ? 1 : 5;
  console.log(
    `conv-paths: tensor cores ${tensorCoresAvailable(gpu) ? 'available' : 'NOT available (no tc rows)'}; paths ${paths.map((p) => p.name).join(', ')}`,
  );
  for (const s of unetConvShapes(tiny)) {
    if (!shapeWanted(s.name)) continue;
    const g = s.geom;
    const nx = g.n * g.cin * g.h * g.w;
    const ny = g.n * g.cout * g.ho * g.wo;
    const nw = g.cout * g.cin * g.kh * g.kw;
    const x = gpu.bufferFrom(fill(nx, 1));
    const w = gpu.bufferFrom(fill(nw, 2));
    const gy = gpu.bufferFrom(fill(ny, 3));
    const bias = gpu.bufferFrom(fill(g.cout, 4));
    const y = gpu.pool.acquire(ny * 4);
    const gx = gpu.pool.acquire(nx * 4);
    const gw = gpu.pool.acquire(nw * 4);
    const flops = 2 * conv2dMacs(g);
    // For a transposed conv its forward is conv2d's input gradient and vice versa.
    type Pass = [ConvBenchRow['pass'], GPUBuffer, number, (o: ConvKernelOptions) => void];
    const all: Pass[] = [
      [
        s.transposed ? 'input-grad' : 'forward',
        y,
        ny,
        (o) => conv2dForwardRaw(gpu, g, x, w, s.transposed ? null : bias, y, o),
      ],
      [s.transposed ? 'forward' : 'input-grad', gx, nx, (o) => conv2dBackwardInputRaw(gpu, g, gy, w, gx, o)],
      [
        'weight-grad',
        gw,
        nw,
        (o) => conv2dBackwardWeightRaw(gpu, g, s.transposed ? gy : x, s.transposed ? x : gy, gw, o),
      ],
    ];
    const passes = all.filter(([pass]) => passWanted(pass));
    const refs: Float32Array[] = [];
    for (const [, out, n, run] of passes) {
      run(paths[0]!.opts.path === 'tiled' ? paths[0]!.opts : { path: 'tiled' });
      refs.push(await gpu.readF32(out, n));
    }
    for (const p of paths) {
      if (p.constantWeights) holdConstantWeights(w);
      for (const [i, [pass, out, n, run]] of passes.entries()) {
        let row: ConvBenchRow;
        try {
          const go = () => withPatchedKernels(gpu, p.patch, () => run(p.opts));
          gpu.clear(out);
          go();
          const err = relErr(await gpu.readF32(out, n), refs[i]!);
          const ms = await timeGpu(gpu, go, { reps, samples, warmup: 1, warmMs: tiny ? 0 : 300 });
          const tflops = flops / (ms * 1e-3) / 1e12;
          const note = p.patch
            ? `${p.name}; ablation (WGSL edited: not checked)`
            : `${p.name}; rel err vs fp32 tiled ${err.toExponential(1)} (tol ${p.tol})${err <= p.tol ? '' : ' WRONG'}`;
          row = {
            bench: 'conv-paths',
            case: `${s.name} ${pass} ×${s.count}`,
            ms,
            rate: tflops,
            unit: 'TFLOP/s',
            note,
            shape: s.name,
            path: p.name,
            pass,
            tflops,
            count: s.count,
          };
        } catch (e) {
          const msg = String((e as Error).message)
            .split('\n')
            .slice(0, 3)
            .join(' / ')
            .slice(0, 300);
          row = {
            bench: 'conv-paths',
            case: `${s.name} ${pass} ×${s.count}`,
            ms: NaN,
            note: `${p.name}; FAILED: ${msg}`,
            shape: s.name,
            path: p.name,
            pass,
            tflops: NaN,
            count: s.count,
          };
          try {
            await gpu.sync();
          } catch {
            // errors of the failed path were already reported
          }
        }
        rows.push(row);
        console.log(
          `conv-paths | ${row.case} | ${row.path} | ${row.ms.toFixed(3)} ms | ${row.tflops.toFixed(2)} TFLOP/s | ${row.note}`,
        );
      }
      if (p.constantWeights) {
        await gpu.sync();
        releaseConstantWeights(gpu, w);
      }
    }
    await gpu.sync();
    for (const b of [x, w, gy, bias, y, gx, gw]) gpu.pool.release(b);
    if (!tiny) gpu.pool.trim();
  }
  // Network totals: Σ ms × multiplicity per path and pass (shapes whose rows all succeeded).
  for (const p of paths)
    for (const pass of ['forward', 'input-grad', 'weight-grad'] as const) {
      if (!passWanted(pass)) continue;
      const rs = rows.filter((r) => r.path === p.name && r.pass === pass);
      const ms = rs.reduce((a, r) => a + r.ms * r.count, 0);
      const fl = rs.reduce((a, r) => a + r.tflops * r.ms * 1e-3 * 1e12 * r.count, 0);
      rows.push({
        bench: 'conv-paths',
        case: `network sum (one DualStyleUNet, batch 1) ${pass}`,
        ms,
        rate: fl / (ms * 1e-3) / 1e12,
        unit: 'TFLOP/s',
        note: `${p.name}; ${rs.length} shapes`,
        shape: 'sum',
        path: p.name,
        pass,
        tflops: fl / (ms * 1e-3) / 1e12,
        count: 1,
      });
    }
  return rows;
}
