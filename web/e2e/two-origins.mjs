// The reference client as a front end on another origin (issue 15, item 6):
// built with VITE_API_BASE_URL=http://127.0.0.1:<apiPort>, served by a plain
// static file server on a second port, talking to a server started with
// CORS_ALLOWED_ORIGINS — REST, the hub over WebSockets, Server-Sent Events
// and long polling, with credentials. And the other side: an origin the
// server does not list gets no CORS header, and the browser keeps the
// answers from the page.
//
//   node --test-reporter=spec e2e/two-origins.mjs   (needs `cargo build --bin request-desk`)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api } from './lib/api.mjs';
import { launchBrowser, openPage, readDay, showDate, signIn, waitForUsed } from './lib/browser.mjs';
import { freePort, startServer } from './lib/server.mjs';
import { buildClient, serveStatic } from './lib/static.mjs';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const TRANSPORT_KEY = 'request-desk.hub-transport';

let browser;
const cleanup = [];

function isoDay(year, monthIndex, day) {
  return new Date(Date.UTC(year, monthIndex, day)).toISOString().slice(0, 10);
}

/** A server on a fixed port, and the client built for it, served from another origin. */
async function twoOrigins(name, cors) {
  const [apiPort, webPort] = [await freePort(), await freePort()];
  const apiBase = `http://127.0.0.1:${apiPort}`;
  const web = await serveStatic(buildClient(apiBase), webPort);
  cleanup.push(web.stop);
  const server = await startServer({
    port: apiPort,
    env: { CORS_ALLOWED_ORIGINS: cors(web.origin) },
    logName: `server-two-origins-${name}.log`,
  });
  cleanup.push(server.stop);
  return { apiBase, web, server, api: new Api(apiBase) };
}

/** Every request and WebSocket the page opens, by URL. */
function recordTraffic(page) {
  const traffic = { requests: [], sockets: [], responses: [] };
  page.on('request', (r) => traffic.requests.push({ url: r.url(), type: r.resourceType(), method: r.method() }));
  page.on('response', (r) => traffic.responses.push(r));
  page.on('websocket', (ws) => traffic.sockets.push(ws.url()));
  return traffic;
}

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  for (const stop of cleanup.reverse()) await stop().catch((e) => console.warn(e));
});

describe('a front end on another origin', { concurrency: false }, () => {
  let setup;
  const dates = {};

  before(async () => {
    setup = await twoOrigins('allowed', (origin) => origin);
    const { today } = await setup.api.settings();
    const [y, m] = today.split('-').map(Number);
    // next month: inside the default 60-day window
    Object.assign(dates, { ws: isoDay(y, m, 6), sse: isoDay(y, m, 7), lp: isoDay(y, m, 8) });
  });

  test('signs in, shows live capacity and hears a booking over WebSockets, all from the API’s origin', async () => {
    const { api, apiBase, web } = setup;
    const { context, page } = await openPage(browser, web.origin);
    cleanup.push(() => context.close());
    const traffic = recordTraffic(page);

    await signIn(page, ALICE);
    await showDate(page, dates.ws);
    assert.equal((await readDay(page, dates.ws)).used, 0);
    await api.book(BOB, dates.ws);
    await waitForUsed(page, dates.ws, 1, 5000);

    const login = traffic.responses.find((r) => r.url() === `${apiBase}/api/auth/login`);
    assert.ok(login, 'the sign-in went to the API’s origin');
    assert.equal(login.status(), 200);
    assert.equal((await login.allHeaders())['access-control-allow-origin'], web.origin);
    assert.equal((await login.allHeaders())['access-control-allow-credentials'], 'true');
    assert.ok(
      traffic.requests.some((r) => r.url.startsWith(`${apiBase}/api/availability?`)),
      'availability came from the API’s origin',
    );
    assert.deepEqual(
      traffic.sockets.map((url) => url.replace(/\?.*/, '')),
      [`${apiBase.replace('http', 'ws')}/hubs/notifications`],
      'one WebSocket, to the API’s hub',
    );
    assert.deepEqual(web.misdirected, [], 'nothing asked the front end’s origin for the API or the hub');
    assert.deepEqual(page.errors, []);
  });

  for (const [transport, date, kind] of [
    ['ServerSentEvents', 'sse', 'eventsource'],
    ['LongPolling', 'lp', 'fetch'],
  ]) {
    test(`the hub negotiates and runs over ${transport} with credentials from the other origin`, async () => {
      const { api, apiBase, web } = setup;
      const { context, page } = await openPage(browser, web.origin);
      cleanup.push(() => context.close());
      await context.addInitScript(([key, value]) => localStorage.setItem(key, value), [TRANSPORT_KEY, transport]);
      const traffic = recordTraffic(page);

      await signIn(page, ALICE);
      await showDate(page, dates[date]);
      const before = (await readDay(page, dates[date])).used;
      await api.book(BOB, dates[date]);
      await waitForUsed(page, dates[date], before + 1, 5000);

      const negotiate = traffic.responses.find((r) => r.url().startsWith(`${apiBase}/hubs/notifications/negotiate`));
      assert.ok(negotiate, 'the client negotiated with the API’s hub');
      assert.equal(negotiate.status(), 200);
      const headers = await negotiate.allHeaders();
      assert.equal(headers['access-control-allow-origin'], web.origin);
      assert.equal(headers['access-control-allow-credentials'], 'true');
      const stream = traffic.requests.filter(
        (r) => r.url.startsWith(`${apiBase}/hubs/notifications?id=`) && r.method === 'GET' && r.type === kind,
      );
      assert.ok(stream.length >= 1, `${transport} requests to the hub (${JSON.stringify(traffic.requests.map((r) => [r.type, r.url]))})`);
      assert.deepEqual(traffic.sockets, [], 'no WebSocket');
      assert.deepEqual(web.misdirected, []);
      assert.deepEqual(page.errors, []);
    });
  }
});

