/**
 * Generated WGSL by key: a kernel whose source is built from parameters is built once per variant, not on every
 * call (building it, and hashing a new string for the runtime's pipeline lookup, cost the hot paths per dispatch).
 */
const sources = new Map<string, string>();

export function cached(key: string, make: () => string): string {
  let s = sources.get(key);
  if (s === undefined) sources.set(key, (s = make()));
  return s;
}
