// End-to-end tests in real Chromium: the old system's test plan, automated.
// Starts the server binary over a fresh database (see lib/server.mjs), opens
// several browser contexts — several people — and checks that capacity
// changes reach everyone in place, without reloads, online or after being
// offline. Saves the picker screenshots to docs/screenshots/.
//
//   npm run e2e   (needs `npm run build` and `cargo build --bin request-desk`)
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Api } from './lib/api.mjs';
import {
  countAvailabilityFetches,
  dayButton,
  launchBrowser,
  markPage,
  openPage,
  readDay,
  showDate,
  signIn,
  stillMarked,
  waitConnected,
  waitForUsed,
} from './lib/browser.mjs';
import { repoDir, startServer } from './lib/server.mjs';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const ADMIN = 'admin@example.com';
const DESIGNER = 'designer@example.com';
const JALALI_MONTHS = ['فروردین', 'اردیبهشت', 'خرداد', 'تیر', 'مرداد', 'شهریور', 'مهر', 'آبان', 'آذر', 'دی', 'بهمن', 'اسفند'];

let server;
let api;
let browser;
const opened = [];
/** Dates in next (Gregorian) month: days 2–5 for the screenshots, 6+ for the tests. */
const dates = {};
/** What Test 1 saw on B's side, for the test after it. */
const firstBooking = {};

function isoDay(year, monthIndex, day) {
  return new Date(Date.UTC(year, monthIndex, day)).toISOString().slice(0, 10);
}

async function page(email, options) {
  const opened_ = await openPage(browser, server.base, options);
  opened.push(opened_.context);
  if (email) await signIn(opened_.page, email);
  return opened_.page;
}

function figure(name, value) {
  // a figure in the output, not a pass/fail
  console.log(`# FIGURE ${name}: ${value}`);
}

before(async () => {
  server = await startServer();
  api = new Api(server.base);
  browser = await launchBrowser();
  const settings = await api.settings();
  const [y, m] = settings.today.split('-').map(Number);
  // next month: always inside the default 60-day window (days 1–28)
  const d = (n) => isoDay(y, m, n);
  Object.assign(dates, {
    available: d(2),
    limited: d(3),
    full: d(4),
    closed: d(5),
    t1: d(6),
    t2: d(7),
    t3from: d(8),
    t3to: d(9),
    t4: d(10),
    warn: d(11),
    keyboard: d(12),
    queue: d(13),
    admin: d(14),
    settings: d(15),
  });
  assert.ok(dates.settings <= settings.maxDate, `test dates must be inside the booking window (${settings.maxDate})`);
});

