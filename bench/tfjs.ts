/**
 * TensorFlow.js's WebGPU backend (tfjs 4.22, the library a TypeScript user would reach for) on the same 3×3 conv
 * shapes of one full-size DualStyleUNet as bench/conv-paths.ts (bench/conv.ts's `unetConvShapes`), in the same
 * process and on the SAME GPUDevice as our runtime: TF.js's `WebGPUBackend` is constructed on `gpu.device` and
 * registered under the name 'webgpu' (its kernels are registered for that name), so both sides run through the
 * same Dawn instance, adapter, device limits and Dawn toggles (src/gpu/flags.ts).
 *
 * Per shape, batch 1, NHWC with filters [kh, kw, Cin, Cout] as TF.js wants, the three kernels a training step runs
 * (the ones Conv2D's registered gradient calls):
 *   forward      tf.conv2d
 *   input-grad   kernel Conv2DBackpropInput (what tf.conv2dTranspose and conv2d's gradient run)
 *   weight-grad  kernel Conv2DBackpropFilter (what conv2d's gradient runs; TF.js has no public op for it)
 * As in bench/conv-paths.ts, each shape is the conv2d of `geom` (for a transposed conv of the network, the adjoint
 * conv2d), so the pass names swap for transposed shapes.
 *
 * Timing: wall clock, median over `samples` of the mean of `reps` runs queued back to back after `warmup` runs; a
 * sample ends by reading back ONE element of the last output (tf.slice → data(), which submits TF.js's pending
 * command encoder and waits for its map, i.e. for everything queued before it on the shared queue). So a row
 * includes TF.js's per-op CPU overhead, unlike our rows (GPU timestamps); at the large shapes that overhead is small.
 * FLOP = 2·Ho·Wo·Cin·Cout·9 (bench/conv.ts's conv2dMacs).
 *
 * Correctness: every pass of every shape is compared with our fp32 `tuned` path on the same data (normwise
 * max|tfjs − ours| / max|ours|, tolerance 1e-4; over it the note says WRONG). `TFJS_CHECK=0` skips the check.
 * `CONV_PATHS_FILTER=<substring>` limits the shapes, as for conv-paths.
 *
 * The TF.js packages are dev dependencies and are loaded by a non-literal dynamic import, so tsc never sees their
 * type declarations (they pin an older @webgpu/types); `TfLike` below is the little of the API used here. On the GPU
 * machine bench/stage-gpu.sh copies the two CommonJS bundles into .gpu/prod/node_modules.
 *
 *   node dist-bench/bench/run.js --only conv-paths,tfjs      (prints an "ours vs TF.js" table when both ran)
 */
import type { Gpu } from '../src/gpu/index.js';
import { webgpuEntry } from '../src/gpu/index.js';
import { conv2dBackwardInputRaw, conv2dBackwardWeightRaw, conv2dForwardRaw } from '../src/tensor/conv/conv2d-raw.js';
import { conv2dMacs, type Conv2dGeom } from '../src/tensor/conv/geometry.js';
import { passWanted, shapeWanted, unetConvShapes, type ConvBenchRow } from './conv.js';
import { median, type BenchRow } from './table.js';

interface TfTensor {
  readonly shape: number[];
  data(): Promise<Float32Array>;
  dispose(): void;
}

type Pad = number | 'valid' | 'same' | number[][];

/** The part of `@tensorflow/tfjs-core` this bench uses. */
interface TfLike {
  version_core: string;
  registerBackend(name: string, factory: () => unknown, priority?: number): boolean;
  removeBackend(name: string): void;
  findBackendFactory(name: string): unknown;
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  ready(): Promise<void>;
  env(): { getNumber(flag: string): number };
  engine(): { runKernel(name: string, inputs: Record<string, TfTensor>, attrs: Record<string, unknown>): TfTensor };
  tensor4d(values: Float32Array, shape: [number, number, number, number]): TfTensor;
  conv2d(x: TfTensor, filter: TfTensor, strides: [number, number], pad: Pad): TfTensor;
  slice(x: TfTensor, begin: number[], size: number[]): TfTensor;
  memory(): { numTensors: number; numBytes: number };
  /** With timestamp queries, kernelMs sums the GPU time of every program f ran (each timed in its own pass). */
  time(f: () => void): Promise<{ kernelMs: number; wallMs: number }>;
}

