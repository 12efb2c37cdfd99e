// Compresses the build once, so that the server never has to on a request
// (run last in `npm run build`): every text file in dist of 1 KiB or more
// gets a brotli (`.br`, quality 11) and a gzip (`.gz`, level 9) copy beside
// it, kept only if smaller. The server (crates/server/src/web_client.rs)
// sends such a copy as is, with `Content-Encoding`, to a browser that accepts
// it; anything without one is still compressed as it is sent.
//
//   node scripts/precompress.mjs [outDir]   (default: dist)
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(webDir, process.argv[2] ?? 'dist');
const TEXT = new Set(['.js', '.mjs', '.css', '.html', '.json', '.svg', '.txt', '.xml']);
const MIN_SIZE = 1024;

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

const started = performance.now();
let original = 0;
let brotli = 0;
let count = 0;
for (const path of files(outDir)) {
  if (!TEXT.has(extname(path)) || statSync(path).size < MIN_SIZE) continue;
  const data = readFileSync(path);
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const gz = gzipSync(data, { level: 9 });
  if (br.length < data.length) writeFileSync(`${path}.br`, br);
  if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
  original += data.length;
  brotli += Math.min(br.length, data.length);
  count += 1;
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `precompressed ${count} files in ${outDir}: ${kib(original)} → ${kib(brotli)} brotli (${Math.round(performance.now() - started)} ms)`,
);
