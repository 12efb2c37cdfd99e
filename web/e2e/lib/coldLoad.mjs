// Navigation → hub connected, as a page measures it (its `hub-start` and
// `hub-connected` performance marks), without running anything in the page
// while it loads: a locator would put Playwright's injected script on the
// page's main thread (~10 ms) in the middle of what is measured. The hub's
// reply to the handshake is watched from outside, through the browser's
// network events; the marks are read after it.
import { openPage } from './browser.mjs';

/** Opens `path` in `page`; resolves to [hub started, hub connected] in ms after navigation. */
export async function measureLoad(page, path = '/new') {
  const replied = hubReplied(page);
  await page.goto(path);
  await replied;
  const marks = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const read = () => ['hub-start', 'hub-connected'].map((name) => performance.getEntriesByName(name)[0]?.startTime);
        const poll = (tries) => (read()[1] > 0 || tries === 0 ? resolve(read()) : setTimeout(() => poll(tries - 1), 10));
        poll(500);
      }),
  );
  if (!(marks[1] > 0)) throw new Error('the page did not mark when the hub connected');
  return marks.map(Math.round);
}

/** A new browser context (no cache, no connection to reuse) signed in as `session`, with one page. */
export async function freshPage(browser, base, session) {
  const { context, page } = await openPage(browser, base);
  await context.addInitScript((s) => localStorage.setItem('request-desk.session', JSON.stringify(s)), session);
  return page;
}

/** The `q`th percentile of `list` (nearest rank). */
export function percentile(list, q) {
  return [...list].sort((x, y) => x - y)[Math.min(list.length - 1, Math.ceil((q / 100) * list.length) - 1)];
}

/** Resolves when the first of `page`'s WebSockets receives its first frame (the hub's reply to the handshake). */
export function hubReplied(page, timeout = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      page.off('websocket', onSocket);
      reject(new Error(`no WebSocket of the page received anything within ${timeout} ms`));
    }, timeout);
    const onSocket = (ws) =>
      ws.once('framereceived', () => {
        clearTimeout(timer);
        page.off('websocket', onSocket);
        resolve();
      });
    page.on('websocket', onSocket);
  });
}
