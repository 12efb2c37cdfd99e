// Puts the API reference page into the build (run after `vite build`):
// dist/api-docs/ = index.html + init.js (no inline script) + Swagger UI's
// bundle and stylesheet, copied from swagger-ui-dist. The server serves
// index.html at GET /api/docs and the rest as static files; the page loads
// /api/openapi.json from the same server and nothing from anywhere else.
//
//   node scripts/api-docs.mjs [outDir]   (default: dist)
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(resolve(webDir, process.argv[2] ?? 'dist'), 'api-docs');
const swagger = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const { version } = JSON.parse(readFileSync(join(swagger, 'package.json'), 'utf8'));
mkdirSync(outDir, { recursive: true });

// Swagger UI's files, without their source-map comments (the maps are not shipped)
for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
  const text = readFileSync(join(swagger, file), 'utf8').replace(/\n?\/[/*][#@] sourceMappingURL=\S+?(\s*\*\/)?\s*$/, '\n');
  writeFileSync(join(outDir, file), text);
}
copyFileSync(join(swagger, 'LICENSE'), join(outDir, 'LICENSE.swagger-ui.txt'));
copyFileSync(join(swagger, 'favicon-32x32.png'), join(outDir, 'favicon-32x32.png'));

writeFileSync(
  join(outDir, 'index.html'),
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Request Desk API</title>
    <link rel="icon" type="image/png" href="/api-docs/favicon-32x32.png" />
    <link rel="stylesheet" href="/api-docs/swagger-ui.css" />
  </head>
  <body>
    <noscript>The reference needs JavaScript; the document itself is at <a href="/api/openapi.json">/api/openapi.json</a>.</noscript>
    <div id="swagger-ui"></div>
    <script src="/api-docs/swagger-ui-bundle.js"></script>
    <script src="/api-docs/init.js"></script>
  </body>
</html>
`,
);

writeFileSync(
  join(outDir, 'init.js'),
  `// Swagger UI ${version} (swagger-ui-dist) over this server's OpenAPI document.
window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  displayOperationId: true,
  // no badge from validator.swagger.io: nothing leaves this server
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
`,
);
console.log(`API reference (Swagger UI ${version}) → ${outDir}`);
