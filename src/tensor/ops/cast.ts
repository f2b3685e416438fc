/**
 * f16 storage: `cast(x, 'f16' | 'f32')` converts between f32 and packed f16 (two halves per u32, pack2x16float /
 * unpack2x16float: no shader-f16 feature needed). The gradient of a cast is the cast back.
 */
import { cachedKernel, dispatch1d, main1d, params } from '../kernels/util.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

const TO_F16 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
struct PP { n: u32, pairs: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.pairs')}
  let a = X[2u * i];
  var b = 0.0;
  if (2u * i + 1u < P.n) { b = X[2u * i + 1u]; }
  Y[i] = pack2x16float(vec2<f32>(a, b));
}`;

const TO_F32 = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<u32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct PP { n: u32, pairs: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.pairs')}
  let v = unpack2x16float(X[i]);
  Y[2u * i] = v.x;
  if (2u * i + 1u < P.n) { Y[2u * i + 1u] = v.y; }
}`;

function castRaw(x: Tensor, dtype: 'f16' | 'f32'): Tensor {
  const y = Tensor.empty(x.shape, { dtype });
  const pairs = Math.ceil(x.size / 2);
  const k = dtype === 'f16' ? cachedKernel('cast:f16', () => TO_F16) : cachedKernel('cast:f32', () => TO_F32);
  dispatch1d(k, [x.buffer, y.buffer], pairs, params(x.size, pairs));
  return y;
}

/** Convert between f32 and f16 storage (round to nearest even). */
export function cast(x: Tensor, dtype: 'f16' | 'f32'): Tensor {
  if (x.dtype === dtype) return Tensor.view(x, x.shape);
  if (x.dtype !== 'f16' && x.dtype !== 'f32') throw new Error(`cast: dtype ${x.dtype}`);
  const from = x.dtype;
  const y = castRaw(x, dtype);
  return record({ name: 'cast', inputs: [x], output: y, backward: (gy) => [castRaw(gy, from)] });
}

/** Read an f16 tensor back as Float32Array. */
export async function toArrayF16(x: Tensor): Promise<Float32Array> {
  if (x.dtype !== 'f16') throw new Error(`toArrayF16: dtype ${x.dtype}`);
  const t = castRaw(x, 'f32');
  try {
    return await t.toArray();
  } finally {
    t.dispose();
  }
}
