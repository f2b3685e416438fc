import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { avatarUnetConfig, parameterCount, styleUnetSpec } from '../../src/nn/styleunet/spec.js';

const REDUCED = { 4: 32, 8: 32, 16: 32, 32: 32, 64: 24, 128: 16, 256: 16, 512: 8 };

describe('DualStyleUNet spec', () => {
  it('lists exactly the reference state-dict keys and shapes, in order (reduced model of checkpoint-layout.md)', () => {
    const expected = readFileSync(new URL('./fixtures/dual-styleunet-keys-reduced.txt', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim());
    const spec = styleUnetSpec({
      inpSize: 512,
      inpCh: 3,
      outSize: 1024,
      outCh: 3,
      styleDim: 512,
      nMlp: 2,
      channels: REDUCED,
    });
    const got = spec.entries.map((e) => `${e.name} (${e.shape.join(', ')}${e.shape.length === 1 ? ',' : ''})`);
    expect(got).toEqual(expected);
  });

  it('matches the parameter counts the reference prints (74,479,016 / 74,558,616; AvatarNet 223,648,936)', () => {
    const p3 = parameterCount(styleUnetSpec(avatarUnetConfig(3)));
    const p8 = parameterCount(styleUnetSpec(avatarUnetConfig(8)));
    expect(p3).toBe(74_479_016);
    expect(p8).toBe(74_558_616);
    const viewCnn = 1 * 64 * 16 + 64 + 64 * 128 * 16 + 128;
    expect(2 * p3 + p8 + viewCnn).toBe(223_648_936);
  });

  it('wires levels, skips and the view feature as §2.6 describes', () => {
    const spec = styleUnetSpec(avatarUnetConfig(3));
    expect(spec.conds.map((c) => `${c.ch}@${c.res}`)).toEqual([
      '128@256',
      '256@128',
      '512@64',
      '512@32',
      '512@16',
      '512@8',
    ]);
    expect(spec.levels.map((l) => l.res)).toEqual([16, 32, 64, 128, 256, 512]);
    expect(spec.levels.map((l) => l.convs[0].outCh)).toEqual([512, 512, 512, 256, 128, 64]);
    expect(spec.levels.slice(1).map((l) => `${l.comb!.name}:${l.comb!.inCh}->${l.comb!.outCh}`)).toEqual([
      'comb_convs.4:1024->512',
      'comb_convs.3:1024->512',
      'comb_convs.2:1024->512',
      'comb_convs.1:512->256',
      'comb_convs.0:256->128',
    ]);
    expect(spec.viewCh).toBe(128);
    expect(spec.levels[spec.viewLevel]!.res).toBe(256);
  });
});
