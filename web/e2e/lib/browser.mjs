// Real Chromium (Debian's package) through playwright-core: no browser download.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { PASSWORD } from './api.mjs';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * `bfcache`: keep Chromium's back-forward cache on (playwright-core turns it
 * off by default, so that `goBack()` always reloads).
 */
export async function launchBrowser({ bfcache = false } = {}) {
  const executablePath = CANDIDATES.find((p) => p && existsSync(p));
  if (!executablePath) throw new Error('no Chromium found: apt-get install -y chromium (or set CHROMIUM_PATH)');
  return chromium.launch({
    executablePath,
    ignoreDefaultArgs: bfcache ? ['--disable-back-forward-cache'] : undefined,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh browser context (its own storage: another person) with one page; `scale`: device pixels per CSS pixel. */
export async function openPage(browser, base, { lang = 'en', scale = 1 } = {}) {
  const context = await browser.newContext({
    baseURL: base,
    viewport: { width: 1280, height: 960 },
    deviceScaleFactor: scale,
    locale: lang === 'fa' ? 'fa-IR' : 'en-US',
    timezoneId: 'UTC',
  });
  // The language is remembered in localStorage; set it before any script runs.
  await context.addInitScript((l) => {
    if (!localStorage.getItem('request-desk.lang')) localStorage.setItem('request-desk.lang', l);
  }, lang);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.errors = errors;
  // what the hub sent this page (text frames of the JSON protocol), for diagnostics
  const hubEvents = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      for (const record of String(payload).split('\u001e')) {
        if (record.includes('"target"')) hubEvents.push({ at: Date.now(), ...JSON.parse(record) });
      }
    }),
  );
  page.hubEvents = hubEvents;
  return { context, page };
}

/** Signs in through the sign-in screen and waits for a live hub connection. */
export async function signIn(page, email) {
  await page.goto('/signin');
  await page.getByTestId('email').fill(email);
  await page.getByTestId('password').fill(PASSWORD);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('calendar').waitFor();
  await waitConnected(page);
}

export async function waitConnected(page, timeout = 10_000) {
  await page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout });
}

export function dayButton(page, date, scope) {
  return (scope ?? page).locator(`[data-testid="calendar"] [data-date="${date}"]`).first();
}

/** Pages the (first, or scoped) calendar forward until `date` is shown and loaded. */
export async function showDate(page, date, scope) {
  const root = scope ?? page;
  for (let i = 0; i < 14; i++) {
    const cell = dayButton(page, date, scope);
    if (await cell.count()) {
      await page.waitForFunction(
        (d) => document.querySelector(`[data-date="${d}"]`)?.getAttribute('data-status') !== 'loading',
        date,
      );
      return cell;
    }
    await root.getByTestId('calendar-next').first().click();
  }
  throw new Error(`${date} never appeared in the calendar`);
}

/** What a day cell shows: numbers (from data attributes) and status. */
export async function readDay(page, date) {
  return page.evaluate((d) => {
    const el = document.querySelector(`[data-testid="calendar"] [data-date="${d}"]`);
    if (!el) return null;
    const num = (name) => (el.getAttribute(name) === null ? null : Number(el.getAttribute(name)));
    return {
      used: num('data-used'),
      capacity: num('data-capacity'),
      remaining: num('data-remaining'),
      status: el.getAttribute('data-status'),
      label: el.getAttribute('aria-label'),
      text: el.textContent,
    };
  }, date);
}

/** Resolves when the day shows `used`; returns how long that took. */
export async function waitForUsed(page, date, used, timeout = 10_000) {
  const started = Date.now();
  await page.waitForFunction(
    ([d, u]) => document.querySelector(`[data-testid="calendar"] [data-date="${d}"]`)?.getAttribute('data-used') === String(u),
    [date, used],
    { timeout, polling: 'raf' },
  );
  return Date.now() - started;
}

/** Marks the page; a reload would lose the mark. */
export async function markPage(page) {
  await page.evaluate(() => {
    window.__e2eMarker = 'no-reload';
  });
}

export async function stillMarked(page) {
  return page.evaluate(() => window.__e2eMarker === 'no-reload');
}

/** Counts the availability range fetches the page makes from now on. */
export function countAvailabilityFetches(page) {
  const seen = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/availability') seen.push(request.url());
  });
  return seen;
}
