import { expect, it } from 'vitest';
import { benchSplat } from '../../bench/splat.js';
import { getGpu } from '../../src/gpu/index.js';

it('splat bench runs in tiny mode', async () => {
  const rows = await benchSplat(await getGpu(), { tiny: true });
  expect(rows.length).toBe(2);
  for (const r of rows) expect(r.ms).toBeGreaterThan(0);
  expect(rows[1]!.note).toMatch(/created after warm-up: 0/);
});
