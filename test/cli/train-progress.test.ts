/** `animgs train`'s plain progress lines (stdout not a terminal): one per ~10 s, each stage's rate its own. */
import { describe, expect, it } from 'vitest';
import { plainProgress } from '../../src/cli/train.js';
import type { StepReport } from '../../src/train/trainer.js';

const step = (stage: 'pretrain' | 'train', iteration: number, total: number): StepReport => ({
  stage,
  iteration,
  total,
  losses: iteration > 1 ? { total: 0.5 } : null,
  lr: 5e-4,
});

describe('plain training progress', () => {
  it('prints each stage from its first step, then every ~10 s and at its end, with the rate of that stage', () => {
    const lines: string[] = [];
    let clock = 3_000; // a young process: its first line is printed all the same
    const onStep = plainProgress(
      (l) => lines.push(l),
      () => clock,
    );
    // pretraining: 200 steps at 20 steps/s, then training at 4 steps/s
    for (let i = 1; i <= 200; i++, clock += 50) onStep(step('pretrain', i, 200));
    for (let i = 1; i <= 100; i++, clock += 250) onStep(step('train', i, 800_000));
    expect(lines[0]).toBe('pretrain 1/200: -; lr 5.00e-4; - steps/s');
    expect(lines[1]).toMatch(/^pretrain 200\/200: total 0\.5000; lr 5\.00e-4; 20\.\d\d steps\/s$/);
    expect(lines[2]).toBe('train 1/800000: -; lr 5.00e-4; - steps/s');
    expect(lines.slice(3).length).toBeGreaterThan(0);
    for (const l of lines.slice(3)) expect(l).toMatch(/^train \d+\/800000: .*; 4\.00 steps\/s$/);
    expect(lines.join('\n')).not.toMatch(/; -\d/);
  });
});
