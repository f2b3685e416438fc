/** A tiny DualStyleUNet configuration and parameters for tests (S = 64, a few channels per level). */
import { initStyleUnetParams } from '../../src/nn/styleunet/init.js';
import { styleUnetSpec, type StyleUnetConfig } from '../../src/nn/styleunet/spec.js';
import { seededRandom } from '../helpers/numeric.js';

export const TINY: StyleUnetConfig = {
  inpSize: 64,
  inpCh: 3,
  outSize: 128,
  outCh: 2,
  styleDim: 8,
  nMlp: 2,
  channels: { 1: 4, 2: 4, 4: 4, 8: 4, 16: 3, 32: 3, 64: 2, 128: 2 },
};

/** Reference initialisation, then every zero-initialised parameter (biases, noise weights) made nonzero. */
export function tinyParams(seed: number, config: StyleUnetConfig = TINY): Map<string, Float32Array> {
  const spec = styleUnetSpec(config);
  const p = initStyleUnetParams(spec, seed);
  const rand = seededRandom(seed + 100);
  for (const e of spec.entries) {
    if (e.kind !== 'param') continue;
    const v = p.get(e.name)!;
    if (v.every((x) => x === 0)) for (let i = 0; i < v.length; i++) v[i] = (rand() - 0.5) * 0.4;
  }
  return p;
}