/** A tfjs row: ms is wall clock (see above); gpuMs the kernels' GPU time from TF.js's own timestamp profiling. */
export interface TfjsRow extends ConvBenchRow {
  gpuMs?: number;
}

interface TfWebgpuLike {
  WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => unknown;
}

const CORE = '@tensorflow/tfjs-core';
const WEBGPU = '@tensorflow/tfjs-backend-webgpu';

async function importCjs<T>(spec: string): Promise<T> {
  let mod: { default?: T } & T;
  try {
    mod = (await import(spec)) as { default?: T } & T;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        `${spec} is not installed here (a dev dependency: on the GPU machine run bash bench/stage-gpu.sh first, which ` +
          `copies it into .gpu/prod/node_modules)`,
      );
    }
    throw e;
  }
  return mod.default ?? mod;
}

let loaded: Promise<TfLike> | null = null;

/**
 * Load TF.js and make its WebGPU backend run on our device. Idempotent per process. The backend bundle registers
 * its own 'webgpu' factory at load time only if `navigator.gpu` exists; we replace it with one that returns a
 * backend on `gpu.device`, and point `navigator.gpu` (which TF.js's constructor checks) at our Dawn entry.
 */
export function loadTfjsOnDevice(gpu: Gpu): Promise<TfLike> {
  loaded ??= (async () => {
    const tf = await importCjs<TfLike>(CORE);
    const tfw = await importCjs<TfWebgpuLike>(WEBGPU);
    const g = globalThis as { navigator?: { gpu?: GPU } };
    const entry = await webgpuEntry();
    if (!g.navigator) g.navigator = { gpu: entry };
    else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: entry, configurable: true });
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new tfw.WebGPUBackend(gpu.device, gpu.adapter.info), 100);
    if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: could not initialise the WebGPU backend');
    await tf.ready();
    if (tf.getBackend() !== 'webgpu') throw new Error(`TF.js: backend is ${tf.getBackend()}, not webgpu`);
    return tf;
  })().catch((e: unknown) => {
    loaded = null;
    throw e;
  });
  return loaded;
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

/** [c, h, w] (batch 1, NCHW) → [h, w, c] (NHWC). */
function nchwToNhwc(a: Float32Array, c: number, h: number, w: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let ci = 0; ci < c; ci++)
    for (let y = 0; y < h; y++) {
      const src = (ci * h + y) * w;
      for (let x = 0; x < w; x++) o[(y * w + x) * c + ci] = a[src + x]!;
    }
  return o;
}

/** Our weights [cout, cin, kh, kw] → TF.js filters [kh, kw, cin, cout]. */
function oihwToHwio(a: Float32Array, cout: number, cin: number, kh: number, kw: number): Float32Array {
  const o = new Float32Array(a.length);
  for (let co = 0; co < cout; co++)
    for (let ci = 0; ci < cin; ci++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++)
          o[((ky * kw + kx) * cin + ci) * cout + co] = a[((co * cin + ci) * kh + ky) * kw + kx]!;
  return o;
}

function relErr(got: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let j = 0; j < ref.length; j++) {
    const d = Math.abs(got[j]! - ref[j]!);
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(ref[j]!));
  }
  return num / Math.max(den, 1e-30);
}

function tfPad(g: Conv2dGeom): Pad {
  const p = [g.padTop, g.padBottom, g.padLeft, g.padRight];
  return p.every((v) => v === p[0])
    ? p[0]!
    : [
        [0, 0],
        [g.padTop, g.padBottom],
        [g.padLeft, g.padRight],
        [0, 0],
      ];
}

async function syncOn(tf: TfLike, t: TfTensor): Promise<void> {
  const one = tf.slice(t, [0, 0, 0, 0], [1, 1, 1, 1]);
  await one.data();
  one.dispose();
}

