/** Shape ops: reshape (free view), expand (broadcast copy), sumTo (the adjoint of broadcasting), reductions. */
import { broadcastMap } from '../kernels/broadcast.js';
import { reduceSum } from '../kernels/reduce.js';
import { record } from '../tape.js';
import { sameShape, shapeSize, Tensor } from '../tensor.js';

/** Same data, new shape (one dimension may be −1). Shares the buffer (refcounted): no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const sh = resolveShape(shape, x.size);
  if (sameShape(sh, x.shape) && !x.requiresGrad) return Tensor.view(x, sh);
  const y = Tensor.view(x, sh);
  const inShape = x.shape;
  return record({ name: 'reshape', inputs: [x], output: y, backward: (gy) => [Tensor.view(gy, inShape)] });
}

export const view = reshape;

function resolveShape(shape: readonly number[], size: number): number[] {
  const sh = [...shape];
  const k = sh.indexOf(-1);
  if (k >= 0) {
    const rest = shapeSize(sh.filter((_, i) => i !== k));
    sh[k] = rest === 0 ? 0 : size / rest;
  }
  if (shapeSize(sh) !== size || !Number.isInteger(sh[k] ?? 0)) {
    throw new Error(`reshape: [${shape.join(', ')}] does not fit ${size} elements`);
  }
  return sh;
}

function normAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].map((a) => {
    if (a < 0 || a >= rank) throw new Error(`axis ${a} out of range for rank ${rank}`);
    return a;
  });
}

function reduced(x: Tensor, axes: number[], keepDims: boolean): number[] {
  return keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
}

/** Σ over `axes` (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduceOp('sum', x, axes, keepDims, false);
}

/** Mean over `axes` (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduceOp('mean', x, axes, keepDims, true);
}

function reduceOp(
  name: string,
  x: Tensor,
  axesIn: number | readonly number[] | undefined,
  keepDims: boolean,
  avg: boolean,
): Tensor {
  const axes = normAxes(axesIn, x.rank);
  const R = axes.reduce((a, i) => a * x.shape[i]!, 1);
  const s = avg ? 1 / R : 1;
  const y = reduceSum(x, axes, reduced(x, axes, keepDims), s);
  const inShape = x.shape;
  const kd = reduced(x, axes, true);
  return record({
    name,
    inputs: [x],
    output: y,
    backward: (gy) => [
      broadcastMap(`expand${avg ? 's' : ''}`, ['x'], avg ? 'x * ka' : 'x', [Tensor.view(gy, kd)], [s], inShape),
    ],
  });
}

/** x broadcast (copied) to `shape`. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const y = broadcastMap('expand', ['x'], 'x', [x], [], shape);
  const inShape = x.shape;
  return record({ name: 'expand', inputs: [x], output: y, backward: (gy) => [sumTo(gy, inShape)] });
}

/** Σ of g over the dimensions that broadcasting added or stretched to reach g's shape from `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return reshape(g, shape);
  const y = sum(g, axes, true);
  return reshape(y, shape);
}

/** Re-exported here too (concat/split/slice live in indexing.ts). */
export { concat, split, slice } from './indexing.js';
