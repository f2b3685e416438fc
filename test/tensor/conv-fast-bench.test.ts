import { describe, expect, it } from 'vitest';
import { benchConvPaths } from '../../bench/conv-paths.js';
import { getGpu } from '../../src/gpu/index.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

describe('bench/conv-paths.ts', () => {
  // the bench's own smoke test: in the full sweep (npm run test:full); npm test checks the paths themselves
  it.runIf(FULL_SWEEP)(
    'runs every path and pass at a tiny scale on one shape, each checked against fp32 tiled',
    async () => {
      const gpu = await getGpu();
      process.env.CONV_PATHS_FILTER = 'conv 3x3 s1 8→8 @8²';
      try {
        const rows = await benchConvPaths(gpu, { tiny: true });
        const measured = rows.filter((r) => r.shape !== 'sum');
        expect(measured.length).toBe(3 * 3); // 3 paths (tiled, tuned, tc2-sw) × 3 passes
        for (const r of measured) {
          const m = /rel err vs fp32 tiled (\S+) \(tol (\S+)\)/.exec(r.note!);
          expect(m, r.note).not.toBeNull();
          expect(Number(m![1])).toBeLessThanOrEqual(Number(m![2]));
          expect(r.note).not.toMatch(/WRONG|FAILED/);
        }
        expect(rows.filter((r) => r.shape === 'sum').length).toBe(9);
      } finally {
        delete process.env.CONV_PATHS_FILTER;
      }
    },
  );
});