describe('an origin the server does not list', { concurrency: false }, () => {
  let setup;

  before(async () => {
    // the same host by another name is another origin
    setup = await twoOrigins('refused', (origin) => origin.replace('127.0.0.1', 'localhost'));
  });

  test('gets no CORS header, and the browser keeps the API’s answers from the page', async () => {
    const { apiBase, web } = setup;
    const { context, page } = await openPage(browser, web.origin);
    cleanup.push(() => context.close());
    const failed = [];
    const responses = [];
    const blocked = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('response', (r) => responses.push(r));
    page.on('console', (m) => {
      if (m.type() === 'error' && /blocked by CORS policy/.test(m.text())) blocked.push(m.text());
    });

    await page.goto('/signin');
    await page.getByTestId('email').fill(ALICE);
    await page.getByTestId('password').fill('demo-password');
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('signin-error').waitFor();
    assert.match(await page.getByTestId('signin-error').textContent(), /cannot be reached/);
    assert.ok(failed.includes(`${apiBase}/api/auth/login`), `the sign-in was blocked (${failed.join(', ')})`);

    // a simple GET (no preflight): the server answers, the browser withholds it
    const outcome = await page.evaluate(async (url) => {
      try {
        await fetch(url);
        return 'read';
      } catch (error) {
        return `${error.name}`;
      }
    }, `${apiBase}/api/settings/public`);
    assert.equal(outcome, 'TypeError', 'the page could not read the answer');
    assert.ok(failed.includes(`${apiBase}/api/settings/public`));
    for (const response of responses.filter((r) => r.url().startsWith(apiBase))) {
      assert.equal((await response.allHeaders())['access-control-allow-origin'], undefined, response.url());
    }
    await page.waitForTimeout(100); // console messages arrive asynchronously
    assert.ok(blocked.length >= 2, `Chromium blamed CORS for both (${blocked.join(' | ')})`);

    // the same requests as the browser makes them, read from outside it
    const simple = await fetch(`${apiBase}/api/settings/public`, { headers: { Origin: web.origin } });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers.get('access-control-allow-origin'), null);
    assert.equal(simple.headers.get('access-control-allow-credentials'), null);
    const preflight = await fetch(`${apiBase}/api/auth/login`, {
      method: 'OPTIONS',
      headers: { Origin: web.origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-methods'), null);
    assert.deepEqual(web.misdirected, []);
  });
});
