/**
 * The resampling ops of the DualStyleUNet at full size (issue 4, src/tensor/conv/README.md "upfirdn2d speed"):
 * upfirdn2d forward and adjoint on the network's largest shapes (tiled vs the direct oracle), the fused Haar DWT/IWT,
 * and the bias / noise-strength gradient reductions, with effective bandwidth (bytes read + written / time).
 * `tiny` shrinks every shape so the bench can be smoke-tested on the CPU adapter.
 * Run with `node dist-bench/bench/run.js --only upfirdn`.
 */
import type { Gpu } from '../src/gpu/index.js';
import { blurSpec, upsampleSpec, type FirSpec } from '../src/tensor/conv/fir.js';
import {
  constantBuffer,
  haarDwtRaw,
  haarIwtRaw,
  upfirdn2dAdjointRaw,
  upfirdn2dRaw,
  type UpfirdnPath,
} from '../src/tensor/conv/upfirdn.js';
import { upfirdnGeometry } from '../src/tensor/conv/upfirdn-geometry.js';
import { initEngine, sum, Tensor } from '../src/tensor/index.js';
import type { BenchRow } from './table.js';
import { timeGpu } from './timeit.js';

export async function benchUpfirdn(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const tiny = !!opts.tiny;
  const s = tiny ? 16 : 1;
  const rows: BenchRow[] = [];
  const cases: Array<[string, number, number, FirSpec]> = [
    ['blur after transposed conv 64×513²→512²', 64, Math.floor(512 / s) + 1, blurSpec([1, 1], [1, 3, 3, 1], 2)],
    ['blur after transposed conv 128×257²→256²', 128, Math.floor(256 / s) + 1, blurSpec([1, 1], [1, 3, 3, 1], 2)],
    ['blur before stride-2 conv 128×256²→257²', 128, 256 / s, blurSpec([2, 2])],
    ['Upsample(2) 3×512²→1024²', 3, 512 / s, upsampleSpec(2)],
  ];
  const reps = tiny ? 1 : 20;
  for (const [name, c, h, fir] of cases) {
    const g = upfirdnGeometry(c, h, h, fir.kh, fir.kw, fir.opts);
    const k = constantBuffer(gpu, fir.kernel);
    const x = gpu.pool.acquire(c * h * h * 4);
    const y = gpu.pool.acquire(c * g.ho * g.wo * 4);
    gpu.clear(x);
    gpu.clear(y);
    const bytes = 4 * c * (h * h + g.ho * g.wo);
    for (const path of ['tiled', 'direct'] as UpfirdnPath[]) {
      for (const dir of ['forward', 'adjoint'] as const) {
        const ms = await timeGpu(
          gpu,
          () =>
            dir === 'forward'
              ? upfirdn2dRaw(gpu, g, x, k, y, { path })
              : upfirdn2dAdjointRaw(gpu, g, y, k, x, { path }),
          { reps },
        );
        rows.push({ bench: 'upfirdn', case: `${name} ${dir} ${path}`, ms, rate: bytes / ms / 1e6, unit: 'GB/s' });
      }
    }
    gpu.pool.release(x);
    gpu.pool.release(y);
  }
  // Haar on the final [1,12,512²] ↔ [1,3,1024²]
  {
    const h = 1024 / s;
    const a = gpu.pool.acquire(3 * h * h * 4);
    const b = gpu.pool.acquire(3 * h * h * 4);
    gpu.clear(a);
    gpu.clear(b);
    for (const path of ['fused', 'upfirdn'] as const) {
      const dwt = await timeGpu(gpu, () => haarDwtRaw(gpu, 1, 3, h, h, a, b, { path }), { reps });
      const iwt = await timeGpu(gpu, () => haarIwtRaw(gpu, 1, 3, h / 2, h / 2, b, a, { path }), { reps });
      const bytes = 2 * 3 * h * h * 4;
      rows.push({ bench: 'upfirdn', case: `Haar DWT 3×1024² ${path}`, ms: dwt, rate: bytes / dwt / 1e6, unit: 'GB/s' });
      rows.push({
        bench: 'upfirdn',
        case: `Haar IWT →3×1024² ${path}`,
        ms: iwt,
        rate: bytes / iwt / 1e6,
        unit: 'GB/s',
      });
    }
    gpu.pool.release(a);
    gpu.pool.release(b);
  }
  // reductions: bias gradient Σ over H·W of [1,64,512²], noise gradient Σ over C of [1,64,512²]
  await initEngine(gpu);
  const t = Tensor.zeros([1, 64, 512 / s, 512 / s]);
  for (const [name, axes] of [
    ['bias grad Σ_{n,h,w} [1,64,512²]', [0, 2, 3]],
    ['noise grad Σ_c [1,64,512²]', [1]],
  ] as const) {
    const ms = await timeGpu(gpu, () => sum(t, [...axes], true).dispose(), { reps });
    rows.push({ bench: 'upfirdn', case: name, ms, rate: (t.size * 4) / ms / 1e6, unit: 'GB/s' });
  }
  t.dispose();
  return rows;
}
