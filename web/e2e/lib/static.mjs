// The web client as a separate front end: built with VITE_API_BASE_URL
// pointing at the API, and served from its own origin by a tiny static file
// server that knows nothing of the API (it answers 404 to /api and /hubs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { webDir } from './server.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** `vite build` into a temporary directory with `VITE_API_BASE_URL=apiBase`; returns the directory. */
export function buildClient(apiBase) {
  const outDir = mkdtempSync(join(tmpdir(), 'rd-web-origin-'));
  execFileSync(join(webDir, 'node_modules/.bin/vite'), ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: webDir,
    env: { ...process.env, VITE_API_BASE_URL: apiBase },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return outDir;
}

/**
 * Serves `dir` on 127.0.0.1:`port` (client routes fall back to index.html).
 * `misdirected` lists the API or hub requests that reached it: there must be none.
 */
export async function serveStatic(dir, port) {
  const misdirected = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path.startsWith('/api/') || path.startsWith('/hubs/') || path.startsWith('/health')) {
      misdirected.push(`${req.method} ${path}`);
      res.writeHead(404).end();
      return;
    }
    let file = join(dir, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch {
      file = join(dir, 'index.html');
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    misdirected,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