async function timeTf(
  tf: TfLike,
  run: () => TfTensor,
  o: { reps: number; samples: number; warmup: number; warmMs?: number },
): Promise<number> {
  // as timeGpu's warmMs: at least `warmMs` of this op before timing, so the GPU is at its working clocks
  const t0w = performance.now();
  for (let i = 0; i < o.warmup || performance.now() - t0w < (o.warmMs ?? 0); i++) {
    const t = run();
    await syncOn(tf, t);
    t.dispose();
  }
  const per: number[] = [];
  for (let s = 0; s < o.samples; s++) {
    const t0 = performance.now();
    let last: TfTensor | null = null;
    for (let r = 0; r < o.reps; r++) {
      last?.dispose();
      last = run();
    }
    await syncOn(tf, last!);
    per.push((performance.now() - t0) / o.reps);
    last!.dispose();
  }
  return median(per);
}

/** Median over `samples` single runs of TF.js's profiled kernel time (0 where the device has no timestamps). */
async function kernelTime(tf: TfLike, run: () => TfTensor, samples: number): Promise<number> {
  const ks: number[] = [];
  for (let i = 0; i < samples; i++) {
    const r = await tf.time(() => run().dispose());
    ks.push(r.kernelMs);
  }
  return median(ks);
}

const TINY_TUNED = { bm: 16, bn: 16, bk: 4, tm: 4, tn: 4 };
const TOL = 1e-4;

