// A bounded, seeded chaos run of the live pipeline: two instances on one
// PostgreSQL, viewers on every transport of both, a random workload with
// contention (create, move, cancel, reject, override, settings), PostgreSQL
// restarting and one instance killed and started again. At the end every
// viewer's picture must equal the database, and no day may hold more than
// its capacity. `CHAOS_SEED` replays a run (the seed is printed);
// `CHAOS_SEED=random` draws a new one.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import {
  CapacityWatcher,
  TRANSPORTS,
  USERS,
  addDays,
  availability,
  freePort,
  localDb,
  login,
  numbers,
  publicSettings,
  sleep,
  startServer,
  waitFor,
  generator,
  seedFrom,
} from "./lib/harness.mjs";

const execFileAsync = promisify(execFile);

const SEED = seedFrom("CHAOS_SEED", 20261201);
const OPERATIONS = 240;
const DAYS = 5;


async function call(baseUrl, method, pathname, token, body) {
  try {
    const res = await fetch(`${baseUrl}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  } catch (error) {
    // The instance died under the request: its outcome is unknown.
    return { status: 0, body: { error: String(error) } };
  }
}

test(`chaos (seed ${SEED}): every viewer ends on the database's numbers and no day is overbooked`, { timeout: 120_000 }, async () => {
  console.log(`# CHAOS_SEED=${SEED}`);
  const random = generator(SEED);
  const pick = (items) => items[Math.floor(random() * items.length)];
  const dir = mkdtempSync(path.join(os.tmpdir(), "rd-chaos-"));
  chmodSync(dir, 0o755);
  const dataDir = path.join(dir, "pg");
  const pgPort = await freePort();
  const jwtSecret = "chaos-test-secret-0123456789abcdef";
  const instances = [];
  const watchers = [];
  try {
    const adminUrl = await localDb(dataDir, pgPort);
    await execFileAsync("psql", [adminUrl, "-q", "-c", "CREATE DATABASE chaos"]);
    const url = new URL(adminUrl);
    url.pathname = "/chaos";
    const databaseUrl = url.toString();
    const ports = [await freePort(), await freePort()];
    for (const port of ports) instances.push(await startServer({ port, databaseUrl, jwtSecret }));
    const base = () => pick(instances).baseUrl;
    const tokens = {};
    for (const who of ["alice", "bob", "designer", "admin"]) tokens[who] = await login(instances[0].baseUrl, USERS[who]);

    const today = (await publicSettings(instances[0].baseUrl)).today;
    const dates = Array.from({ length: DAYS }, (_, i) => addDays(today, i + 1));
    const range = { from: dates[0], to: dates.at(-1) };
    // Capacities only ever go up in this run, so that "no day holds more than
    // its capacity" is exactly "no booking was accepted beyond capacity"
    // (lowering a capacity below `used` is allowed and keeps the requests).
    let daily = 2;
    const overrides = new Map();
    await call(instances[0].baseUrl, "PUT", "/api/settings", tokens.admin, {
      dailyCapacity: daily, limitedThresholdPercent: 60, bookingWindowDays: 60, closedWeekdays: [], timezone: "UTC",
    });

    for (const instance of instances) {
      for (const [, transport] of TRANSPORTS) {
        const view = { baseUrl: instance.baseUrl, hubUrl: () => `${instance.baseUrl}/hubs/notifications` };
        watchers.push(await new CapacityWatcher(view, tokens.bob, transport, range).start());
      }
    }

    const mine = { alice: [], bob: [] };
    const operation = async () => {
      const roll = random();
      if (roll < 0.45) {
        const who = pick(["alice", "bob"]);
        const res = await call(base(), "POST", "/api/requests", tokens[who], { title: "chaos", dueDate: pick(dates) });
        if (res.status === 201) mine[who].push(res.body.id);
        return res.status;
      }
      if (roll < 0.6) {
        const who = pick(["alice", "bob"]);
        const id = pick(mine[who]);
        if (id === undefined) return "skip";
        return (await call(base(), "PUT", `/api/requests/${id}`, tokens[who], { title: "chaos moved", priority: "normal", dueDate: pick(dates) })).status;
      }
      if (roll < 0.72) {
        const who = pick(["alice", "bob"]);
        const id = pick(mine[who]);
        if (id === undefined) return "skip";
        return (await call(base(), "POST", `/api/requests/${id}/cancel`, tokens[who])).status;
      }
      if (roll < 0.82) {
        const id = pick([...mine.alice, ...mine.bob]);
        if (id === undefined) return "skip";
        return (await call(base(), "PATCH", `/api/requests/${id}/status`, tokens.designer, { status: "rejected" })).status;
      }
      if (roll < 0.94) {
        const date = pick(dates);
        const capacity = Math.max(overrides.get(date) ?? daily, daily) + Math.floor(random() * 2);
        overrides.set(date, capacity);
        return (await call(base(), "PUT", `/api/capacity/overrides/${date}`, tokens.admin, { capacity, note: `chaos ${capacity}` })).status;
      }
      if (daily >= 6) return "skip";
      daily += 1;
      return (await call(base(), "PUT", "/api/settings", tokens.admin, {
        dailyCapacity: daily, limitedThresholdPercent: 60, bookingWindowDays: 60, closedWeekdays: [], timezone: "UTC",
      })).status;
    };

    const outcomes = new Map();
    const batch = async (n) => {
      const results = await Promise.all(Array.from({ length: n }, operation));
      for (const r of results) outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
    };
    const third = Math.floor(OPERATIONS / 3);
    for (let done = 0; done < third; done += 6) await batch(6);

    // PostgreSQL restarts under load.
    await localDb(dataDir, pgPort, "--stop");
    await batch(4);
    await sleep(500);
    await localDb(dataDir, pgPort);
    await waitFor(async () => (await fetch(`${instances[0].baseUrl}/health/ready`)).status === 200, {
      timeoutMs: 20_000, intervalMs: 50, what: "ready after the restart",
    });
    for (let done = 0; done < third; done += 6) await batch(6);

    // One instance is killed mid-burst and started again on its port; its viewers reconnect.
    const burst = batch(8);
    await instances[1].kill();
    await burst;
    instances[1] = await startServer({ port: ports[1], databaseUrl, jwtSecret });
    for (let done = 0; done < third; done += 6) await batch(6);
    console.log(`# outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok((outcomes.get(201) ?? 0) > 20, "the workload booked something");

    const db = await availability(instances[0].baseUrl, tokens.admin, range.from, range.to);
    try {
      await waitFor(
        () => watchers.every((w) => db.days.every((d) => w.day(d.date)?.version === d.version)),
        { timeoutMs: 15_000, intervalMs: 20, what: "every viewer to reach the database's versions" },
      );
    } catch (error) {
      // What each viewer heard and asked around its reconnects, to tell a
      // server that dropped a change from a viewer that asked for too little.
      const viewers = watchers.map((w, i) => `viewer ${i} (instance ${Math.floor(i / TRANSPORTS.length)}, ${TRANSPORTS[i % TRANSPORTS.length][0]}): ${w.describe(db.days)}`);
      error.message += `\nCHAOS_SEED=${SEED}\n${viewers.join("\n")}`;
      throw error;
    }
    for (const w of watchers) {
      for (const day of db.days) assert.deepEqual(numbers(w.day(day.date)), numbers(day), `a viewer's ${day.date}`);
    }
    const { stdout } = await execFileAsync("psql", [databaseUrl, "-At", "-F", " ", "-c",
      `SELECT d.date, d.used, COALESCE(d.capacity_override, s.daily_capacity),
              (SELECT count(*) FROM requests r WHERE r.due_date = d.date AND r.status IN ('pending', 'in_progress', 'completed'))
       FROM days d, settings s ORDER BY d.date`]);
    for (const line of stdout.trim().split("\n").filter(Boolean)) {
      const [date, used, capacity, rows] = line.split(" ");
      assert.equal(Number(used), Number(rows), `${date}: used equals the requests holding a slot`);
      assert.ok(Number(used) <= Number(capacity), `${date} overbooked: ${used} of ${capacity}`);
    }
  } finally {
    await Promise.all(watchers.map((w) => w.stop().catch(() => {})));
    for (const instance of instances) await instance.stop().catch(() => {});
    await localDb(dataDir, pgPort, "--stop").catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
