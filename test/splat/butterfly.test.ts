import { describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { butterflyReduce } from '../../src/splat/wgsl.js';
import { seededRandom } from '../../src/tensor/rng.js';

/**
 * The blend backward's butterfly reduction for every subgroup size it is generated for, on any adapter: the shuffles
 * are emulated through workgroup memory (lanes = runs of `size` local indices of a 128-wide workgroup), so sizes the
 * CPU adapter does not have (it has 8) run too. Each subgroup's ten sums against float64 sums of its lanes' values.
 */
function emulated(size: number): string {
  const body = butterflyReduce(10, size).replace(/subgroupShuffleXor\(/g, 'shuffleXor(');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> vin: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
var<workgroup> lanes: array<f32, 128>;
var<private> li: u32;
fn shuffleXor(x: f32, mask: u32) -> f32 {
  lanes[li] = x;
  workgroupBarrier();
  let y = lanes[(li & ~${size - 1}u) | ((li & ${size - 1}u) ^ mask)];
  workgroupBarrier();
  return y;
}
@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) idx: u32) {
  li = idx;
  let sgi = idx % ${size}u;
  let base = (idx / ${size}u) * 10u;
  var v: array<f32, 10>;
  for (var k = 0u; k < 10u; k++) { v[k] = vin[idx * 10u + k]; }
  ${body.replace(/sPart\[/g, 'out[')}
}`;
}

describe('blend backward: butterfly reduce-scatter of 10 values over a subgroup', () => {
  for (const size of [4, 8, 16, 32, 64, 128]) {
    it(`subgroups of ${size}: every sum once, equal to the float64 sum`, async () => {
      const gpu = await getGpu();
      const r = seededRandom(size);
      const vin = Float32Array.from({ length: 1280 }, () => r() * 2 - 1);
      const groups = 128 / size;
      const sentinel = -12345;
      const a = gpu.bufferFrom(vin);
      const o = gpu.bufferFrom(new Float32Array(10 * groups).fill(sentinel));
      const k = await gpu.compile(`butterfly_${size}`, emulated(size));
      gpu.dispatch(k, [a, o], 1);
      const got = await gpu.readF32(o, 10 * groups);
      for (let g = 0; g < groups; g++)
        for (let c = 0; c < 10; c++) {
          let want = 0;
          for (let l = 0; l < size; l++) want += vin[(g * size + l) * 10 + c]!;
          expect(got[g * 10 + c], `group ${g} value ${c}`).toBeCloseTo(want, 4);
        }
      gpu.pool.release(a);
      gpu.pool.release(o);
    });
  }
  it('shuffle count: 12 for 10 values over 32 lanes (instead of 50 for ten subgroupAdd)', () => {
    expect(butterflyReduce(10, 32).match(/subgroupShuffleXor/g)).toHaveLength(12);
  });
});