export async function benchTfjs(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<TfjsRow[]> {
  const tiny = opts.tiny ?? false;
  const tf = await loadTfjsOnDevice(gpu);
  const check = process.env.TFJS_CHECK !== '0';
  const timing = tiny ? { reps: 2, samples: 1, warmup: 1 } : { reps: 10, samples: 3, warmup: 2, warmMs: 300 };
  console.log(
    `tfjs: @tensorflow/tfjs-core ${tf.version_core}, WebGPU backend on our device (${gpu.info.vendor} ${gpu.info.device}); ` +
      `deferred submit batch ${tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')}; check vs ours ${check ? 'on' : 'off'}`,
  );
  const rows: TfjsRow[] = [];
  for (const s of unetConvShapes(tiny)) {
    if (!shapeWanted(s.name)) continue;
    const g = s.geom;
    if (g.n !== 1) throw new Error(`tfjs bench: batch ${g.n} (expected 1)`);
    const nx = g.cin * g.h * g.w;
    const ny = g.cout * g.ho * g.wo;
    const nw = g.cout * g.cin * g.kh * g.kw;
    const xs = fill(nx, 1);
    const ws = fill(nw, 2);
    const gys = fill(ny, 3);
    const x = tf.tensor4d(nchwToNhwc(xs, g.cin, g.h, g.w), [1, g.h, g.w, g.cin]);
    const w = tf.tensor4d(oihwToHwio(ws, g.cout, g.cin, g.kh, g.kw), [g.kh, g.kw, g.cin, g.cout]);
    const dy = tf.tensor4d(nchwToNhwc(gys, g.cout, g.ho, g.wo), [1, g.ho, g.wo, g.cout]);
    const strides: [number, number] = [g.strideY, g.strideX];
    const pad = tfPad(g);
    const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const flops = 2 * conv2dMacs(g);

    // Our tuned path on the same data (NCHW), converted to TF.js's layouts for the comparison.
    const refs: Float32Array[] = [];
    if (check) {
      const o = { path: 'tuned' as const, ...(tiny ? { tile: TINY_TUNED } : {}) };
      const bx = gpu.bufferFrom(xs);
      const bw = gpu.bufferFrom(ws);
      const bgy = gpu.bufferFrom(gys);
      const out = gpu.pool.acquire(Math.max(nx, ny, nw) * 4);
      conv2dForwardRaw(gpu, g, bx, bw, null, out, o);
      refs.push(nchwToNhwc(await gpu.readF32(out, ny), g.cout, g.ho, g.wo));
      conv2dBackwardInputRaw(gpu, g, bgy, bw, out, o);
      refs.push(nchwToNhwc(await gpu.readF32(out, nx), g.cin, g.h, g.w));
      conv2dBackwardWeightRaw(gpu, g, bx, bgy, out, o);
      refs.push(oihwToHwio(await gpu.readF32(out, nw), g.cout, g.cin, g.kh, g.kw));
      await gpu.sync();
      for (const b of [bx, bw, bgy, out]) gpu.pool.release(b);
    }

    const passes: Array<[ConvBenchRow['pass'], () => TfTensor]> = [
      [s.transposed ? 'input-grad' : 'forward', () => tf.conv2d(x, w, strides, pad)],
      [
        s.transposed ? 'forward' : 'input-grad',
        () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }),
      ],
      [
        'weight-grad',
        () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }),
      ],
    ];
    for (const [i, [pass, run]] of passes.entries()) {
      if (!passWanted(pass)) continue;
      let row: TfjsRow;
      const base = { bench: 'tfjs', case: `${s.name} ${pass} ×${s.count}`, shape: s.name, path: 'tfjs', pass };
      try {
        let note = 'tfjs webgpu';
        if (check) {
          const t = run();
          const err = relErr(await t.data(), refs[i]!);
          t.dispose();
          note += `; rel err vs ours (tuned) ${err.toExponential(1)} (tol ${TOL})${err <= TOL ? '' : ' WRONG'}`;
        }
        const ms = await timeTf(tf, run, timing);
        const tflops = flops / (ms * 1e-3) / 1e12;
        const gpuMs = await kernelTime(tf, run, timing.samples);
        if (gpuMs > 0)
          note += `; GPU timestamps ${gpuMs.toFixed(3)} ms (${(flops / (gpuMs * 1e-3) / 1e12).toFixed(2)} TFLOP/s)`;
        row = { ...base, ms, rate: tflops, unit: 'TFLOP/s', note, tflops, count: s.count, gpuMs };
      } catch (e) {
        const msg = String((e as Error).message)
          .split('\n')
          .slice(0, 3)
          .join(' / ')
          .slice(0, 300);
        row = { ...base, ms: NaN, note: `tfjs; FAILED: ${msg}`, tflops: NaN, count: s.count };
      }
      rows.push(row);
      console.log(`tfjs | ${row.case} | ${row.ms.toFixed(3)} ms | ${row.tflops.toFixed(3)} TFLOP/s | ${row.note}`);
    }
    for (const t of [x, w, dy]) t.dispose();
    try {
      await gpu.sync(); // surfaces validation errors that TF.js's work raised on the shared device
    } catch (e) {
      const msg = String((e as Error).message)
        .split('\n')[0]!
        .slice(0, 200);
      console.error(`tfjs: device error after ${s.name}: ${msg}`);
      for (const r of rows.filter((r) => r.shape === s.name)) r.note += `; FAILED (device error: ${msg})`;
    }
  }
  for (const pass of ['forward', 'input-grad', 'weight-grad'] as const) {
    if (!passWanted(pass)) continue;
    const rs = rows.filter((r) => r.pass === pass && Number.isFinite(r.ms));
    const ms = rs.reduce((a, r) => a + r.ms * r.count, 0);
    const fl = rs.reduce((a, r) => a + r.tflops * r.ms * 1e-3 * 1e12 * r.count, 0);
    const tflops = fl / (ms * 1e-3) / 1e12;
    const gpuMs = rs.reduce((a, r) => a + (r.gpuMs ?? 0) * r.count, 0);
    rows.push({
      bench: 'tfjs',
      case: `network sum (one DualStyleUNet, batch 1) ${pass}`,
      ms,
      rate: tflops,
      unit: 'TFLOP/s',
      note: `tfjs; ${rs.length} shapes${gpuMs > 0 ? `; GPU timestamps ${gpuMs.toFixed(3)} ms` : ''}`,
      gpuMs,
      shape: 'sum',
      path: 'tfjs',
      pass,
      tflops,
      count: 1,
    });
  }
  console.log(`tfjs: ${tf.memory().numTensors} tensors left`);
  return rows;
}

function isConvRow(r: BenchRow): r is ConvBenchRow {
  const c = r as Partial<ConvBenchRow>;
  return typeof c.shape === 'string' && typeof c.pass === 'string' && typeof c.count === 'number';
}

const ok = (r: ConvBenchRow) => Number.isFinite(r.ms) && !/WRONG|FAILED/.test(r.note ?? '');

/**
 * When conv-paths and tfjs both ran: per shape and pass, our fastest correct path against TF.js, and per pass the
 * network sums (Σ ms × multiplicity) of our best single path (the network runs one path) and of the best path per
 * shape. Rows: ms = ours, rate = TF.js ms / ours ms (how many times faster ours is). Empty when either is missing.
 */
