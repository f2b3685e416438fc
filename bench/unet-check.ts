/**
 * Correctness of the network's fast paths at full size on the GPU (the unit tests cover them on the CPU through the
 * software twin only): one DualStyleUNet forward and its parameter gradients on the default conv path (tensor
 * cores where available), with the four-phase transposed convs instead of the sub-pixel ones, and frozen, each against the same network
 * with every convolution on the fp32 'tuned' path. Reports the normwise relative error of the output and of the
 * concatenated gradients (f16 GEMM operands: expect ~1e-3).
 */
import type { Gpu } from '../src/gpu/index.js';
import { setDefaultConvKernel } from '../src/tensor/conv/ops.js';
import type { ConvKernelOptions } from '../src/tensor/conv/conv2d-raw.js';
import { relError } from '../src/tensor/reference/conv-check.js';
import { backward, beginScope, clearTape, mul, noGrad, sum, zeroGrad, type Tensor } from '../src/tensor/index.js';
import type { BenchRow } from './table.js';
import { unetFixture } from './unet.js';

export async function benchUnetCheck(gpu: Gpu, opts: { tiny?: boolean } = {}): Promise<BenchRow[]> {
  const { net, inputs, dispose } = await unetFixture(gpu, !!opts.tiny);
  const params = net.parameters().filter((p) => p.requiresGrad);
  const { x, views, r } = inputs;
  const run = async (kernel: ConvKernelOptions | null, frozen = false) => {
    const prev = setDefaultConvKernel(kernel);
    try {
      if (frozen) net.freezeForInference();
      const s = beginScope();
      let y: Float32Array;
      let grads: Float32Array | null = null;
      try {
        if (frozen) {
          y = await noGrad(() => net.forward(x, views)).toArray();
        } else {
          const out = net.forward(x, views);
          y = await out.toArray();
          backward(sum(mul(out, r)));
          const parts = await Promise.all(params.map((p) => (p.grad as Tensor).toArray()));
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
      return { y, grads };
    } finally {
      setDefaultConvKernel(prev);
    }
  };
  const ref = await run({ path: 'tuned' });
  const rows: BenchRow[] = [];
  const cases: Array<[string, ConvKernelOptions | null, boolean]> = [
    ['default path', null, false],
    ['default path, four-phase transposed convs', { path: 'fast', subpixelTranspose: false }, false],
    ['default path, frozen weights', null, true],
    ['default path, frozen, four-phase transposed convs', { path: 'fast', subpixelTranspose: false }, true],
  ];
  for (const [name, kernel, frozen] of cases) {
    const got = await run(kernel, frozen);
    const ey = relError(got.y, ref.y);
    const eg = got.grads ? relError(got.grads, ref.grads!) : NaN;
    rows.push({
      bench: 'unet-check',
      case: `${opts.tiny ? 'tiny' : 'full'}: ${name} vs fp32 tuned`,
      ms: NaN,
      note: `output rel. error ${ey.toExponential(2)}${got.grads ? `, parameter gradients ${eg.toExponential(2)}` : ''}`,
    });
  }
  dispose();
  return rows;
}
