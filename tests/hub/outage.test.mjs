// Failing fast while PostgreSQL is away: six clients book and cancel in a
// loop while the database is stopped for 5 s. Once the instance knows the
// database is down (its readiness probe answers 503), every request is
// answered 503 `service_unavailable` with `Retry-After` within 1 s — inside
// the outage, not after it — and once the database is back and the instance
// is ready again, the next requests succeed.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { USERS, addDays, freePort, localDb, login, publicSettings, sleep, startServer, waitFor } from "./lib/harness.mjs";

const execFileAsync = promisify(execFile);
const CLIENTS = 6;
const OUTAGE_MS = 5000;

async function timed(baseUrl, method, pathname, token, body) {
  const started = Date.now();
  try {
    const res = await fetch(`${baseUrl}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    const json = await res.json().catch(() => null);
    return { started, ended: Date.now(), status: res.status, code: json?.error, retryAfter: res.headers.get("retry-after"), json };
  } catch (error) {
    return { started, ended: Date.now(), status: 0, code: String(error) };
  }
}

test("while PostgreSQL is down, requests are answered 503 with Retry-After within 1 s, and succeed once it is back", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "request-desk-outage-"));
  chmodSync(dir, 0o755);
  const dataDir = path.join(dir, "pg");
  const pgPort = await freePort();
  let server;
  try {
    const adminUrl = await localDb(dataDir, pgPort);
    await execFileAsync("psql", [adminUrl, "-q", "-c", "CREATE DATABASE outage"]);
    const url = new URL(adminUrl);
    url.pathname = "/outage";
    server = await startServer({ port: await freePort(), databaseUrl: url.toString(), jwtSecret: "outage-test-secret-0123456789abcdef" });
    const base = server.baseUrl;
    const token = await login(base, USERS.alice);
    const today = (await publicSettings(base)).today;
    const date = addDays(today, 2);

    const answers = [];
    let stop = false;
    const clients = Array.from({ length: CLIENTS }, async (_, i) => {
      while (!stop) {
        const booked = await timed(base, "POST", "/api/requests", token, { title: `outage ${i}`, dueDate: date });
        answers.push(booked);
        if (booked.status === 201) {
          answers.push(await timed(base, "POST", `/api/requests/${booked.json.id}/cancel`, token));
        } else {
          // Not Retry-After's full second: the test wants many requests inside the outage.
          await sleep(100);
        }
      }
    });

    await sleep(500);
    const down = Date.now();
    await localDb(dataDir, pgPort, "--stop");
    // The instance knows once its readiness probe says so.
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 503, {
      timeoutMs: 3000, intervalMs: 50, what: "readiness to report the database down",
    });
    const known = Date.now();
    await sleep(Math.max(0, OUTAGE_MS - (known - down)));
    const restarting = Date.now();
    await localDb(dataDir, pgPort);
    await waitFor(async () => (await fetch(`${base}/health/ready`)).status === 200, {
      timeoutMs: 10_000, intervalMs: 50, what: "ready after the restart",
    });
    const ready = Date.now();
    await sleep(1000);
    stop = true;
    await Promise.all(clients);

    const inside = answers.filter((a) => a.started >= known && a.started < restarting);
    assert.ok(inside.length >= CLIENTS, `requests were made during the outage: ${inside.length}`);
    const late = inside.filter((a) => a.ended - a.started > 1000 || a.status !== 503 || a.code !== "service_unavailable" || !a.retryAfter);
    assert.deepEqual(late, [], "every request made while the database was known to be down: 503 service_unavailable with Retry-After, within 1 s");

    const afterwards = answers.filter((a) => a.started >= ready);
    assert.ok(afterwards.length >= CLIENTS, `requests after the return: ${afterwards.length}`);
    const failed = afterwards.filter((a) => a.status >= 500 || a.status === 0);
    assert.deepEqual(failed, [], "the requests after the database returned succeed");
    const worst = Math.max(...inside.map((a) => a.ended - a.started));
    console.log(`outage: ${inside.length} requests while known down, slowest ${worst} ms; ${afterwards.length} after the return, none failed; known down ${known - down} ms after the stop, ready ${ready - restarting} ms after the start`);
  } finally {
    await server?.stop().catch(() => {});
    await localDb(dataDir, pgPort, "--stop").catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
