import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { exportBody, registerBodyCommands } from '../../src/cli/body.js';
import { ndarray } from '../../src/io/npy.js';
import { writeNpz } from '../../src/io/node/npz.js';

const model = new URL('../fixtures/body/tiny_smplx.npz', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'body-cli-'));

describe('animgs body export', () => {
  it('writes OBJ and PLY of the rest, canonical and posed body', () => {
    const poses = join(dir, 'p.npz');
    writeNpz(poses, {
      global_orient: ndarray(new Float64Array(6).fill(0.3), [2, 3]),
      body_pose: ndarray(new Float64Array(126).fill(0.1), [2, 63]),
      transl: ndarray(new Float64Array([0, 0, 0, 5, 5, 5]), [2, 3]),
    });
    const obj = join(dir, 'a.obj');
    expect(exportBody({ model, out: obj })).toMatch(/6 vertices, 3 faces \(rest pose\)/);
    expect(
      readFileSync(obj, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('v ')).length,
    ).toBe(6);
    const ply = join(dir, 'b.ply');
    expect(exportBody({ model, out: ply, poses, frame: 1 })).toMatch(/smpl_params frame 1/);
    expect(readFileSync(ply).subarray(0, 3).toString()).toBe('ply');
    expect(() => exportBody({ model, out: obj, canonical: true })).toThrow(/a\.obj already exists: use --force/);
    expect(exportBody({ model, out: obj, canonical: true, force: true })).toMatch(/canonical pose/);
    expect(() => exportBody({ model, out: join(dir, 'x.stl') })).toThrow(/use a \.obj or \.ply/);
    expect(() => exportBody({ model, out: obj, frame: 2 })).toThrow(/--frame needs --poses/);
  });

  it('is registered as a commander subcommand', async () => {
    const program = new Command().exitOverride();
    registerBodyCommands(program);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const out = join(dir, 'c.obj');
    await program.parseAsync(['body', 'export', '--model', model, '--out', out, '--canonical'], { from: 'user' });
    expect(log.mock.calls[0]![0]).toMatch(/wrote .*c\.obj/);
    log.mockRestore();
    expect(program.commands.map((c) => c.name())).toEqual(['body']);
    expect(program.commands[0]!.commands.map((c) => c.name())).toEqual(['synth', 'export']);
  });
});