export function oursVsTfjs(rows: readonly BenchRow[]): { rows: BenchRow[]; table: string } {
  const conv = rows.filter((r) => isConvRow(r) && r.shape !== 'sum') as ConvBenchRow[];
  const tfr = conv.filter((r) => r.bench === 'tfjs' && ok(r)) as TfjsRow[];
  const our = conv.filter((r) => r.bench === 'conv-paths' && ok(r));
  if (!tfr.length || !our.length) return { rows: [], table: '' };
  const out: BenchRow[] = [];
  const lines = [
    '| shape (one DualStyleUNet, batch 1) | pass | ours: path | ours ms | ours TFLOP/s | TF.js ms | TF.js TFLOP/s | ours faster by | TF.js GPU ms (timestamps) | ours faster by (GPU time) |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const add = (
    name: string,
    pass: string,
    path: string,
    oms: number,
    otf: number,
    tms: number,
    ttf: number,
    tgpu: number,
  ) => {
    const ratio = tms / oms;
    const gpuCols = tgpu > 0 ? `${tgpu.toFixed(3)} | ${(tgpu / oms).toFixed(1)}×` : ' | ';
    out.push({
      bench: 'ours-vs-tfjs',
      case: `${name} ${pass}`,
      ms: oms,
      rate: ratio,
      unit: '× TF.js speed',
      note:
        `ours ${path} ${oms.toFixed(3)} ms (${otf.toFixed(2)} TFLOP/s); TF.js ${tms.toFixed(3)} ms (${ttf.toFixed(2)} TFLOP/s)` +
        (tgpu > 0 ? `; TF.js GPU timestamps ${tgpu.toFixed(3)} ms (ours ${(tgpu / oms).toFixed(1)}× faster)` : ''),
    });
    lines.push(
      `| ${name} | ${pass} | ${path} | ${oms.toFixed(3)} | ${otf.toFixed(2)} | ${tms.toFixed(3)} | ${ttf.toFixed(2)} | ${ratio.toFixed(1)}× | ${gpuCols} |`,
    );
  };
  for (const t of tfr) {
    const cands = our.filter((r) => r.shape === t.shape && r.pass === t.pass);
    if (!cands.length) continue;
    const best = cands.reduce((a, b) => (b.ms < a.ms ? b : a));
    add(`${t.shape} ×${t.count}`, t.pass, best.path, best.ms, best.tflops, t.ms, t.tflops, t.gpuMs ?? 0);
  }
  for (const pass of ['forward', 'input-grad', 'weight-grad'] as const) {
    const ts = tfr.filter((r) => r.pass === pass);
    const shapes = ts.map((r) => r.shape);
    const flops = (rs: ConvBenchRow[]) => rs.reduce((a, r) => a + r.tflops * r.ms * 1e9 * r.count, 0);
    const msSum = (rs: ConvBenchRow[]) => rs.reduce((a, r) => a + r.ms * r.count, 0);
    const tms = msSum(ts);
    const ttf = flops(ts) / (tms * 1e-3) / 1e12;
    const tgpu = ts.every((r) => (r.gpuMs ?? 0) > 0) ? ts.reduce((a, r) => a + r.gpuMs! * r.count, 0) : 0;
    // Best single path over exactly the shapes TF.js has.
    let single: { path: string; ms: number; tf: number } | null = null;
    for (const path of new Set(our.map((r) => r.path))) {
      const rs = our.filter((r) => r.path === path && r.pass === pass && shapes.includes(r.shape));
      if (rs.length !== shapes.length) continue;
      const ms = msSum(rs);
      if (!single || ms < single.ms) single = { path, ms, tf: flops(rs) / (ms * 1e-3) / 1e12 };
    }
    if (single) add(`network sum (${shapes.length} shapes)`, pass, single.path, single.ms, single.tf, tms, ttf, tgpu);
    const bestPer = shapes
      .map((sh) => our.filter((r) => r.shape === sh && r.pass === pass))
      .filter((c) => c.length)
      .map((c) => c.reduce((a, b) => (b.ms < a.ms ? b : a)));
    if (bestPer.length === shapes.length) {
      const ms = msSum(bestPer);
      add(
        `network sum (${shapes.length} shapes)`,
        pass,
        'best per shape',
        ms,
        flops(bestPer) / (ms * 1e-3) / 1e12,
        tms,
        ttf,
        tgpu,
      );
    }
  }
  return { rows: out, table: lines.join('\n') };
}
