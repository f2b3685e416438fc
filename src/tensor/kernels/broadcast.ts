/**
 * Elementwise kernels over broadcast inputs (NumPy rules, right-aligned): the output index is decomposed over the
 * output shape and each input reads at its own strides (0 on broadcast dimensions). Shapes are baked into the WGSL,
 * one kernel per (expression, shapes) key.
 */
import { Tensor } from '../tensor.js';
import { cachedKernel, dispatch1d, f, main1d, params, stridesOf, type F32 } from './util.js';

/** The broadcast shape of several shapes (throws naming them if incompatible). */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const r = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(r).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = r - s.length + i;
      const d = s[i]!;
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else throw new Error(`shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} do not broadcast`);
    }
  }
  return out;
}

/** Strides of `shape` read at the indices of `out` (0 where broadcast). */
function bstrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  return out.map((d, j) => {
    const i = j - (out.length - shape.length);
    return i < 0 || shape[i] === 1 ? 0 : st[i]!;
  });
}

const MAX_RANK = 8;

function wgsl(names: readonly string[], expr: string, rank: number): string {
  const decl = names.map((_, i) => `@group(0) @binding(${i}) var<storage, read> B${i}: array<f32>;`).join('\n');
  const offs = names.map((_, k) => `var o${k} = 0u;`).join(' ');
  const acc = names.map((_, k) => `o${k} += c * P.s[${2 * k}u + d / 4u][d % 4u];`).join(' ');
  const loads = names.map((n, k) => `let ${n} = B${k}[o${k}];`).join(' ');
  return /* wgsl */ `alias T = f32;
${decl}
@group(0) @binding(${names.length}) var<storage, read_write> Out: array<f32>;
struct PP { n: u32, ka: f32, kb: f32, kc: f32, d: array<vec4<u32>, 2>, s: array<vec4<u32>, ${2 * Math.max(names.length, 1)}> }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let ka = P.ka; let kb = P.kb; let kc = P.kc;
  ${offs}
  var r = i;
  for (var d = ${rank - 1}; d >= 0; d--) {
    let c = r % P.d[u32(d) / 4u][u32(d) % 4u];
    r = r / P.d[u32(d) / 4u][u32(d) % 4u];
    ${acc.replaceAll('d / 4u', 'u32(d) / 4u').replaceAll('d % 4u', 'u32(d) % 4u')}
  }
  ${loads}
  Out[i] = ${expr};
}`;
}

/** out (of the broadcast shape) = expr(inputs broadcast). One kernel per (expression, arity, rank). */
export function broadcastMap(
  key: string,
  names: readonly string[],
  expr: string,
  inputs: readonly Tensor[],
  consts: readonly number[] = [],
  outShape?: readonly number[],
): Tensor {
  const shape = outShape ?? broadcastShapes(...inputs.map((t) => t.shape));
  if (shape.length > MAX_RANK) throw new Error(`broadcast: rank ${shape.length} over ${MAX_RANK}`);
  const rank = Math.max(shape.length, 1);
  const k = cachedKernel(`bmap:${key}:${names.length}:${rank}`, () => wgsl(names, expr, rank));
  const out = Tensor.empty(shape);
  const words: (number | F32)[] = [out.size, f(consts[0] ?? 0), f(consts[1] ?? 0), f(consts[2] ?? 0)];
  for (let d = 0; d < MAX_RANK; d++) words.push(shape[d] ?? 1);
  for (const t of inputs) {
    const st = bstrides(t.shape, shape);
    for (let d = 0; d < MAX_RANK; d++) words.push(st[d] ?? 0);
  }
  if (inputs.length === 0) for (let d = 0; d < MAX_RANK; d++) words.push(0);
  dispatch1d(k, [...inputs.map((t) => t.buffer), out.buffer], out.size, params(...words));
  return out;
}
