/**
 * Elementwise ops with autograd: binary ops with NumPy broadcasting (right-aligned; a per-channel [C] against
 * NCHW is `b.reshape([1, C, 1, 1])` or `biasAdd`), scalar operands, and unary activations.
 */
import { broadcastMap, broadcastShapes } from '../kernels/broadcast.js';
import { mapNew } from '../kernels/elementwise-core.js';
import { record } from '../tape.js';
import { sameShape, Tensor } from '../tensor.js';
import { reshape, sumTo } from './shape.js';

type Operand = Tensor | number;

function binary(
  name: string,
  expr: string,
  a: Tensor,
  b: Tensor,
  backward: (gy: Tensor, a: Tensor, b: Tensor, needs: readonly boolean[]) => (Tensor | null)[],
  saveInputs: boolean,
): Tensor {
  const y = sameShape(a.shape, b.shape)
    ? mapNew(name, ['a', 'b'], expr, [a, b])
    : broadcastMap(name, ['a', 'b'], expr, [a, b]);
  return record({
    name,
    inputs: [a, b],
    output: y,
    save: saveInputs ? [a, b] : [],
    backward: (gy, s, needs) => backward(gy, s[0] ?? a, s[1] ?? b, needs),
  });
}

/** Elementwise map with one saved operand: `expr` in x and constants ka, kb. */
function scalarOp(name: string, expr: string, x: Tensor, c: number, gradExpr: string | null): Tensor {
  const y = mapNew(name, ['x'], expr, [x], [c]);
  return record({
    name,
    inputs: [x],
    output: y,
    backward: (gy) => [gradExpr === null ? gy : mapNew(`${name}:grad`, ['g'], gradExpr, [gy], [c])],
  });
}

export function add(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number')
    return typeof a === 'number' ? Tensor.full([], a + b) : scalarOp('adds', 'x + ka', a, b, null);
  if (typeof a === 'number') return add(b, a);
  return binary(
    'add',
    'a + b',
    a,
    b,
    (gy, A, B, n) => [n[0] ? sumTo(gy, A.shape) : null, n[1] ? sumTo(gy, B.shape) : null],
    false,
  );
}

export function sub(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number')
    return typeof a === 'number' ? Tensor.full([], a - b) : scalarOp('adds', 'x + ka', a, -b, null);
  if (typeof a === 'number') return scalarOp('rsubs', 'ka - x', b, a, '-g');
  const sa = a.shape;
  const sb = b.shape;
  return binary(
    'sub',
    'a - b',
    a,
    b,
    (gy, _A, _B, n) => [n[0] ? sumTo(gy, sa) : null, n[1] ? neg(sumTo(gy, sb)) : null],
    false,
  );
}

export function mul(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return typeof a === 'number' ? Tensor.full([], a * b) : scale(a, b);
  if (typeof a === 'number') return scale(b, a);
  return binary(
    'mul',
    'a * b',
    a,
    b,
    (gy, A, B, n) => [n[0] ? sumTo(mulRaw(gy, B), A.shape) : null, n[1] ? sumTo(mulRaw(gy, A), B.shape) : null],
    true,
  );
}

export function div(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return typeof a === 'number' ? Tensor.full([], a / b) : scale(a, 1 / b);
  if (typeof a === 'number') {
    // c / b: grad −c·g/b²
    const y = mapNew('rdivs', ['x'], 'ka / x', [b], [a]);
    return record({
      name: 'rdivs',
      inputs: [b],
      output: y,
      save: [b],
      backward: (gy, [B]) => [mapNew('rdivs:grad', ['g', 'x'], '-ka * g / (x * x)', [gy, B!], [a])],
    });
  }
  return binary(
    'div',
    'a / b',
    a,
    b,
    (gy, A, B, n) => [
      n[0] ? sumTo(broadcastOrMap('div', 'a / b', gy, B), A.shape) : null,
      n[1] ? sumTo(broadcast3('divgrad', '-g * a / (b * b)', gy, A, B), B.shape) : null,
    ],
    true,
  );
}

/** gy · t (no tape; t broadcast to gy's shape) — used inside backward closures. */
function mulRaw(gy: Tensor, t: Tensor): Tensor {
  return broadcastOrMap('mul', 'a * b', gy, t);
}

