/**
 * The page's download of an exported site's files (what it loads before the first frame: site.json's `files`), with
 * the bytes received reported against the manifest's total, each file checked against the size site.json gives.
 * Browser-safe (fetch only): the page uses it, and bench/player-load.ts runs the same code in Node over HTTP.
 */
import type { SiteManifest } from '../animate/web/format.js';

/**
 * Fetch every file site.json lists. `base` resolves the paths (the page leaves it out: they are relative to the page).
 */
export async function fetchSiteFiles(
  manifest: SiteManifest,
  onBytes: (done: number, total: number) => void,
  base?: string,
): Promise<Map<string, Uint8Array>> {
  const total = manifest.files.reduce((s, f) => s + f.bytes, 0);
  let done = 0;
  const out = new Map<string, Uint8Array>();
  await Promise.all(
    manifest.files.map(async (f) => {
      const url = base === undefined ? f.path : new URL(f.path, base).href;
      const res = await fetch(url).catch((e: unknown) => {
        throw new Error(`${f.path}: cannot fetch (${String(e)})`);
      });
      if (!res.ok)
        throw new Error(`${f.path}: the server answered ${res.status} ${res.statusText} (is the site complete?)`);
      const parts: Uint8Array[] = [];
      const reader = res.body!.getReader();
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        parts.push(value);
        done += value.length;
        onBytes(done, total);
      }
      const n = parts.reduce((s, p) => s + p.length, 0);
      if (n !== f.bytes)
        throw new Error(`${f.path}: ${n} bytes, site.json says ${f.bytes} (a partial or changed file)`);
      const bytes = new Uint8Array(n);
      let at = 0;
      for (const p of parts) (bytes.set(p, at), (at += p.length));
      out.set(f.path, bytes);
    }),
  );
  return out;
}
