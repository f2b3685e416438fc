/**
 * A digest of the WGSL every conv entry point generates for the network's shapes on the default GPU paths ('fast' =
 * tc2 on tensor cores, and 'tuned'), so a refactor can show that it leaves the kernels byte for byte as they were
 * (the GPU's speed cannot change then). Runs anywhere, no GPU work: the kernels are generated against a stand-in
 * device with an H200's limits and features (and once with 32 KiB of workgroup memory, where other tiles apply), in
 * the templated subgroup-matrix syntax; `gpu.kernel` records the source instead of compiling it. (Generated sources
 * are cached per process by shape and options, so run it in a process of its own.)
 *
 *   node dist-bench/bench/run.js --only conv-wgsl --json a.json     (before and after a change; compare the rows)
 *
 * One row per (device, path, shape): the digest of its sources in call order, and how many distinct ones.
 */
import { createHash } from 'node:crypto';
import type { Gpu } from '../src/gpu/index.js';
import { setTemplatedSubgroupMatrixSyntax, sgmStore } from '../src/gpu/subgroup-matrix.js';
import { biasGradRaw } from '../src/tensor/conv/bias-grad.js';
import * as raw from '../src/tensor/conv/conv2d-raw.js';
import { holdConstantWeights, releaseConstantWeights } from '../src/tensor/conv/constant-weights.js';
import { f16RangeScale } from '../src/tensor/conv/f16-range.js';
import { conv2dGeometry, type Conv2dGeom, type ConvTranspose2dGeom } from '../src/tensor/conv/geometry.js';
import { unetConvShapes } from './conv.js';
import type { BenchRow } from './table.js';

/** A device that records the WGSL of every kernel asked for (named by its label) and runs nothing. */
function recorder(tensorCores: boolean, workgroupBytes: number) {
  const sources: string[] = [];
  let n = 0;
  const buffer = () => ({ size: 1 << 20, label: `b${n++}` }) as unknown as GPUBuffer;
  const gpu = {
    info: {
      vendor: tensorCores ? 'nvidia' : 'other',
      subgroupMinSize: 32,
      subgroupMaxSize: 32,
      subgroupMatrixConfigs: tensorCores ? ['f16→f32 16×16×16'] : [],
      kind: 'gpu',
    },
    features: { f16: true, subgroupMatrix: tensorCores, subgroups: true, timestamps: true },
    limits: {
      maxComputeInvocationsPerWorkgroup: 1024,
      maxComputeWorkgroupStorageSize: workgroupBytes,
      minStorageBufferOffsetAlignment: 256,
      maxComputeWorkgroupsPerDimension: 65535,
      maxStorageBufferBindingSize: 2 ** 31,
      maxBufferSize: 2 ** 31,
    },
    kernel: (name: string, source: string) => {
      sources.push(`${name}\n${source}`);
      return { name, source };
    },
    dispatch: () => {},
    clear: () => {},
    copy: () => {},
    pool: { acquire: buffer, release: () => {} },
  } as unknown as Gpu;
  return { gpu, sources, buffer };
}

