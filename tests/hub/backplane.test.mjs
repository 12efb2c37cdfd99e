// The backplane: several instances on one PostgreSQL, PostgreSQL itself
// restarting, and an instance killed mid-burst. Every committed change must
// reach every client, on whichever instance it is connected.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import {
  CapacityWatcher,
  USERS,
  addDays,
  availability,
  book,
  freePort,
  localDb,
  hubConnection,
  login,
  numbers,
  publicSettings,
  signalR,
  sleep,
  signedInEnvironment,
  startServer,
  waitFor,
} from "./lib/harness.mjs";

const execFileAsync = promisify(execFile);

let env;
let sibling;
let tokens;
let today;

before(async () => {
  ({ env, tokens, today } = await signedInEnvironment());
  sibling = await env.startSibling();
});

after(async () => {
  await sibling?.stop();
  await env?.teardown();
});

/** A watcher connected to `server` (not necessarily env's). */
function watcherOn(server, token, range) {
  const view = { ...env, get baseUrl() { return server.baseUrl; }, hubUrl: () => `${server.baseUrl}/hubs/notifications` };
  return new CapacityWatcher(view, token, signalR.HttpTransportType.WebSockets, range);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

test("a booking through one instance reaches a client of the other within a second, with its numbers", async () => {
  const date = addDays(today, 3);
  const watcher = await watcherOn(sibling, tokens.bob, { from: date, to: date }).start();
  try {
    const latencies = [];
    for (let i = 0; i < 40; i += 1) {
      const before = watcher.events.length;
      const res = await book(env.baseUrl, tokens.alice, addDays(today, 3 + (i % 20)), `cross-instance ${i}`);
      const answered = Date.now();
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const event = await waitFor(() => watcher.events.slice(before).find((e) => e.day.version >= 0 && e.day.date === res.body.dueDate), {
        timeoutMs: 1000,
        what: `the event for booking ${i} on the other instance`,
      });
      latencies.push(Math.max(0, event.at - answered));
    }
    latencies.sort((a, b) => a - b);
    console.log(`# cross-instance delivery (booking answered on A → CapacityUpdated on B), n=${latencies.length}: p50=${percentile(latencies, 50)} ms p99=${percentile(latencies, 99)} ms max=${latencies.at(-1)} ms`);
    const db = await availability(env.baseUrl, tokens.bob, date, date);
    await waitFor(() => watcher.day(date)?.version === db.days[0].version, { what: "the watcher to match the database" });
    assert.deepEqual(numbers(watcher.day(date)), numbers(db.days[0]));
  } finally {
    await watcher.stop();
  }
});

test("each change reaches each client once, on the booking instance and on the other", async () => {
  const date = addDays(today, 40);
  const here = await watcherOn(env.server, tokens.bob, { from: date, to: date }).start();
  const there = await watcherOn(sibling, tokens.bob, { from: date, to: date }).start();
  try {
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await book(env.baseUrl, tokens.alice, date, `once ${i}`)).status, 201);
    }
    await waitFor(() => here.day(date)?.used === 5 && there.day(date)?.used === 5, { what: "both watchers to see five bookings" });
    await sleep(300);
    for (const [name, w] of [["booking instance", here], ["other instance", there]]) {
      const versions = w.events.filter((e) => e.day.date === date).map((e) => e.day.version);
      assert.equal(new Set(versions).size, versions.length, `${name} got duplicates: ${versions}`);
    }
  } finally {
    await here.stop();
    await there.stop();
  }
});

