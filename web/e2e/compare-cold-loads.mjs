// Cold loads of two (or more) builds of the web client, interleaved, so that
// each sees the same load on the machine: one server per build (the same
// binary, a fresh database each), a new browser context per load, navigation
// → hub connected measured as Test 5 does (lib/coldLoad.mjs).
//
//   node e2e/compare-cold-loads.mjs [--loads 20] <dist> <dist> ...
//
// e.g. a build of the previous commit in /tmp/before/web/dist against this
// one's web/dist. Needs what the e2e suite needs (a server binary, Chromium,
// PostgreSQL; see docs/web.md).
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Api } from './lib/api.mjs';
import { launchBrowser } from './lib/browser.mjs';
import { freshPage, measureLoad, percentile } from './lib/coldLoad.mjs';
import { startServer } from './lib/server.mjs';

const { values, positionals } = parseArgs({ options: { loads: { type: 'string', default: '20' } }, allowPositionals: true });
const loads = Number(values.loads);
if (positionals.length < 1 || !(loads > 0)) {
  console.error('usage: node e2e/compare-cold-loads.mjs [--loads N] <dist> [<dist> ...]');
  process.exit(2);
}
const dists = positionals.map((d) => resolve(d));
const servers = [];
let browser;
try {
  for (const [i, dist] of dists.entries()) {
    servers.push(await startServer({ env: { WEB_DIST_DIR: dist }, logName: `compare-cold-loads-${i}.log` }));
  }
  browser = await launchBrowser();
  const sessions = await Promise.all(servers.map((s) => new Api(s.base).login('bob@example.com')));
  const seen = dists.map(() => []);
  const loadBefore = loadavg()[0];
  for (let i = 0; i < loads; i++) {
    for (const [k, server] of servers.entries()) {
      const page = await freshPage(browser, server.base, sessions[k]);
      seen[k].push((await measureLoad(page))[1]);
      await page.context().close();
    }
  }
  const load = ((loadBefore + loadavg()[0]) / 2 / cpus().length).toFixed(2);
  console.log(`navigation → hub connected, ${loads} cold loads each, interleaved (1-min load per core ~${load})`);
  for (const [k, dist] of dists.entries()) {
    console.log(`  p50 ${percentile(seen[k], 50)} ms  p95 ${percentile(seen[k], 95)} ms  ${dist}`);
  }
} finally {
  await browser?.close();
  for (const server of servers) await server.stop();
}
