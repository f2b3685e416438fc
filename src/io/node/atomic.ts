/**
 * Writing outputs so that an interrupted or failed command never leaves a broken or half-written file, and checking
 * before any expensive work that they can be written at all:
 * - `writeFileAtomic` / `writeAtomicWith`: write to a hidden temporary name in the same folder, then rename over the
 *   target (atomic on one file system: a killed process leaves the old file or the new one, never a mix); the
 *   temporary is removed on failure and errors name the target, never it.
 * - `ensureDir`: create a folder and its missing parents one level at a time (Node's recursive mkdir spins forever
 *   on some virtual file systems such as /proc), with errors that say which part could not be made and why.
 * - `checkOutputFile` / `checkOutputDir`: refuse to replace existing outputs without `--force`, and prove the folder
 *   is writable (a probe file) before the work starts.
 * - `removeStaleTemps`: temporaries left by a process that was killed are removed on the next run.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { firstLine, InputError } from '../errors.js';

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'it already exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error',
  EBUSY: 'the file is busy',
};

/** A short reason for a file-system error ("permission denied"), without Node's code and path prefix. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && FS_REASONS[code]) return FS_REASONS[code]!;
  const msg = e instanceof Error ? e.message : String(e);
  return firstLine(msg.replace(/^[A-Z]+: /, '').replace(/, \w+ '[^']*'( -> '[^']*')?$/, ''));
}

let tempCounter = 0;
/** A hidden temporary name beside `path` (same folder, so the rename is atomic). */
export function tempPathFor(path: string): string {
  const rand = `${(tempCounter++).toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${rand}`);
}

/** Temporaries of ours: `.<name>.tmp-<pid>-<tag>` (and the older `<name>.tmp-<pid>`). */
const TEMP_RE = /^(\..+\.tmp-\d+-[0-9a-z]+|.+\.tmp-\d+)$/;

function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true }); // a temporary may be a folder (a checkpoint being written)
  } catch {
    // nothing more to do: the temporary name is ours and hidden
  }
}

/** Write `data` to `path` atomically. Errors are InputErrors naming `path` (and the reason). */
export function writeFileAtomic(path: string, data: Uint8Array | string, what = ''): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw new InputError(`cannot write ${what ? `${what} ` : ''}${path}: ${reasonFor(e, path)}`);
  }
}

/**
 * Write through a function that produces the file at a temporary path (e.g. sharp's `toFile`), then rename it over
 * `path`. The temporary is removed when `produce` fails; errors name `path`.
 */
export async function writeAtomicWith(path: string, produce: (tmp: string) => Promise<unknown>): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await produce(tmp);
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot write ${path}: ${reasonFor(e, path)}`);
  }
}

/** The reason a write to `path` failed, saying which folder is missing when that is the cause. */
function reasonFor(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' && !existsSync(dirname(path))) return `the folder ${dirname(path)} does not exist`;
  // libvips (sharp) reports "unable to open for write" plus a multi-line dump; say what the file system says
  if (!code && /unable to open for write|write error/i.test(String((e as Error)?.message))) {
    return writableProblem(dirname(path)) ?? 'the file could not be written';
  }
  return describeFsError(e);
}

/** Create `dir` and any missing parents (one level at a time); the reason it cannot be, or undefined. */
function makeDir(dir: string): string | undefined {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: an ancestor is a file; walking up finds it and says so
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `${p}: ${describeFsError(e)}`;
      missing.unshift(p);
      const up = dirname(p);
      if (up === p) break;
      p = up;
      continue;
    }
    if (!st.isDirectory()) return `${p} is a file, not a folder`;
    break;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(m).isDirectory()) continue;
      return `${describeFsError(e)} (at ${m})`;
    }
  }
  return undefined;
}

/** Create `dir` and any missing parents (one level at a time). Throws an InputError saying what failed. */
export function ensureDir(dir: string, what = 'folder'): void {
  const why = makeDir(dir);
  if (why) throw new InputError(`cannot create the ${what} ${dir}: ${why}`);
}

/** Why files cannot be created in the existing folder `dir` (a probe file), or undefined when they can. */
export function writableProblem(dir: string): string | undefined {
  const probe = join(dir, `.animgs-probe-${process.pid}-${(tempCounter++).toString(36)}`);
  try {
    closeSync(openSync(probe, 'w'));
  } catch (e) {
    return describeFsError(e);
  } finally {
    removeQuietly(probe);
  }
  return undefined;
}

export interface OutputCheck {
  /** Replace an existing output (the command's --force). */
  force?: boolean;
  /** What the output is, for messages ("image", "mesh"). */
  what?: string;
  /** The flag that allows overwriting (default --force). */
  forceFlag?: string;
}

/**
 * Check, before any work, that `path` can be written: its folder exists or can be created and is writable, it is
 * not a folder, and it does not exist yet unless `force`. Throws an InputError saying what to do.
 */
export function checkOutputFile(path: string, opt: OutputCheck = {}): void {
  const what = opt.what ? `${opt.what} ` : '';
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw new InputError(`cannot write ${what}${path}: it is a folder`);
    if (!opt.force) {
      throw new InputError(`${path} already exists: use ${opt.forceFlag ?? '--force'} to overwrite it`);
    }
  }
  const dir = dirname(path);
  const noDir = makeDir(dir);
  if (noDir) throw new InputError(`cannot write ${what}${path}: cannot create its folder: ${noDir}`);
  const why = writableProblem(dir);
  if (why) throw new InputError(`cannot write ${what}${path}: ${why} (folder ${dir})`);
}

/** Create `dir` if needed and check that files can be written in it. */
export function checkOutputDir(dir: string, what = 'output folder'): void {
  ensureDir(dir, what);
  const why = writableProblem(dir);
  if (why) throw new InputError(`cannot write into the ${what} ${dir}: ${why}`);
}

/** Remove our temporaries that a killed process left in `dir` (not recursive). Returns how many were removed. */
export function removeStaleTemps(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (!TEMP_RE.test(name)) continue;
    // a live process of ours may be writing it: only remove temporaries whose pid is gone
    const m = /\.tmp-(\d+)/.exec(name);
    const pid = m ? Number(m[1]) : NaN;
    if (pid === process.pid || (Number.isInteger(pid) && processAlive(pid))) continue;
    removeQuietly(join(dir, name));
    n++;
  }
  return n;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