test("a user's notification reaches them on the other instance", async () => {
  const connection = hubConnection({ hubUrl: () => `${sibling.baseUrl}/hubs/notifications` }, tokens.alice, signalR.HttpTransportType.WebSockets);
  const received = [];
  const inbox = [];
  connection.on("NotificationReceived", (n) => received.push(n));
  connection.on("InboxUpdated", (u) => inbox.push(u));
  await connection.start();
  try {
    const res = await book(env.baseUrl, tokens.alice, addDays(today, 25), "needs a status change");
    assert.equal(res.status, 201);
    const patch = await fetch(`${env.baseUrl}/api/requests/${res.body.id}/status`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${tokens.designer}`, "content-type": "application/json" },
      body: JSON.stringify({ status: "in_progress" }),
    });
    assert.equal(patch.status, 200);
    const n = await waitFor(() => received.find((x) => x.requestId === res.body.id), { timeoutMs: 2000, what: "NotificationReceived on the other instance" });
    assert.equal(n.kind, "StatusChanged");
    await waitFor(() => inbox.length > 0, { what: "InboxUpdated" });
    assert.ok(inbox.at(-1).unreadCount >= 1);
    assert.equal(received.filter((x) => x.id === n.id).length, 1, "delivered once");
  } finally {
    await connection.stop();
  }
});

test("kill -9 of one instance during a burst loses no committed booking and leaves the database consistent", async () => {
  const victim = await env.startSibling();
  const dates = [0, 1, 2, 3].map((i) => addDays(today, 30 + i));
  const attempts = [];
  for (let i = 0; i < 80; i += 1) {
    const target = i % 2 === 0 ? victim : sibling;
    attempts.push(
      book(target.baseUrl, i % 3 === 0 ? tokens.alice : tokens.bob, dates[i % dates.length], `burst ${i}`).then(
        (r) => ({ i, ...r }),
        (error) => ({ i, status: 0, error: String(error) }),
      ),
    );
    if (i === 30) victim.kill();
  }
  const results = await Promise.all(attempts);
  const created = results.filter((r) => r.status === 201);
  assert.ok(created.length > 0);
  for (const r of created) {
    const res = await fetch(`${sibling.baseUrl}/api/requests/${r.body.id}`, { headers: { authorization: `Bearer ${tokens.admin}` } });
    assert.equal(res.status, 200, `committed booking ${r.body.id} must exist`);
  }
  const days = (await availability(sibling.baseUrl, tokens.admin, dates[0], dates.at(-1))).days;
  for (const day of days) {
    const list = await fetch(`${sibling.baseUrl}/api/requests?from=${day.date}&to=${day.date}&pageSize=100`, { headers: { authorization: `Bearer ${tokens.admin}` } }).then((r) => r.json());
    const holding = list.items.filter((r) => ["pending", "in_progress", "completed"].includes(r.status)).length;
    assert.equal(day.used, holding, `${day.date}: used equals the rows`);
    assert.ok(day.used <= day.capacity, `${day.date} overbooked`);
  }
  // Every 201 is a row; a row without a 201 can only be a booking that
  // committed on the victim just before it died, its answer lost with it.
  const rows = days.reduce((n, d) => n + d.used, 0);
  const unanswered = results.filter((r) => r.status === 0).length;
  assert.ok(rows >= created.length && rows <= created.length + unanswered, `rows ${rows}, 201s ${created.length}, unanswered ${unanswered}`);
});

// ---------------------------------------------------------------------------


test("PostgreSQL restarting: 503s meanwhile, the hub stays up, then every instance's viewers get each change within a second", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rd-outage-"));
  chmodSync(dir, 0o755);
  const dataDir = path.join(dir, "pg");
  const pgPort = await freePort();
  let server;
  let other;
  const watchers = [];
  try {
    const adminUrl = await localDb(dataDir, pgPort);
    await execFileAsync("psql", [adminUrl, "-q", "-c", "CREATE DATABASE outage"]);
    const url = new URL(adminUrl);
    url.pathname = "/outage";
    const jwtSecret = "outage-test-secret-0123456789";
    server = await startServer({ port: await freePort(), databaseUrl: url.toString(), jwtSecret });
    other = await startServer({ port: await freePort(), databaseUrl: url.toString(), jwtSecret });
    const alice = await login(server.baseUrl, USERS.alice);
    const bob = await login(server.baseUrl, USERS.bob);
    const day0 = (await publicSettings(server.baseUrl)).today;
    const date = addDays(day0, 2);
    for (const instance of [server, other]) watchers.push(await watcherOn(instance, bob, { from: date, to: date }).start());
    assert.equal((await book(server.baseUrl, alice, date, "before")).status, 201);
    await waitFor(() => watchers.every((w) => w.day(date)?.used === 1), { what: "the first booking" });

    await localDb(dataDir, pgPort, "--stop");
    const started = Date.now();
    const res = await book(server.baseUrl, alice, date, "during the outage");
    const took = Date.now() - started;
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error, "service_unavailable");
    assert.ok(took < 6000, `answered in ${took} ms`);
    assert.equal((await fetch(`${server.baseUrl}/health/ready`)).status, 503);
    await sleep(1000);
    for (const w of watchers) assert.equal(w.connection.state, signalR.HubConnectionState.Connected, "hub connections stay open");

    await localDb(dataDir, pgPort);
    await waitFor(async () => (await fetch(`${server.baseUrl}/health/ready`)).status === 200, { timeoutMs: 20000, intervalMs: 50, what: "ready again" });
    // Right after recovery, possibly before the listeners are back: each change
    // must still reach both instances' viewers within a second of its answer.
    const lateness = [];
    for (const [i, title] of ["after 1", "after 2", "after 3"].entries()) {
      assert.equal((await book(server.baseUrl, alice, date, title)).status, 201);
      const answered = Date.now();
      await waitFor(() => watchers.every((w) => w.day(date)?.used === 2 + i), {
        timeoutMs: 1000,
        intervalMs: 5,
        what: `booking "${title}" on both instances' viewers within a second`,
      });
      lateness.push(Date.now() - answered);
    }
    console.log(`# delivery after recovery (ms from the answer): ${lateness.join(", ")}`);
    const db = await availability(server.baseUrl, alice, date, date);
    for (const w of watchers) {
      assert.deepEqual(numbers(w.day(date)), numbers(db.days[0]));
      assert.equal(w.reconnects, 0, "the client never had to reconnect");
    }
  } finally {
    await Promise.all(watchers.map((w) => w.stop().catch(() => {})));
    await server?.stop();
    await other?.stop();
    await localDb(dataDir, pgPort, "--stop").catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
