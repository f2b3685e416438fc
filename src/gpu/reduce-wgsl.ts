/**
 * WGSL of a workgroup tree reduction, the one pattern every reducing kernel here shares: once invocation `li` has
 * written its value to `arr[li]` (`size` invocations, a power of two), this combines them into `arr[0]`, several
 * arrays at once if given (one set of barriers). It begins with the barrier that publishes those writes and ends
 * with one, so every invocation may read `arr[0]` after it; it must run in workgroup-uniform control flow.
 */
export function workgroupReduceWgsl(arrays: ReadonlyArray<readonly [string, '+' | 'max']>, size: number): string {
  if (size < 2 || (size & (size - 1)) !== 0) throw new Error(`workgroupReduceWgsl: ${size} is not a power of two ≥ 2`);
  const combine = arrays
    .map(([a, op]) => (op === '+' ? `${a}[li] += ${a}[li + st];` : `${a}[li] = max(${a}[li], ${a}[li + st]);`))
    .join(' ');
  return `workgroupBarrier();
  for (var st = ${size / 2}u; st > 0u; st >>= 1u) {
    if (li < st) { ${combine} }
    workgroupBarrier();
  }`;
}