function broadcastOrMap(name: string, expr: string, a: Tensor, b: Tensor): Tensor {
  return sameShape(a.shape, b.shape)
    ? mapNew(name, ['a', 'b'], expr, [a, b])
    : broadcastMap(name, ['a', 'b'], expr, [a, b], [], broadcastShapes(a.shape, b.shape));
}

function broadcast3(name: string, expr: string, g: Tensor, a: Tensor, b: Tensor): Tensor {
  return sameShape(g.shape, a.shape) && sameShape(g.shape, b.shape)
    ? mapNew(name, ['g', 'a', 'b'], expr, [g, a, b])
    : broadcastMap(name, ['g', 'a', 'b'], expr, [g, a, b], [], g.shape);
}

export function scale(x: Tensor, s: number): Tensor {
  return scalarOp('scale', 'x * ka', x, s, 'g * ka');
}

export function neg(x: Tensor): Tensor {
  return scalarOp('neg', '-x', x, 0, '-g');
}

/** x + b with b [C] broadcast along axis 1 of x [N, C, ...]. */
export function biasAdd(x: Tensor, b: Tensor): Tensor {
  const shape = x.shape.map((d, i) => (i === 1 ? d : 1));
  if (b.size !== x.shape[1]) throw new Error(`biasAdd: bias of ${b.size} for ${x.shape[1]} channels`);
  return add(x, reshape(b, shape));
}

interface UnarySpec {
  /** forward expression in x (and constants ka, kb; T(…) for typed constants). */
  f: string;
  /** backward expression in g, x and/or y. */
  b: string;
  uses: 'x' | 'y';
}

const UNARY = {
  exp: { f: 'exp(x)', b: 'g * y', uses: 'y' },
  log: { f: 'log(x)', b: 'g / x', uses: 'x' },
  sqrt: { f: 'sqrt(x)', b: 'g * T(0.5) / y', uses: 'y' },
  rsqrt: { f: 'inverseSqrt(x)', b: 'g * T(-0.5) * y * y * y', uses: 'y' },
  square: { f: 'x * x', b: 'T(2.0) * g * x', uses: 'x' },
  sigmoid: { f: 'T(1.0) / (T(1.0) + exp(-x))', b: 'g * y * (T(1.0) - y)', uses: 'y' },
  tanh: { f: 'tanh(x)', b: 'g * (T(1.0) - y * y)', uses: 'y' },
  relu: { f: 'max(x, T(0.0))', b: 'select(T(0.0), g, x > T(0.0))', uses: 'x' },
  leakyRelu: { f: 'select(x * ka, x, x > T(0.0))', b: 'select(g * ka, g, x > T(0.0))', uses: 'x' },
  abs: { f: 'abs(x)', b: 'g * sign(x)', uses: 'x' },
} satisfies Record<string, UnarySpec>;

function unary(name: keyof typeof UNARY, x: Tensor, c = 0): Tensor {
  const spec: UnarySpec = UNARY[name];
  const y = mapNew(name, ['x'], spec.f, [x], [c]);
  return record({
    name,
    inputs: [x],
    output: y,
    save: [spec.uses === 'x' ? x : y],
    backward: (gy, [s]) => [mapNew(`${name}:grad`, ['g', spec.uses], spec.b, [gy, s!], [c])],
  });
}

export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => unary('leakyRelu', x, slope);

/** min(max(x, lo), hi); gradient passes where lo < x < hi (PyTorch passes at the bounds too: x == lo or hi). */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  const y = mapNew('clamp', ['x'], 'clamp(x, T(ka), T(kb))', [x], [lo, hi]);
  return record({
    name: 'clamp',
    inputs: [x],
    output: y,
    save: [x],
    backward: (gy, [xs]) => [
      mapNew('clamp:grad', ['g', 'x'], 'select(T(0.0), g, (x >= T(ka)) & (x <= T(kb)))', [gy, xs!], [lo, hi]),
    ],
  });
}

/** Same buffer, cut from the tape (no gradient flows through). */
export function detach(x: Tensor): Tensor {
  return Tensor.view(x, x.shape);
}

/** A copy (gradient passes through). */
export function clone(x: Tensor): Tensor {
  const y = mapNew('copy', ['x'], 'x', [x]);
  return record({ name: 'clone', inputs: [x], output: y, backward: (gy) => [gy] });
}
