/**
 * Same-shape elementwise kernels generated from an expression: `mapN(key, names, expr, inputs, consts)` computes
 * out[i] = expr(inputs[i]) with up to three f32 constants `ka, kb, kc`. Vectorised (vec4) when the size is a multiple
 * of 4; in expressions write constants of the element type as `T(…)` (T is f32 or vec4<f32>).
 */
import { Tensor, gpu } from '../tensor.js';
import { cachedKernel, dispatch1d, f, main1d, params } from './util.js';

function mapWgsl(names: readonly string[], expr: string, vec: boolean, inplace: boolean): string {
  const T = vec ? 'vec4<f32>' : 'f32';
  const decl = names
    .map((n, i) =>
      inplace && i === 0
        ? `@group(0) @binding(0) var<storage, read_write> B0: array<T>;`
        : `@group(0) @binding(${i}) var<storage, read> B${i}: array<T>;`,
    )
    .join('\n');
  const loads = names.map((n, i) => `let ${n} = B${i}[i];`).join(' ');
  return /* wgsl */ `alias T = ${T};
${decl}
${inplace ? '' : `@group(0) @binding(${names.length}) var<storage, read_write> Out: array<T>;`}
struct PP { n: u32, ka: f32, kb: f32, kc: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let ka = P.ka; let kb = P.kb; let kc = P.kc;
  ${loads}
  ${inplace ? 'B0' : 'Out'}[i] = ${expr};
}`;
}

/** Record out = expr(inputs) elementwise (all inputs of out's size); `out` may be given (written in place). */
export function mapInto(
  key: string,
  names: readonly string[],
  expr: string,
  inputs: readonly Tensor[],
  out: Tensor,
  consts: readonly number[] = [],
): void {
  const n = out.size;
  for (const t of inputs) {
    if (t.size !== n) throw new Error(`${key}: input of ${t.size} elements, output ${n}`);
  }
  const vec = n % 4 === 0;
  const k = cachedKernel(`map:${key}:${vec ? 4 : 1}`, () => mapWgsl(names, expr, vec, false));
  const len = vec ? n / 4 : n;
  dispatch1d(
    k,
    [...inputs.map((t) => t.buffer), out.buffer],
    len,
    params(len, f(consts[0] ?? 0), f(consts[1] ?? 0), f(consts[2] ?? 0)),
  );
}

/** A new tensor of `shape` = expr(inputs). */
export function mapNew(
  key: string,
  names: readonly string[],
  expr: string,
  inputs: readonly Tensor[],
  consts: readonly number[] = [],
  shape = inputs[0]!.shape,
): Tensor {
  const out = Tensor.empty(shape);
  mapInto(key, names, expr, inputs, out, consts);
  return out;
}

/** In place: first input is also the output (it must not share storage with the others). */
export function mapInPlace(
  key: string,
  names: readonly string[],
  expr: string,
  inputs: readonly Tensor[],
  consts: readonly number[] = [],
): void {
  const n = inputs[0]!.size;
  for (const t of inputs) if (t.size !== n) throw new Error(`${key}: sizes differ`);
  const vec = n % 4 === 0;
  const k = cachedKernel(`mapip:${key}:${vec ? 4 : 1}`, () => mapWgsl(names, expr, vec, true));
  const len = vec ? n / 4 : n;
  dispatch1d(
    k,
    inputs.map((t) => t.buffer),
    len,
    params(len, f(consts[0] ?? 0), f(consts[1] ?? 0), f(consts[2] ?? 0)),
  );
}

/** acc += g, in place. */
export function addInto(acc: Tensor, g: Tensor): void {
  mapInPlace('accumulate', ['a', 'g'], 'a + g', [acc, g]);
}

/** A new f32 tensor filled with `value`. */
export function fill(shape: readonly number[], value: number, persistent = false): Tensor {
  const out = Tensor.empty(shape, { persistent });
  if (value === 0) gpu().clear(out.buffer, 0, Math.ceil(out.byteLength / 4) * 4);
  else mapInto('fill', [], 'T(ka)', [], out, [value]);
  return out;
}
