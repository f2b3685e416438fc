/**
 * Interruption test (issue 19): `animgs synth` and `animgs prep` run as the real CLI (src/cli/main.ts, bundled for
 * the test run: test/helpers/cli.ts; in its own process group) and are killed with SIGKILL at seeded random points,
 * then run again with the same command; the final files must equal an uninterrupted run's byte for byte (stage markers,
 * which record input modification times, aside), with no temporaries left. Also: the CLI prints one line for a
 * bad option (no stack unless ANIMGS_DEBUG=1) and none of Dawn's lavapipe warnings. The child processes share a
 * Mesa shader cache of their own (empty at the start of the file: the first one compiles the kernels, as a user's
 * first run does; the others load them, as a user's later runs do), and each step is its own test.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from './mutate.js';
import { CLI_ARGV } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-interrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// the children's own shader cache (even when the suite runs with MESA_SHADER_CACHE_DISABLE, for a cold run)
const shaderCache = { MESA_SHADER_CACHE_DIR: join(root, 'mesa-shader-cache'), MESA_SHADER_CACHE_DISABLE: 'false' };

const SYNTH = ['--cameras', '2', '--above', '0', '--size', '32', '--frames', '4', '--test-frames', '2'];
const PREP = ['--size', '32', '--pca', '2'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Run the CLI. With `killWhen`, SIGKILL its whole process group (launcher and command) `delayMs` after the
 * condition (polled every 5 ms; e.g. "the second image exists") first holds: a kill in the middle of the work.
 */
function cli(
  args: string[],
  opt: { killWhen?: () => boolean; delayMs?: number; env?: Record<string, string> } = {},
): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...CLI_ARGV, ...args], {
    cwd: root,
    detached: true,
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...shaderCache, ...opt.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let timer: NodeJS.Timeout | undefined;
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  if (opt.killWhen) {
    const poll = () => {
      if (opt.killWhen!()) timer = setTimeout(kill, opt.delayMs ?? 0);
      else timer = setTimeout(poll, 5);
    };
    poll();
  }
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Every file under `dir` (relative path → SHA-1), markers of the stage module left out. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/^\.animgs-.*\.json$/.test(n)) {
        out[relative(dir, p)] = createHash('sha1').update(readFileSync(p)).digest('hex');
      }
    }
  };
  walk(dir);
  return out;
}

function expectOk(r: Run, what: string): void {
  expect(r.code, `${what} failed:\n${r.stderr}`).toBe(0);
  expect(r.stderr, 'Dawn warnings or other stderr noise').not.toMatch(/artificially reduced/);
}

describe('interrupted synth and prep resume to the same bytes', () => {
  const r = rng(19);
  // uninterrupted reference (the command in one process, as the kills below: no stderr filter)
  const direct = { env: { ANIMGS_NO_FILTER: '1' } };
  const ref = join(root, 'ref');
  let refCapture: Record<string, string> = {};
  let refMaps: Record<string, string> = {};
  const count = (dir: string, re: RegExp) => {
    try {
      return readdirSync(dir).filter((n) => re.test(n)).length;
    } catch {
      return 0;
    }
  };
  const kills: string[] = [];
  afterAll(() => console.log(`interruptions: ${kills.join('; ')}`));

  it('an uninterrupted run, then the same capture again through the launcher: complete, no Dawn warnings', async () => {
    const s0 = await cli(['synth', '--out', ref, ...SYNTH], direct);
    expect(s0.code, s0.stderr).toBe(0);
    refCapture = tree(ref);
    const p0 = await cli(['prep', '--data', ref, ...PREP], direct);
    expect(p0.code, p0.stderr).toBe(0);
    refMaps = tree(join(ref, 'smpl_pos_map'));
    expect(Object.keys(refMaps)).toContain('pca_2.safetensors');
    expect(Object.keys(refMaps)).toContain('canonical_gaussians.ply');
    // through the launcher: the same capture again is complete; Dawn's warnings are filtered from stderr
    const s1 = await cli(['synth', '--out', ref, ...SYNTH]);
    expectOk(s1, 'synth (complete)');
    expect(s1.stdout).toMatch(/already holds this capture, complete/);
  });

  // kill once early and once late in each command's work, a seeded 0-40 ms after a file appears
  it("synth: SIGKILL early and late, rerun: the uninterrupted run's bytes", async () => {
    expect(Object.keys(refCapture).length, 'the reference run (the test before)').toBeGreaterThan(0);
    const synthPoints = [
      { what: 'the first image', when: (o: string) => count(join(o, 'images', 'cam00'), /^\d+\.jpg$/) >= 1 },
      { what: 'the third frame', when: (o: string) => count(join(o, 'images', 'cam01'), /^\d+\.jpg$/) >= 3 },
    ];
    for (const [k, point] of synthPoints.entries()) {
      const out = join(root, `synth${k}`);
      const delay = Math.round(40 * r());
      const killed = await cli(['synth', '--out', out, ...SYNTH], {
        killWhen: () => point.when(out),
        delayMs: delay,
        ...direct,
      });
      kills.push(`synth ${delay} ms after ${point.what}: ${killed.signal ?? `exit ${killed.code}`}`);
      const again = await cli(['synth', '--out', out, ...SYNTH], direct);
      expect(again.code, again.stderr).toBe(0);
      expect(tree(out)).toEqual(refCapture);
    }
  });

  it("prep: SIGKILL early and late, rerun: the uninterrupted run's bytes", async () => {
    expect(Object.keys(refMaps).length, 'the reference run (the test before)').toBeGreaterThan(0);
    const prepPoints = [
      {
        what: 'the canonical maps',
        when: (d: string) => count(join(d, 'smpl_pos_map'), /^cano_smpl_pos_map\.exr$/) >= 1,
      },
      { what: 'the second posed map', when: (d: string) => count(join(d, 'smpl_pos_map'), /^\d{8}\.exr$/) >= 2 },
    ];
    for (const [k, point] of prepPoints.entries()) {
      const data = join(root, `prep${k}`);
      cpSync(ref, data, { recursive: true, filter: (src) => !src.includes('smpl_pos_map') });
      const delay = Math.round(40 * r());
      const killed = await cli(['prep', '--data', data, ...PREP], {
        killWhen: () => point.when(data),
        delayMs: delay,
        ...direct,
      });
      kills.push(`prep ${delay} ms after ${point.what}: ${killed.signal ?? `exit ${killed.code}`}`);
      const again = await cli(['prep', '--data', data, ...PREP], direct);
      expect(again.code, again.stderr).toBe(0);
      expect(tree(join(data, 'smpl_pos_map'))).toEqual(refMaps);
    }
  });
});

describe('the CLI prints one line for a user error', () => {
  it('a bad option: one line naming it, exit 1, no stack; ANIMGS_DEBUG=1 adds the stack', async () => {
    const cap = join(root, 'ref');
    if (!existsSync(cap)) return; // the resume test made it
    const r = await cli(['prep', '--data', cap, '--frames', '5:2']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      "animgs: --frames '5:2': the end (2) must be greater than the start (5); the end is exclusive, so 5:6 is frame 5 alone",
    ]);
    const d = await cli(['prep', '--data', cap, '--frames', '5:2'], { env: { ANIMGS_DEBUG: '1' } });
    expect(d.stderr).toMatch(/InputError: --frames '5:2'[\s\S]*\n\s+at /);
  });
});