after(async () => {
  for (const context of opened) await context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

describe('live capacity in real Chromium', { concurrency: false }, () => {
  test('Test 1: B sees A’s booking in place within 1 s, keeping B’s typing, without a reload', async () => {
    const a = await page(ALICE);
    const b = await page(BOB);
    await showDate(a, dates.t1);
    await showDate(b, dates.t1);
    assert.equal((await readDay(b, dates.t1)).used, 0);

    const title = b.getByTestId('title-input');
    await title.click();
    await title.pressSequentially('Half-typed tit');
    await markPage(b);
    const fetches = countAvailabilityFetches(b);

    await dayButton(a, dates.t1).click();
    await a.getByTestId('title-input').fill('Poster for the spring fair');
    const created = a.waitForResponse((r) => r.url().endsWith('/api/requests') && r.request().method() === 'POST');
    await a.getByTestId('submit-request').click();
    assert.equal((await created).status(), 201);
    const booked = Date.now();

    await waitForUsed(b, dates.t1, 1, 1000);
    const latency = Date.now() - booked;
    figure('Test 1 booking → other browser shows it (ms)', latency);
    assert.ok(latency <= 1000, `B showed the booking after ${latency} ms`);

    const shown = await readDay(b, dates.t1);
    assert.deepEqual(
      { used: shown.used, capacity: shown.capacity, remaining: shown.remaining },
      { used: 1, capacity: 10, remaining: 9 },
    );
    assert.equal(await title.inputValue(), 'Half-typed tit', 'B’s half-typed title is kept');
    assert.equal(await b.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'title-input', 'focus stays in the title');
    assert.ok(await stillMarked(b), 'B’s page did not reload');
    // checked by the next test, so that this one reports the test plan's own points
    firstBooking.fetches = fetches;
    firstBooking.settingsEvents = b.hubEvents.filter((e) => e.target === 'CapacitySettingsChanged');
    assert.match(await b.getByTestId('toasts').textContent(), /booked/);
    assert.equal(await dayButton(b, dates.t1).getAttribute('data-highlighted'), 'true', 'the changed day is highlighted');
    await a.getByTestId('form-success').waitFor();
  });

  test('Test 1 (cont.): the booking reached B as one day’s numbers — no settings event, no refetch of the range', () => {
    assert.ok(firstBooking.fetches, 'Test 1 ran');
    assert.deepEqual(
      firstBooking.settingsEvents,
      [],
      'the server sent CapacitySettingsChanged although no setting changed (server side: it makes every client refetch)',
    );
    assert.deepEqual(firstBooking.fetches, [], 'B refetched the range');
  });

  test('Test 2: two people book the same day at once; all three browsers end on the database’s numbers', async () => {
    await api.override(dates.t2, 2, 'two slots');
    const [a, b, c] = [await page(ALICE), await page(BOB), await page(DESIGNER)];
    for (const p of [a, b, c]) await showDate(p, dates.t2);
    for (const p of [a, b, c]) await markPage(p);
    for (const [p, who] of [[a, 'A'], [b, 'B']]) {
      await dayButton(p, dates.t2).click();
      await p.getByTestId('title-input').fill(`Same-day request from ${who}`);
    }
    const responses = [a, b].map((p) =>
      p.waitForResponse((r) => r.url().endsWith('/api/requests') && r.request().method() === 'POST'),
    );
    await Promise.all([a.getByTestId('submit-request').click(), b.getByTestId('submit-request').click()]);
    const statuses = (await Promise.all(responses)).map((r) => r.status());
    assert.deepEqual(statuses, [201, 201]);

    const truth = await api.day(dates.t2);
    assert.equal(truth.used, 2);
    for (const p of [a, b, c]) {
      await waitForUsed(p, dates.t2, truth.used, 2000);
      const shown = await readDay(p, dates.t2);
      assert.deepEqual(
        { used: shown.used, capacity: shown.capacity, remaining: shown.remaining, status: shown.status },
        { used: truth.used, capacity: truth.capacity, remaining: truth.remaining, status: truth.status },
      );
      assert.ok(await stillMarked(p));
    }
    assert.equal(truth.status, 'full');
  });

  test('Test 3: A moves a request to another day; B sees both days change', async () => {
    const request = await api.book(ALICE, dates.t3from, 'Brochure to move');
    const b = await page(BOB);
    await showDate(b, dates.t3from);
    assert.equal((await readDay(b, dates.t3from)).used, 1);
    assert.equal((await readDay(b, dates.t3to)).used, 0);
    await markPage(b);

    const a = await page(ALICE);
    await a.getByTestId('nav-requests').click();
    await a.getByTestId(`edit-${request.id}`).click();
    const panel = a.getByTestId('edit-panel');
    await showDate(a, dates.t3to, panel);
    await panel.locator(`[data-date="${dates.t3to}"]`).click();
    await panel.getByTestId('save-request').click();
    await a.getByTestId('mine-notice').waitFor();

    await waitForUsed(b, dates.t3from, 0, 2000);
    await waitForUsed(b, dates.t3to, 1, 2000);
    assert.ok(await stillMarked(b));
    const moved = await api.as(ALICE, 'GET', `/api/requests/${request.id}`);
    assert.equal(moved.dueDate, dates.t3to);
  });

  test('Test 4: B goes offline, bookings happen, B comes back and shows the right numbers without a reload', async () => {
    const b = await page(BOB);
    await showDate(b, dates.t4);
    await markPage(b);
    const before = await readDay(b, dates.t4);
    const catchUpsBefore = await b.evaluate(() => window.__requestDesk.catchUps);
    const fetches = countAvailabilityFetches(b);

    await b.context().setOffline(true);
    await b.locator('[data-testid="connection"][data-state="offline"]').waitFor({ timeout: 5000 });

    await api.book(ALICE, dates.t4, 'booked while B was offline 1');
    await api.book(ADMIN, dates.t4, 'booked while B was offline 2');
    await api.override(dates.t4, 7);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await readDay(b, dates.t4)).used, before.used, 'offline, B cannot have heard of it');

    await b.context().setOffline(false);
    await waitConnected(b);
    const truth = await api.day(dates.t4);
    await waitForUsed(b, dates.t4, truth.used, 5000);
    const shown = await readDay(b, dates.t4);
    assert.deepEqual(
      { used: shown.used, capacity: shown.capacity, remaining: shown.remaining, status: shown.status },
      { used: truth.used, capacity: truth.capacity, remaining: truth.remaining, status: truth.status },
    );
    assert.ok(await stillMarked(b), 'no reload');
    assert.ok((await b.evaluate(() => window.__requestDesk.catchUps)) > catchUpsBefore, 'caught up through GetCapacityChangesSince');
    assert.deepEqual(fetches, [], 'caught up from the changes, not by refetching the range');
  });

  test('Test 5: time from navigation to the hub being connected (a figure)', async () => {
    const session = await api.login(BOB);
    const { context, page: p } = await openPage(browser, server.base);
    opened.push(context);
    await context.addInitScript((s) => localStorage.setItem('request-desk.session', JSON.stringify(s)), session);
    const runs = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await p.goto('/new');
      await waitConnected(p);
      const wall = Date.now() - started;
      const mark = await p.evaluate(() => performance.getEntriesByName('hub-connected')[0]?.startTime);
      assert.ok(mark > 0, 'the page marks when the hub connected');
      runs.push({ mark: Math.round(mark), wall });
    }
    const marks = runs.map((r) => r.mark).sort((x, y) => x - y);
    figure('Test 5 navigation → hub connected, first load (ms)', runs[0].mark);
    figure('Test 5 navigation → hub connected, median of 5 (ms)', marks[2]);
    figure('Test 5 all runs (performance mark ms / wall-clock ms)', runs.map((r) => `${r.mark}/${r.wall}`).join(', '));
  });
});

