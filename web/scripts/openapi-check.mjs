// Fails when the committed wire types are stale:
//   1. src/api/openapi.d.ts must be what openapi-typescript makes of src/api/openapi.json;
//   2. src/api/openapi.json must be what the server prints (`request-desk openapi`), when a
//      server binary is there (REQUEST_DESK_BIN, else ../target/debug/request-desk).
// `npm run openapi:update` refreshes both.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS from 'openapi-typescript';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const documentPath = join(webDir, 'src/api/openapi.json');
const typesPath = join(webDir, 'src/api/openapi.d.ts');
let failed = false;

const generated = await openapiTS(new URL(`file://${documentPath}`));
if (generated !== readFileSync(typesPath, 'utf8')) {
  console.error('src/api/openapi.d.ts is stale: run `npm run openapi:types`');
  failed = true;
} else {
  console.log('src/api/openapi.d.ts matches src/api/openapi.json');
}

const binary = process.env.REQUEST_DESK_BIN ?? resolve(webDir, '../target/debug/request-desk');
if (existsSync(binary)) {
  const served = execFileSync(binary, ['openapi'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (served !== readFileSync(documentPath, 'utf8')) {
    console.error(`src/api/openapi.json differs from \`${binary} openapi\`: run \`npm run openapi:update\``);
    failed = true;
  } else {
    console.log(`src/api/openapi.json matches \`${binary} openapi\``);
  }
} else {
  console.log(`no server binary at ${binary}: the document itself was not compared`);
}
process.exit(failed ? 1 : 0);
