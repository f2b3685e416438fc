import { expect, it } from 'vitest';
import { benchSplat } from '../../bench/splat.js';
import { getGpu } from '../../src/gpu/index.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

// The bench's own smoke test: in the full sweep (npm run test:full); npm test checks the rasterizer itself.
it.runIf(FULL_SWEEP)('splat bench runs in tiny mode', async () => {
  const rows = await benchSplat(await getGpu(), { tiny: true });
  expect(rows.length).toBe(2);
  for (const r of rows) expect(r.ms).toBeGreaterThan(0);
  expect(rows[1]!.note).toMatch(/created after warm-up: 0/);
});
