/// <reference types="node" />
// The committed wire types are what openapi-typescript makes of the
// committed document (`npm run openapi:types` refreshes them; `npm run
// openapi:check` also compares the document with the server's).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

const documentUrl = new URL('./openapi.json', import.meta.url);
const typesPath = fileURLToPath(new URL('./openapi.d.ts', import.meta.url));

describe('openapi.d.ts', () => {
  it('is generated from openapi.json as committed (else run `npm run openapi:types`)', async () => {
    const generated = await openapiTS(documentUrl);
    expect(generated === readFileSync(typesPath, 'utf8'), 'src/api/openapi.d.ts is stale: run `npm run openapi:types`').toBe(true);
  });

  it('describes the hub events the live layer handles', () => {
    const document = JSON.parse(readFileSync(fileURLToPath(documentUrl), 'utf8'));
    for (const name of ['CapacityUpdated', 'CapacitySettingsChanged', 'Notification', 'InboxUpdated']) {
      expect(document.components.schemas, name).toHaveProperty(name);
    }
  });
});
