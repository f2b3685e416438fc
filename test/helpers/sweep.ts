/**
 * How much of a sweep the suite runs. `npm test` runs every kernel variant and code path at least once, at the
 * smallest shape that exercises it: on lavapipe almost all test time is kernel compilation, and conv kernels are
 * compiled per shape, so repeating a path on more shapes costs minutes and finds nothing new. `npm run test:full`
 * (ANIMGS_TEST_FULL=1) runs the whole cross product, as the tile variants were tested when they were written.
 */
export const FULL_SWEEP = process.env.ANIMGS_TEST_FULL === '1';

/** All of `all` in the full sweep; otherwise the entries at `fast` (each chosen to cover a path). */
export function sweep<T>(all: readonly T[], fast: readonly number[]): T[] {
  if (FULL_SWEEP) return [...all];
  return fast.map((i) => {
    const v = all[i];
    if (v === undefined) throw new Error(`sweep: no entry ${i} in a list of ${all.length}`);
    return v;
  });
}

/**
 * Every (a, b) in the full sweep; otherwise a diagonal that still pairs every a with some b and every b with some a
 * (max(|a|, |b|) pairs instead of |a|·|b|).
 */
export function pairs<A, B>(as: readonly A[], bs: readonly B[]): Array<[A, B]> {
  if (FULL_SWEEP) return as.flatMap((a) => bs.map((b): [A, B] => [a, b]));
  const n = Math.max(as.length, bs.length);
  return Array.from({ length: n }, (_, i): [A, B] => [as[i % as.length]!, bs[i % bs.length]!]);
}