describe('form behaviour', { concurrency: false }, () => {
  test('the selected day filling up is flagged at once, and submitting then shows capacity_full inline', async () => {
    await api.override(dates.warn, 1);
    const a = await page(ALICE);
    await showDate(a, dates.warn);
    await dayButton(a, dates.warn).click();
    await a.getByTestId('title-input').fill('Too late for this day');
    await api.book(BOB, dates.warn, 'took the last slot');
    await a.getByTestId('selected-day-warning').waitFor({ timeout: 1000 });
    assert.match(await a.getByTestId('selected-day-warning').textContent(), /just become full/);
    assert.equal(await a.getByTestId('title-input').inputValue(), 'Too late for this day');
    await a.getByTestId('submit-request').click();
    await a.getByTestId('dueDate-error').waitFor();
    assert.match(await a.getByTestId('dueDate-error').textContent(), /is full \(1 of 1 booked\)/);
    assert.equal(await a.getByTestId('title-input').inputValue(), 'Too late for this day', 'the form keeps the input');
  });

  test('inline validation errors, and registration', async () => {
    const { page: p } = await openPage(browser, server.base).then((o) => (opened.push(o.context), o));
    await p.goto('/register');
    await p.getByTestId('display-name').fill('Carol');
    await p.getByTestId('email').fill('carol@example.com');
    await p.getByTestId('password').fill('short');
    await p.getByTestId('register-submit').click();
    await p.getByTestId('password-error').waitFor();
    await p.getByTestId('password').fill('long-enough-password');
    await p.getByTestId('register-submit').click();
    await p.getByTestId('signin-form').waitFor();
    await p.getByTestId('password').fill('long-enough-password');
    await p.getByTestId('signin-submit').click();
    await p.getByTestId('calendar').waitFor();
    await p.getByTestId('submit-request').click();
    await p.getByTestId('title-error').waitFor();
    await p.getByTestId('dueDate-error').waitFor();

    // the same email again: the server's conflict, shown on the email field
    const { page: q } = await openPage(browser, server.base).then((o) => (opened.push(o.context), o));
    await q.goto('/register');
    await q.getByTestId('display-name').fill('Carol again');
    await q.getByTestId('email').fill('CAROL@example.com');
    await q.getByTestId('password').fill('long-enough-password');
    await q.getByTestId('register-submit').click();
    assert.match(await q.getByTestId('email-error').textContent(), /already exists/);
  });

  test('the designer changes a status; the requester’s bell counts it live', async () => {
    const request = await api.book(ALICE, dates.queue, 'Logo refresh');
    const a = await page(ALICE);
    const count = async () => Number((await a.getByTestId('bell-count').getAttribute('data-count').catch(() => '0')) ?? 0);
    const unreadBefore = (await api.as(ALICE, 'GET', '/api/notifications')).unreadCount;
    await a.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="bell-count"]')?.getAttribute('data-count') ?? 0) === n,
      unreadBefore,
    );
    await markPage(a);
    const d = await page(DESIGNER);
    await d.getByTestId('nav-queue').click();
    await d.getByTestId(`status-${request.id}-in_progress`).click();
    await d.getByTestId('queue-notice').waitFor();
    await a.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="bell-count"]')?.getAttribute('data-count') ?? 0) === n,
      unreadBefore + 1,
      { timeout: 2000 },
    );
    assert.equal(await count(), unreadBefore + 1);
    assert.ok(await stillMarked(a));
    await a.getByTestId('bell').click();
    assert.match(await a.getByTestId('bell-panel').textContent(), /Logo refresh|in progress|in_progress/i);
  });
});

