import { describe, expect, it } from 'vitest';
import { frameFlag } from '../../src/cli/template.js';

describe('animgs template --frame', () => {
  it('takes auto, first or a frame id, and says what it expects otherwise', () => {
    expect(frameFlag('auto')).toBe('auto');
    expect(frameFlag('first')).toBe('first');
    expect(frameFlag('14')).toBe(14);
    expect(() => frameFlag('-1')).toThrow(/--frame '-1': expected auto, first or a frame id/);
    expect(() => frameFlag('closest')).toThrow(/--frame 'closest': expected auto, first or a frame id/);
  });
});
