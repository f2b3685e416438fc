/**
 * Correctness of the network's fast paths at full size on the GPU (the unit tests cover them on the CPU through the
 * software twin only): one DualStyleUNet forward and its parameter gradients on the default conv path (tensor
 * cores where available), with the four-phase transposed convs instead of the sub-pixel ones, and frozen, each against the same network
 * with every convolution on the fp32 'tuned' path. Reports the normwise relative error of the output and of the
 * concatenated gradients (f16 GEMM operands: expect ~1e-3), the worst single parameter tensor and the median one.
 * One case takes the loss at training scale (Σ out·r · 2⁻²³, like a mean over the 6 × 1024² outputs): its output
 * gradients, ~1e-7, are below f16's normal range, which the range scale of f16-range.ts must absorb.
 */
import type { Gpu } from '../src/gpu/index.js';
import { setDefaultConvKernel } from '../src/tensor/conv/ops.js';
import type { ConvKernelOptions } from '../src/tensor/conv/conv2d-raw.js';
import { relError } from '../src/tensor/reference/conv-check.js';
import { backward, beginScope, clearTape, mul, noGrad, sum, Tensor, zeroGrad } from '../src/tensor/index.js';
import { scale } from '../src/tensor/ops/elementwise.js';
import type { BenchRow } from './table.js';
import { unetFixture } from './unet.js';

export async function benchUnetCheck(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const { net, inputs, dispose } = await unetFixture(gpu, !!opts.tiny);
  const params = net.parameters().filter((p) => p.requiresGrad);
  const { views, r } = inputs;
  // The sensitivity baseline: the input × (1 ± 1e-3), all in fp32 (what a perturbation of the f16 path's size does
  // to these gradients by itself; lavapipe, tiny net with 32 channels: median 6.8e-3, p90 4.8e-2 per tensor, while
  // the tc2 twin gave 1.3e-2 / 6.4e-2 at 4× the output error).
  let seed = 7;
  const xs = await inputs.x.toArray();
  const xPerturbed = Tensor.from(
    xs.map((v) => v * (1 + 1e-3 * (((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1))),
    inputs.x.shape,
    { persistent: true },
  );
  const run = async (kernel: ConvKernelOptions | null, frozen = false, lossScale = 1, x = inputs.x) => {
    const prev = setDefaultConvKernel(kernel);
    try {
      if (frozen) net.freezeForInference();
      const s = beginScope();
      let y: Float32Array;
      let grads: Float32Array | null = null;
      let parts: Float32Array[] = [];
      try {
        if (frozen) {
          y = await noGrad(() => net.forward(x, views)).toArray();
        } else {
          const out = net.forward(x, views);
          y = await out.toArray();
          const loss = sum(mul(out, r));
          backward(lossScale === 1 ? loss : scale(loss, lossScale));
          // Undo the loss scale (a power of two: exact) so every case compares against the same reference.
          parts = (await Promise.all(params.map((p) => (p.grad as Tensor).toArray()))).map((a) =>
            lossScale === 1 ? a : a.map((v) => v / lossScale),
          );
          grads = new Float32Array(parts.reduce((a, b) => a + b.length, 0));
          let o = 0;
          for (const part of parts) grads.set(part, (o += part.length) - part.length);
        }
      } finally {
        s.end();
        clearTape();
        zeroGrad(params);
        if (frozen) net.unfreeze();
      }
      return { y, grads, parts };
    } finally {
      setDefaultConvKernel(prev);
    }
  };
  const ref = await run({ path: 'tuned' });
  const rows: BenchRow[] = [];
  const cases: Array<[string, ConvKernelOptions | null, boolean, number?, Tensor?]> = [
    ['fp32 tuned with the input × (1 ± 1e-3) (sensitivity baseline)', { path: 'tuned' }, false, 1, xPerturbed],
    ['default path', null, false],
    ['default path, loss at training scale (× 2⁻²³)', null, false, 2 ** -23],
    ['default path, four-phase transposed convs', { path: 'fast', subpixelTranspose: false }, false],
    ['default path, frozen weights', null, true],
    ['default path, frozen, four-phase transposed convs', { path: 'fast', subpixelTranspose: false }, true],
  ];
  for (const [name, kernel, frozen, lossScale, input] of cases) {
    const got = await run(kernel, frozen, lossScale, input);
    const ey = relError(got.y, ref.y);
    const eg = got.grads ? relError(got.grads, ref.grads!) : NaN;
    let per = '';
    if (got.grads) {
      const errs = got.parts.map((p, i) => ({ e: relError(p, ref.parts[i]!), i }));
      const worst = errs.reduce((a, b) => (b.e > a.e ? b : a));
      const median = errs.map((x) => x.e).sort((a, b) => a - b)[errs.length >> 1]!;
      per = `; per tensor: median ${median.toExponential(2)}, worst ${worst.e.toExponential(2)} (parameter ${worst.i}, [${params[worst.i]!.shape.join(', ')}])`;
    }
    rows.push({
      bench: 'unet-check',
      case: `${opts.tiny ? 'tiny' : 'full'}: ${name} vs fp32 tuned`,
      ms: NaN,
      note: `output rel. error ${ey.toExponential(2)}${got.grads ? `, parameter gradients ${eg.toExponential(2)}${per}` : ''}`,
    });
  }
  xPerturbed.dispose();
  dispose();
  return rows;
}
