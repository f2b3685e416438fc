/**
 * `animgs serve DIR`: a static file server for an exported site (any static server works; this one is there so the
 * package needs nothing else). GET and HEAD only, no listing, nothing outside DIR. Node-only.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { InputError } from '../../io/errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.css': 'text/css',
  '.png': 'image/png',
  '.safetensors': 'application/octet-stream',
};

export interface ServeOptions {
  port?: number;
  host?: string;
}

export async function serveSite(dir: string, opts: ServeOptions = {}): Promise<{ url: string; server: Server }> {
  const root = resolve(dir);
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new InputError(`serve: ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new InputError(`serve: ${dir} is not a folder`);
  const port = opts.port ?? 8080;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new InputError(`--port ${port}: use 0..65535`);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    let path: string;
    try {
      path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    } catch {
      return void res.writeHead(400).end();
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) return void res.writeHead(403).end();
    let size: number;
    try {
      const s = statSync(file);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
    } catch {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new InputError(`serve: cannot listen on ${opts.host ?? '127.0.0.1'}:${port} (${e.code ?? e.message})`)),
    );
    server.listen(port, opts.host ?? '127.0.0.1', () => ok());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return { url: `http://${host}:${a.port}/`, server };
}
