import { describe, expect, it } from 'vitest';
import { benchConv, passWanted, shapeWanted, unetConvShapes } from '../../bench/conv.js';
import { getGpu } from '../../src/gpu/index.js';
import { conv2dMacs } from '../../src/tensor/conv/geometry.js';
import { FULL_SWEEP } from '../helpers/sweep.js';

describe('bench/conv.ts', () => {
  it('lists the DualStyleUNet 3×3 conv shapes', () => {
    const full = unetConvShapes();
    const names = full.map((s) => s.name);
    expect(names).toContain('conv 3x3 s1 128→128 @256²');
    expect(names).toContain('conv 3x3 s1 64→64 @512²');
    expect(names).toContain('convT 3x3 s2 128→64 @256²→513²');
    expect(names).toContain('conv 3x3 s2 3→128 @513²→256²');
    expect(names).toContain('conv 3x3 s1 1024→512 @64²');
    // decoder convs are counted for both decoders
    expect(full.find((s) => s.name === 'conv 3x3 s1 64→64 @512²')!.count).toBe(2);
    // By hand: encoder ≈45 GMAC, each decoder ≈123 (comb convs run in both decoders): ≈292 GMAC. (§2.5's
    // "≈229 GMAC" estimate is lower; it seems to count the comb convs once.)
    const gmac = full.reduce((a, s) => a + s.count * conv2dMacs(s.geom), 0) / 1e9;
    expect(gmac).toBeGreaterThan(285);
    expect(gmac).toBeLessThan(300);
  });

  // the bench's own smoke run: in the full sweep (npm run test:full)
  it.runIf(FULL_SWEEP)('runs at a tiny scale on the CPU adapter, tiled path agreeing with direct', async () => {
    const gpu = await getGpu();
    const rows = await benchConv(gpu, { tiny: true, filter: '@' });
    expect(rows.length).toBe(3 * unetConvShapes(true).length);
    for (const r of rows) {
      expect(r.ms).toBeGreaterThanOrEqual(0);
      const errs = /rel err vs direct: (\S+), (\S+)/.exec(r.note!)!;
      expect(Number(errs[1])).toBeLessThan(1e-4);
      expect(Number(errs[2])).toBeLessThan(1e-4);
    }
  });

  it('filters shapes by any of several substrings and passes by name (CONV_PATHS_FILTER, CONV_PASSES)', () => {
    const env = { CONV_PATHS_FILTER: '@8²|→16²', CONV_PASSES: 'forward,input-grad' };
    const names = unetConvShapes()
      .map((s) => s.name)
      .filter((n) => shapeWanted(n, env));
    expect(names).toContain('conv 3x3 s1 512→512 @8²');
    expect(names).toContain('conv 3x3 s2 512→512 @33²→16²');
    expect(names).not.toContain('conv 3x3 s1 512→512 @16²');
    expect(shapeWanted('anything', {})).toBe(true);
    expect(passWanted('forward', env)).toBe(true);
    expect(passWanted('weight-grad', env)).toBe(false);
    expect(passWanted('weight-grad', {})).toBe(true);
  });
});