/** Every entry point of one conv shape, with the options the network passes (epilogues, scales, held weights). */
function allPasses(gpu: Gpu, b: () => GPUBuffer, g: Conv2dGeom, transposed: boolean, path: raw.ConvPath): void {
  const o: raw.ConvKernelOptions = { path };
  const tc2 = raw.runsTc2(gpu, o);
  if (transposed) {
    const t: ConvTranspose2dGeom = {
      n: g.n,
      cin: g.cout,
      cout: g.cin,
      h: g.ho,
      w: g.wo,
      hout: g.h,
      wout: g.w,
      conv: g,
    };
    for (const subpixelTranspose of [true, false]) {
      const p = { ...o, subpixelTranspose };
      raw.convTranspose2dForwardRaw(gpu, t, b(), b(), b(), b(), p);
      raw.convTranspose2dBackwardInputRaw(gpu, t, b(), b(), b(), p);
      raw.convTranspose2dBackwardWeightRaw(gpu, t, b(), b(), b(), p);
      if (tc2) {
        raw.convTranspose2dForwardRaw(gpu, t, b(), b(), b(), b(), { ...p, weightScale: 0.3 });
        raw.convTranspose2dBackwardInputRaw(gpu, t, b(), b(), b(), { ...p, gradScale: b() });
        raw.convTranspose2dBackwardWeightRaw(gpu, t, b(), b(), b(), { ...p, gradScale: b() });
      }
    }
    const w = b();
    holdConstantWeights(w);
    raw.convTranspose2dForwardRaw(gpu, t, b(), w, b(), b(), o);
    releaseConstantWeights(gpu, w);
    return;
  }
  raw.conv2dForwardRaw(gpu, g, b(), b(), b(), b(), o);
  raw.conv2dForwardRaw(gpu, g, b(), b(), null, b(), o);
  raw.conv2dForwardRaw(gpu, g, b(), b(), b(), b(), {
    ...o,
    epilogue: { lrelu: true, noise: { noise: b(), strength: b() } },
  });
  raw.conv2dForwardRaw(gpu, g, b(), b(), b(), b(), { ...o, epilogue: { demod: b(), lrelu: true } });
  raw.conv2dBackwardInputRaw(gpu, g, b(), b(), b(), o);
  raw.conv2dBackwardWeightRaw(gpu, g, b(), b(), b(), o);
  raw.conv2dBackwardBiasRaw(gpu, g, b(), b());
  if (tc2) {
    raw.conv2dForwardRaw(gpu, g, b(), b(), b(), b(), { ...o, weightScale: 0.25 });
    raw.conv2dBackwardInputRaw(gpu, g, b(), b(), b(), { ...o, gradScale: b(), weightScale: 0.5 });
    raw.conv2dBackwardWeightRaw(gpu, g, b(), b(), b(), { ...o, gradScale: b() });
    f16RangeScale(gpu, b(), g.n * g.cout * g.ho * g.wo);
    biasGradRaw(gpu, g.n, g.cout, g.ho * g.wo, b(), b());
  }
  const w = b();
  holdConstantWeights(w);
  raw.conv2dForwardRaw(gpu, g, b(), w, b(), b(), { ...o, epilogue: { lrelu: true } });
  releaseConstantWeights(gpu, w);
}

const digest = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 16);

export async function benchConvWgsl(_gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const shapes = unetConvShapes(opts.tiny ?? false).map((s) => ({
    name: s.name,
    geom: s.geom,
    transposed: s.transposed,
  }));
  // the network's 1×1 convs (ToRGB, from the pose map) and its first conv, which take the f32 single-pass kernels
  for (const [cin, cout, r, k, s] of [
    [64, 12, 512, 1, 1],
    [256, 12, 128, 1, 1],
    [512, 12, 32, 1, 1],
    [3, 128, 256, 1, 1],
    [3, 512, 64, 1, 1],
    [3, 64, 513, 3, 2],
  ] as const)
    shapes.push({
      name: `conv ${k}x${k} s${s} ${cin}→${cout} @${r}²`,
      geom: conv2dGeometry([1, cin, r, r], [cout, cin, k, k], { stride: s }),
      transposed: false,
    });
  const rows: BenchRow[] = [];
  let all = '';
  const templatedBefore = sgmStore('&S', '0u', 'v', false, '16u').includes('<row_major>');
  setTemplatedSubgroupMatrixSyntax(true);
  try {
    for (const [device, tc, bytes] of [
      ['H200-like', true, 49152],
      ['H200-like, 32 KiB', true, 32768],
    ] as const)
      for (const path of ['fast', 'tuned'] as const) {
        if (path === 'tuned' && bytes !== 49152) continue;
        for (const s of shapes) {
          const r = recorder(tc, bytes);
          allPasses(r.gpu, r.buffer, s.geom, s.transposed, path);
          const d = digest(r.sources.join('\n\u0000\n'));
          all += d;
          rows.push({
            bench: 'conv-wgsl',
            case: `${device}, ${path}: ${s.name}`,
            ms: 0,
            note: `${d}; ${new Set(r.sources).size} sources`,
          });
        }
      }
  } finally {
    setTemplatedSubgroupMatrixSyntax(templatedBefore);
  }
  rows.push({ bench: 'conv-wgsl', case: 'all', ms: 0, note: digest(all) });
  return rows;
}
