/**
 * Run a tensor op on the GPU with autograd: uploads inputs (requiresGrad where asked), runs `fn`, backpropagates a
 * given output gradient, and returns the output and the inputs' gradients as Float32Arrays. Everything is freed.
 */
import { backward, initEngine, scope, Tensor } from '../../src/tensor/index.js';

export interface OpInput {
  data: ArrayLike<number>;
  shape: readonly number[];
  grad?: boolean;
  /** Index tensor (i32). */
  int?: boolean;
}

export interface OpResult {
  y: Float32Array;
  shape: readonly number[];
  grads: (Float32Array | null)[];
}

export async function runOp(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: readonly OpInput[],
  gy?: (n: number) => Float32Array,
): Promise<OpResult> {
  await initEngine();
  const leaves = inputs.map((i) =>
    i.int
      ? Tensor.indices(Int32Array.from(i.data), i.shape)
      : Tensor.from(Float32Array.from(i.data), i.shape, { requiresGrad: i.grad ?? false, persistent: true }),
  );
  let shape: readonly number[] = [];
  let yArr: Float32Array;
  const y = scope(() => fn(...leaves));
  try {
    shape = y.shape;
    yArr = await y.toArray();
    if (gy && inputs.some((i) => i.grad)) {
      scope(() => backward(y, Tensor.from(gy(y.size), y.shape)));
    }
    const grads = await Promise.all(leaves.map((t) => (t.grad ? t.grad.toArray() : Promise.resolve(null))));
    return { y: yArr, shape, grads };
  } finally {
    y.dispose();
    for (const t of leaves) t.dispose();
  }
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}
