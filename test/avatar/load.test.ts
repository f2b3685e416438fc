/** Which checkpoint a trained avatar loads from: ours (a folder or a net_ckpt_dir's latest), the reference's net.pt. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyCheckpoint, resolveAvatarCheckpoint } from '../../src/avatar/load.js';
import type { TrainConfig } from '../../src/avatar/config-file.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolving a trained avatar checkpoint', () => {
  const ckptDir = join(root, 'ckpt');
  const ours = join(ckptDir, 'batch_00000010');
  mkdirSync(ours, { recursive: true });
  writeFileSync(join(ours, 'state.json'), '{}');
  const ref = join(root, 'ref');
  mkdirSync(ref);
  writeFileSync(join(ref, 'net.pt'), 'x');

  it('sorts folders and files into ours and the reference', () => {
    expect(classifyCheckpoint(ours)).toEqual({ path: ours, kind: 'ours', from: 'given' });
    expect(classifyCheckpoint(ref)).toEqual({ path: join(ref, 'net.pt'), kind: 'reference', from: 'given' });
    expect(classifyCheckpoint(join(ref, 'net.pt')).kind).toBe('reference');
    expect(() => classifyCheckpoint(join(root, 'none'))).toThrow(/none does not exist/);
    expect(() => classifyCheckpoint(root)).toThrow(/holds no checkpoint/);
    // a net_ckpt_dir: its latest.json
    expect(() => classifyCheckpoint(ckptDir)).toThrow(/holds no checkpoint/);
    writeFileSync(join(ckptDir, 'latest.json'), JSON.stringify({ checkpoint: 'batch_00000010' }));
    expect(classifyCheckpoint(ckptDir)).toEqual({ path: ours, kind: 'ours', from: 'given' });
  });

  it('the given one, else test.prev_ckpt, else the latest in net_ckpt_dir, else what to run', () => {
    const cfg = { source: 'a.yaml', train: { netCkptDir: ckptDir }, test: null } as unknown as TrainConfig;
    expect(resolveAvatarCheckpoint(cfg, ref).kind).toBe('reference');
    expect(resolveAvatarCheckpoint(cfg)).toEqual({ path: ours, kind: 'ours', from: 'train.net_ckpt_dir' });
    const withTest = { ...cfg, test: { prevCkpt: ref } } as unknown as TrainConfig;
    expect(resolveAvatarCheckpoint(withTest).from).toBe('test.prev_ckpt');
    const none = { ...cfg, train: { netCkptDir: join(root, 'empty') } } as unknown as TrainConfig;
    expect(() => resolveAvatarCheckpoint(none)).toThrow(/no trained avatar: .*animgs train -c a\.yaml/);
  });
});
