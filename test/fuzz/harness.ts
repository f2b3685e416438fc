/**
 * Runs a reader on seeded corruptions of valid files and classifies every outcome: our named error (InputError /
 * FormatError, or the config reader's ConfigError), a correct result (the check finds nothing wrong: finite values,
 * consistent sizes), or a failure (any other exception — a raw RangeError, TypeError, stack overflow — or a result
 * the check rejects, e.g. NaN). Each input is timed: a reader must finish in `maxMs` (a hang shows as the slowest).
 */
import { isInputError } from '../../src/io/errors.js';
import { corrupt, rng, type Mutation } from './mutate.js';

export interface FuzzStats {
  reader: string;
  tried: number;
  named: number;
  correct: number;
  failures: string[];
  slowestMs: number;
}

/** Every reader's stats, for the summary printed after the suite. */
export const ALL_STATS: FuzzStats[] = [];

export interface FuzzCase<T> {
  reader: string;
  /** Valid files (each must read correctly unmodified). */
  seeds: Uint8Array[];
  /** Corrupted inputs to try (in addition to the seeds). */
  count: number;
  seed: number;
  read: (bytes: Uint8Array) => T;
  /** Undefined when the result is correct, else what is wrong with it. */
  check: (result: T) => string | undefined;
  mutations?: readonly Mutation[];
  maxMs?: number;
}

type Settled<T> = { ok: true; v: T } | { ok: false; e: unknown };

function record<T>(
  stats: FuzzStats,
  label: string,
  size: number,
  ms: number,
  settled: Settled<T>,
  check: (r: T) => string | undefined,
  maxMs: number,
): boolean {
  stats.tried++;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  if (ms > maxMs) stats.failures.push(`${label}: took ${ms.toFixed(0)} ms (${size} bytes)`);
  if (!settled.ok) {
    const e = settled.e as Error | undefined;
    if (isInputError(settled.e)) stats.named++;
    else stats.failures.push(`${label}: raw ${e?.name ?? typeof e}: ${e?.message ?? String(e)}`);
    return false;
  }
  let why: string | undefined;
  try {
    why = check(settled.v);
  } catch (e) {
    why = `the check threw ${(e as Error).message}`;
  }
  if (why === undefined) {
    stats.correct++;
    return true;
  }
  stats.failures.push(`${label}: wrong result: ${why}`);
  return false;
}

function newStats(reader: string): FuzzStats {
  return { reader, tried: 0, named: 0, correct: 0, failures: [], slowestMs: 0 };
}

export function fuzz<T>(c: FuzzCase<T>): FuzzStats {
  const stats = newStats(c.reader);
  const one = (label: string, bytes: Uint8Array): boolean => {
    const t0 = performance.now();
    let settled: Settled<T>;
    try {
      settled = { ok: true, v: c.read(bytes) };
    } catch (e) {
      settled = { ok: false, e };
    }
    return record(stats, label, bytes.length, performance.now() - t0, settled, c.check, c.maxMs ?? 2000);
  };
  c.seeds.forEach((s, i) => {
    if (!one(`seed ${i}`, s)) stats.failures.push(`seed ${i} (unmodified) does not read correctly`);
  });
  const r = rng(c.seed);
  for (let k = 0; k < c.count; k++) one(`input ${k}`, corrupt(c.seeds[k % c.seeds.length]!, r, c.mutations));
  ALL_STATS.push(stats);
  return stats;
}

/** The same for readers that return promises (images through sharp). */
export async function fuzzAsync<T>(
  c: Omit<FuzzCase<T>, 'read'> & { read: (b: Uint8Array) => Promise<T> },
): Promise<FuzzStats> {
  const stats = newStats(c.reader);
  const one = async (label: string, bytes: Uint8Array): Promise<boolean> => {
    const t0 = performance.now();
    let settled: Settled<T>;
    try {
      settled = { ok: true, v: await c.read(bytes) };
    } catch (e) {
      settled = { ok: false, e };
    }
    return record(stats, label, bytes.length, performance.now() - t0, settled, c.check, c.maxMs ?? 2000);
  };
  for (let i = 0; i < c.seeds.length; i++) {
    if (!(await one(`seed ${i}`, c.seeds[i]!))) stats.failures.push(`seed ${i} (unmodified) does not read correctly`);
  }
  const r = rng(c.seed);
  for (let k = 0; k < c.count; k++) await one(`input ${k}`, corrupt(c.seeds[k % c.seeds.length]!, r, c.mutations));
  ALL_STATS.push(stats);
  return stats;
}

/** Undefined when every value is finite, else where the first non-finite one is. */
export function nonFinite(name: string, a: ArrayLike<number> | ArrayLike<bigint>): string | undefined {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (typeof x === 'number' && !Number.isFinite(x)) return `${name}[${i}] is ${x}`;
  }
  return undefined;
}

export function summary(stats: readonly FuzzStats[]): string {
  const rows = stats.map(
    (s) =>
      `${s.reader.padEnd(26)} ${String(s.tried).padStart(6)} ${String(s.named).padStart(7)} ${String(s.correct).padStart(8)} ` +
      `${String(s.failures.length).padStart(8)} ${s.slowestMs.toFixed(1).padStart(9)}`,
  );
  const tot = (k: 'tried' | 'named' | 'correct') => stats.reduce((a, s) => a + s[k], 0);
  const fails = stats.reduce((a, s) => a + s.failures.length, 0);
  return [
    `${'reader'.padEnd(26)} ${'tried'.padStart(6)} ${'named'.padStart(7)} ${'correct'.padStart(8)} ${'failures'.padStart(8)} ${'slowest ms'.padStart(9)}`,
    ...rows,
    `${'total'.padEnd(26)} ${String(tot('tried')).padStart(6)} ${String(tot('named')).padStart(7)} ${String(tot('correct')).padStart(8)} ${String(fails).padStart(8)}`,
  ].join('\n');
}
