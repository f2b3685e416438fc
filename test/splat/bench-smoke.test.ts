import { expect, it } from 'vitest';
import { benchSplat } from '../../bench/splat.js';
import { getGpu } from '../../src/gpu/index.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

// The bench's own smoke test: in the full sweep (npm run test:full); npm test checks the rasterizer itself.
it.runIf(FULL_SWEEP)('splat bench runs in tiny mode', async () => {
  const rows = await benchSplat(await getGpu(), { tiny: true });
  expect(rows.map((r) => r.bench)).toEqual([
    'splat forward',
    'splat forward+backward',
    'splat backward repeatable',
    'splat replay forward',
    'splat replay forward+backward',
  ]);
  for (const r of rows) if (r.bench !== 'splat backward repeatable') expect(r.ms).toBeGreaterThan(0);
  expect(rows[1]!.note).toMatch(/created after warm-up: 0/);
  expect(rows[2]!.rate).toBe(1);
  expect(rows[4]!.note).not.toMatch(/OVERFLOWED/);
});