describe('languages and accessibility', { concurrency: false }, () => {
  test('the calendar works from the keyboard, and each day’s name has date, status and remaining', async () => {
    const a = await page(ALICE);
    const cell = await showDate(a, dates.keyboard);
    await cell.focus();
    const label = await cell.getAttribute('aria-label');
    assert.match(label, /\d{4}/, 'the date');
    assert.match(label, /Available|Limited|Full/, 'the status');
    assert.match(label, /\d+ of \d+ left/, 'the remaining slots');
    assert.equal(await a.locator('[data-testid="calendar"] button[data-date][tabindex="0"]').count(), 1, 'one day in the tab order');
    const focused = () => a.evaluate(() => document.activeElement?.getAttribute('data-date'));
    await a.keyboard.press('ArrowRight');
    const next = await focused();
    assert.equal(next, new Date(Date.parse(dates.keyboard) + 86_400_000).toISOString().slice(0, 10));
    await a.keyboard.press('ArrowDown');
    assert.equal(await focused(), new Date(Date.parse(next) + 7 * 86_400_000).toISOString().slice(0, 10));
    await a.keyboard.press('ArrowUp');
    await a.keyboard.press('ArrowLeft');
    assert.equal(await focused(), dates.keyboard);
    await a.keyboard.press('Enter');
    assert.equal(await a.getByTestId('selected-day').getAttribute('data-date'), dates.keyboard);
    await a.keyboard.press('PageDown');
    assert.notEqual(await focused(), dates.keyboard);
  });

  test('Persian: right-to-left, Jalali month name, Persian digits', async () => {
    const p = await page(ALICE, { lang: 'fa' });
    assert.equal(await p.evaluate(() => document.documentElement.dir), 'rtl');
    assert.equal(await p.evaluate(() => document.documentElement.lang), 'fa-IR');
    const title = await p.getByTestId('calendar-title').textContent();
    assert.ok(JALALI_MONTHS.some((m) => title.includes(m)), `a Jalali month name in “${title}”`);
    assert.match(title, /[۰-۹]{4}/, 'a Jalali year in Persian digits');
    assert.doesNotMatch(title, /[0-9]/);
    const cell = await showDate(p, dates.t1);
    assert.match(await cell.getAttribute('aria-label'), /[۰-۹]/);
    assert.equal(await p.getByTestId('submit-request').textContent(), 'ثبت درخواست');
    // arrows follow the reading direction: left is the next day in RTL
    await cell.focus();
    await p.keyboard.press('ArrowLeft');
    assert.equal(
      await p.evaluate(() => document.activeElement?.getAttribute('data-date')),
      new Date(Date.parse(dates.t1) + 86_400_000).toISOString().slice(0, 10),
    );
  });

  test('screenshots of the picker with a day at each status (English and Persian)', async () => {
    await api.book(ALICE, dates.available, 'one of ten');
    await api.override(dates.limited, 5);
    for (let i = 0; i < 3; i++) await api.book(BOB, dates.limited, `limited ${i}`);
    await api.override(dates.full, 2);
    for (let i = 0; i < 2; i++) await api.book(ALICE, dates.full, `full ${i}`);
    await api.override(dates.closed, 0, 'team offsite');
    const expected = { available: 'available', limited: 'limited', full: 'full', closed: 'closed' };

    const dir = join(repoDir, 'docs/screenshots');
    mkdirSync(dir, { recursive: true });
    for (const lang of ['en', 'fa']) {
      const p = await page(ALICE, { lang });
      await showDate(p, dates.available);
      for (const [key, status] of Object.entries(expected)) {
        assert.equal((await readDay(p, dates[key])).status, status, `${key} day`);
      }
      assert.match((await readDay(p, dates.limited)).text, lang === 'en' ? /2 left/ : /۲ جای خالی/);
      await dayButton(p, dates.available).click();
      await p.getByTestId('title-input').fill(lang === 'en' ? 'Poster for the spring fair' : 'پوستر نمایشگاه بهاره');
      await p.evaluate(() => document.activeElement?.blur());
      await p.mouse.move(0, 0);
      await p.screenshot({ path: join(dir, `picker-${lang}.png`) });
    }
  });

  test('admin: a per-date override in the admin page and a settings change reach a requester live', async () => {
    const a = await page(ALICE);
    await showDate(a, dates.admin);
    await markPage(a);
    const admin = await page(ADMIN);
    await admin.getByTestId('nav-admin').click();
    const overrides = admin.locator('.admin-overrides');
    const cell = await showDate(admin, dates.admin, overrides);
    await cell.click();
    await admin.getByTestId('override-capacity').fill('3');
    await admin.getByTestId('set-override').click();
    await admin.getByTestId('override-notice').waitFor();
    await a.waitForFunction(
      (d) => document.querySelector(`[data-date="${d}"]`)?.getAttribute('data-capacity') === '3',
      dates.admin,
      { timeout: 2000 },
    );

    // the daily capacity: CapacitySettingsChanged makes every client refetch
    await admin.getByTestId('daily-capacity').fill('12');
    await admin.getByTestId('save-settings').click();
    await admin.getByTestId('settings-saved').waitFor();
    await a.waitForFunction(
      (d) => document.querySelector(`[data-date="${d}"]`)?.getAttribute('data-capacity') === '12',
      dates.settings,
      { timeout: 3000 },
    );
    assert.ok(await stillMarked(a));
    const settings = await api.settings();
    await api.as(ADMIN, 'PUT', '/api/settings', { ...settings, dailyCapacity: 10 });
  });

  test('no page errors in any browser', () => {
    // checked last: every page opened by the tests above
    for (const context of opened) {
      for (const p of context.pages()) assert.deepEqual(p.errors ?? [], [], `page errors on ${p.url()}`);
    }
  });
});
