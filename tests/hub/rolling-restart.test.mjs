// A rolling restart under steady load: two instances on one PostgreSQL,
// REST clients booking, moving (PUT with a new dueDate), cancelling and
// holding through both, and viewers on every transport of both instances —
// each transport once straight to an instance (it reconnects to the same
// address when the instance is back) and once through a sticky proxy that,
// like the load balancer of deploy/nginx, keeps a client on one instance and
// skips an instance that refuses connections (it reconnects elsewhere). Each
// instance in turn gets SIGTERM, is timed until it exits, and is started
// again; the next one is restarted only once the new one answers
// /health/ready and every viewer is connected again. The load stops when
// the second new instance is ready, before its viewers are back, so the
// last change of every day reaches them only through their catch-up
// (`GetCapacityChangesSince`); then one booking through each new instance,
// on a day of its own, must reach every viewer live.
//
// The clients behave as the contract asks: a 503 `service_unavailable`
// with `Retry-After` is retried after that delay on the other instance; a
// connection the instance refuses (it no longer listens: nothing was sent)
// goes to the other instance, as a load balancer would. Anything else — a
// request sent and never answered (connection reset or closed under it), a
// timeout, another 5xx, a business answer the workload cannot get — is a
// failure, never retried. At the end:
//
// - every drain ended with exit code 0 within the documented grace
//   (docs/operations.md and deploy/request-desk.service: up to 5 s for the
//   hub's farewells, then up to 5 s for HTTP's graceful stop);
// - no request failed beyond those 503s;
// - every acknowledged booking (201) is in the database, on the date and in
//   the status of its last acknowledged change, and every acknowledged hold
//   still lives; rows nobody acknowledged are only those of cut requests;
// - no day holds more than its capacity (used + held), and `used` equals
//   the rows holding a slot;
// - every viewer is connected, reconnected at least once, never gave up, and
//   holds exactly the numbers of `GET /api/availability`.
//
// The workload is seeded (`ROLLING_SEED=<n>` replays a run's choices,
// `ROLLING_SEED=random` draws one); what is measured is printed as `# `
// lines.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { promisify } from "node:util";

import {
  CapacityWatcher,
  PASSWORD,
  RECONNECT_DELAYS,
  TRANSPORTS,
  USERS,
  addDays,
  availability,
  createDatabase,
  dropDatabase,
  freePort,
  login,
  numbers,
  publicSettings,
  signalR,
  sleep,
  startServer,
  waitFor,
  generator,
  seedFrom,
} from "./lib/harness.mjs";

const execFileAsync = promisify(execFile);

const SEED = seedFrom("ROLLING_SEED", 20261207);
/** REST clients, each its own requester (one live hold per user). */
const CLIENTS = 6;
const DAYS = 5;
/** Slots per day: with up to MAX_ACTIVE requests per client, days fill and bookings contend. */
const CAPACITY = 6;
const MAX_ACTIVE = 5;
/** Pause between a client's operations. */
const THINK_MS = 15;
/**
 * The documented bound on a drain: on SIGTERM the hub tells its clients to
 * reconnect (up to 5 s), then HTTP stops gracefully (up to 5 s)
 * (crates/server/src/app.rs `run_until_signalled` and `shutdown_timeout(5)`;
 * docs/operations.md; deploy/request-desk.service).
 */
const GRACE_MS = 10_000;
/** A drain still running this long after SIGTERM is killed (and fails the test). */
const KILL_AFTER_MS = 15_000;
/** A request unanswered this long is a failure: the slowest legitimate wait is the booking queue's 5 s. */
const REQUEST_TIMEOUT_MS = 10_000;
/** After a refused connection a client leaves that instance alone this long. */
const AVOID_MS = 1000;
/** Load with both instances up before the first restart, and between and after the restarts. */
const STEADY_MS = 1500;
/** The viewers' reconnect delays: the suite's, then more, 30.7 s in all. */
const VIEWER_RECONNECT = [...RECONNECT_DELAYS, 5000, 5000, 10_000];

/** One request; never throws. `status` 0: no answer (`refused`: the connection was refused, so nothing was sent). */
async function send(baseUrl, method, pathname, token, body) {
  const started = Date.now();
  try {
    const res = await fetch(`${baseUrl}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { started, ended: Date.now(), status: res.status, body: json, retryAfter: res.headers.get("retry-after") };
  } catch (error) {
    const code = error.cause?.code ?? error.name;
    return {
      started,
      ended: Date.now(),
      status: 0,
      refused: code === "ECONNREFUSED",
      error: `${code}: ${error.cause?.message ?? error.message}`,
    };
  }
}

/** `GET /health/ready` on a connection of its own (as a probe would), never throws: the status, or the error code. */
function probeReady(baseUrl) {
  return new Promise((resolve) => {
    const req = http.get(`${baseUrl}/health/ready`, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
      res.on("error", (e) => resolve(e.code ?? String(e)));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (e) => resolve(e.code ?? String(e)));
  });
}

/** "200×12 (+0…+1150 ms), ECONNREFUSED×38 (+1250…+5050 ms)": a run-length summary of probes. */
function runs(samples) {
  const out = [];
  for (const s of samples) {
    const last = out.at(-1);
    if (last && last.what === s.what) {
      last.n += 1;
      last.to = s.t;
    } else out.push({ what: s.what, n: 1, from: s.t, to: s.t });
  }
  return out.map((r) => `${r.what}×${r.n} (+${r.from}…+${r.to} ms)`).join(", ") || "none";
}

/**
 * A sticky TCP proxy in front of two instances, as a load balancer with
 * session affinity: every connection goes to the current instance; when that
 * one refuses a connection (it no longer listens), the proxy makes the other
 * one current and connects there. `switches` counts the moves.
 */
async function failoverProxy(ports, preferred) {
  const state = { current: preferred, switches: 0 };
  const sockets = new Set();
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    let upstream = null;
    const drop = () => {
      client.destroy();
      upstream?.destroy();
      sockets.delete(client);
      if (upstream) sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    const attempt = (index, fallbacks) => {
      const socket = net.connect(ports[index], "127.0.0.1");
      socket.once("connect", () => {
        if (client.destroyed) {
          socket.destroy();
          return;
        }
        upstream = socket;
        sockets.add(socket);
        socket.on("error", drop).on("close", drop);
        client.pipe(socket).pipe(client);
        client.resume();
      });
      socket.once("error", (error) => {
        if (upstream === socket) return; // connected: `drop` handles it
        socket.destroy();
        if (error.code === "ECONNREFUSED" && fallbacks > 0 && !client.destroyed) {
          if (state.current === index) {
            state.current = 1 - index;
            state.switches += 1;
          }
          attempt(1 - index, fallbacks - 1);
        } else drop();
      });
    };
    attempt(state.current, 1);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

test(`rolling restart (seed ${SEED}): SIGTERM drains each instance within its grace, nothing fails beyond 503s, nothing is lost, every viewer ends on the database's numbers`, { timeout: 100_000 }, async () => {
  console.log(`# ROLLING_SEED=${SEED}`);
  const began = Date.now();
  const jwtSecret = "rolling-restart-secret-0123456789abcdef";
  const db = await createDatabase();
  const ports = [await freePort(), await freePort()];
  const bases = ports.map((port) => `http://127.0.0.1:${port}`);
  const instances = [];
  /** The complete log of every run of each instance, for the failure report: `{instance, chunks}`. */
  const logs = [];
  const launch = async (index) => {
    const log = { instance: index, chunks: [] };
    logs.push(log);
    instances[index] = await startServer({
      port: ports[index],
      databaseUrl: db.url,
      jwtSecret,
      onOutput: (text) => log.chunks.push(text),
    });
  };
  const watchers = [];
  const proxies = [];
  const clients = [];
  let loadStopped = true;
  let load = Promise.resolve();
  try {
    await launch(0);
    await launch(1);
    const admin = await login(bases[0], USERS.admin);
    const viewerToken = await login(bases[1], USERS.bob);
    const today = (await publicSettings(bases[0])).today;
    const dates = Array.from({ length: DAYS }, (_, i) => addDays(today, i + 1));
    // One more day in the viewers' range, left to the end: a booking there through each new instance.
    const lastDate = addDays(today, DAYS + 1);
    const range = { from: dates[0], to: lastDate };
    const settings = await send(bases[0], "PUT", "/api/settings", admin, {
      dailyCapacity: CAPACITY, limitedThresholdPercent: 60, bookingWindowDays: 60, closedWeekdays: [], timezone: "UTC",
    });
    assert.equal(settings.status, 200, JSON.stringify(settings.body));

    // Viewers: every transport, on both instances, straight and through a sticky proxy.
    for (const index of [0, 1]) proxies.push(await failoverProxy(ports, index));
    for (const index of [0, 1]) {
      for (const [name, transport] of TRANSPORTS) {
        for (const route of ["direct", "proxied"]) {
          const url = route === "direct" ? bases[index] : proxies[index].url;
          const view = { baseUrl: url, hubUrl: () => `${url}/hubs/notifications` };
          // A viewer straight to an instance waits out its drain and its start
          // (up to ~10 s on a loaded machine): a reconnect budget like the
          // official client's default (0, 2, 10, 30 s: 42 s), not the suite's
          // 10.7 s, so that the test judges the server, not a short schedule.
          const w = new CapacityWatcher(view, viewerToken, transport, range, { reconnect: VIEWER_RECONNECT });
          w.label = `viewer ${watchers.length} (${name}, ${route}, instance ${index}${route === "proxied" ? " first" : ""})`;
          w.closed = 0;
          w.connection.onclose(() => {
            w.closed += 1;
            w.trace("closed");
          });
          watchers.push(await w.start());
        }
      }
    }

    // REST clients: each its own requester, homed on one instance.
    const attempts = [];
    const failures = [];
    const unexpected = [];
    for (let i = 0; i < CLIENTS; i += 1) {
      const email = `rolling-${i}@example.com`;
      const created = await send(bases[0], "POST", "/api/users", admin, {
        email, password: PASSWORD, displayName: `Rolling ${i}`, role: "requester",
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      clients.push({
        index: i,
        userId: created.body.id,
        token: await login(bases[i % 2], email),
        random: generator(SEED + i * 7919),
        home: i % 2,
        avoidUntil: [0, 0],
        /** id → the last acknowledged {dueDate, status}; `uncertain` once a change to it went unanswered. */
        requests: new Map(),
        /** Ids of its requests holding a slot, as far as acknowledged. */
        active: [],
        /** Its live hold as far as acknowledged (`uncertain` once a hold call went unanswered). */
        hold: null,
        holdUncertain: false,
        /** The newest hold id it was given, and the booking attempts it made (for their titles). */
        lastHoldId: 0,
        bookings: 0,
        /** Booking calls that went unanswered: a row may exist without a 201. */
        unansweredBookings: 0,
      });
    }

    /** One call with the contract's retries: 503 + Retry-After → wait, other instance; refused → other instance. */
    const call = async (client, op, method, pathname, body) => {
      const now = Date.now();
      let instance = client.avoidUntil[client.home] > now ? 1 - client.home : client.home;
      let refusedInARow = 0;
      for (;;) {
        const res = await send(bases[instance], method, pathname, client.token, body);
        const entry = {
          client: client.index, op, method, pathname, instance, started: res.started, ended: res.ended,
          status: res.status, code: res.body?.error, retryAfter: res.retryAfter, error: res.error, sentBody: body,
        };
        attempts.push(entry);
        if (res.refused) {
          client.avoidUntil[instance] = Date.now() + AVOID_MS;
          refusedInARow += 1;
          if (refusedInARow >= 2) {
            failures.push({ ...entry, why: "both instances refused the connection" });
            return res;
          }
          instance = 1 - instance;
          continue;
        }
        refusedInARow = 0;
        if (res.status === 503 && res.body?.error === "service_unavailable" && /^\d+$/.test(res.retryAfter ?? "")) {
          await sleep(Number(res.retryAfter) * 1000);
          instance = 1 - instance;
          continue;
        }
        if (res.status === 0) failures.push({ ...entry, why: "sent and never answered" });
        else if (res.status >= 500) failures.push({ ...entry, why: `${res.status} beyond the contract's 503 service_unavailable with Retry-After`, body: res.body });
        return res;
      }
    };
    const answered = (res) => res.status > 0 && res.status < 500;
    const expect = (client, op, res, allowed) => {
      if (answered(res) && !allowed.includes(`${res.status}${res.body?.error ? ` ${res.body.error}` : ""}`)) {
        unexpected.push({ client: client.index, op, status: res.status, body: res.body });
      }
    };
    const pick = (client, items) => items[Math.floor(client.random() * items.length)];
    /** A change to request `id` went unanswered: its state is unknown, so the workload leaves it alone. */
    const forget = (client, id) => {
      client.requests.get(id).uncertain = true;
      client.active.splice(client.active.indexOf(id), 1);
    };

    const book = async (client, date, holdId) => {
      const res = await call(client, holdId ? "book with hold" : "book", "POST", "/api/requests", {
        // A title of its own, so that a booking that went unanswered can be found in the database.
        title: `rolling c${client.index} #${(client.bookings += 1)}`, dueDate: date, ...(holdId ? { holdId } : {}),
      });
      // With a live hold of the caller the booking cannot fail for capacity.
      expect(client, holdId ? "book with hold" : "book", res, holdId ? ["201"] : ["201", "409 capacity_full"]);
      if (!answered(res)) client.unansweredBookings += 1;
      if (res.status === 201) {
        client.requests.set(String(res.body.id), { dueDate: res.body.dueDate, status: res.body.status, uncertain: false });
        client.active.push(String(res.body.id));
      }
      if (holdId && (res.status === 201 || !answered(res))) {
        client.hold = null;
        if (!answered(res)) client.holdUncertain = true;
      }
    };
    const operation = async (client) => {
      const roll = client.random();
      const date = pick(client, dates);
      if (roll < 0.4 && client.active.length < MAX_ACTIVE) return book(client, date);
      if (roll < 0.65 && client.active.length > 0) {
        const id = pick(client, client.active);
        const known = client.requests.get(id);
        const to = pick(client, dates.filter((d) => d !== known.dueDate));
        const res = await call(client, "move", "PUT", `/api/requests/${id}`, { title: `rolling ${client.index} moved`, priority: "normal", dueDate: to });
        expect(client, "move", res, ["200", "409 capacity_full"]);
        if (res.status === 200) known.dueDate = res.body.dueDate;
        if (!answered(res)) forget(client, id);
        return;
      }
      if (roll < 0.85) {
        const res = await call(client, "hold", "POST", "/api/holds", { date });
        expect(client, "hold", res, ["201", "409 capacity_full"]);
        if (!answered(res)) client.holdUncertain = true;
        if (res.status !== 201) return;
        client.hold = { id: String(res.body.id), date };
        client.lastHoldId = Math.max(client.lastHoldId, Number(res.body.id));
        const next = client.random();
        if (next < 0.5 && client.active.length < MAX_ACTIVE) return book(client, date, res.body.id);
        if (next < 0.8) {
          const released = await call(client, "release hold", "DELETE", `/api/holds/${res.body.id}`);
          expect(client, "release hold", released, ["204"]);
          if (released.status === 204) client.hold = null;
          if (!answered(released)) client.holdUncertain = true;
        }
        return; // else kept: the next hold replaces it
      }
      if (client.active.length === 0) return book(client, date);
      const id = pick(client, client.active);
      const res = await call(client, "cancel", "POST", `/api/requests/${id}/cancel`);
      expect(client, "cancel", res, ["200"]);
      const known = client.requests.get(id);
      if (res.status === 200) {
        known.status = res.body.status;
        client.active.splice(client.active.indexOf(id), 1);
      }
      if (!answered(res)) forget(client, id);
    };

    loadStopped = false;
    load = Promise.all(
      clients.map(async (client) => {
        while (!loadStopped) {
          await operation(client);
          await sleep(THINK_MS);
        }
      }),
    );

    const allConnected = () => watchers.every((w) => w.connection.state === signalR.HubConnectionState.Connected);
    const drains = [];
    /** SIGTERM, timed to the exit; then the new process, once it answers /health/ready. */
    const restart = async (index) => {
      const server = instances[index];
      const probes = [];
      let probing = true;
      const sent = Date.now();
      const prober = (async () => {
        while (probing) {
          const what = await probeReady(bases[index]);
          probes.push({ t: Date.now() - sent, what });
          await sleep(100);
        }
      })();
      server.signal("SIGTERM");
      let timer;
      const exit = await Promise.race([
        server.exited,
        new Promise((resolve) => {
          timer = setTimeout(() => resolve(null), KILL_AFTER_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!exit) await server.kill();
      const exitedAt = exit?.at ?? Date.now();
      probing = false;
      await prober;
      const starting = Date.now();
      await launch(index);
      const drain = {
        index, sent, exitedAt, exit, probes,
        drainMs: exit ? exitedAt - sent : null,
        startupMs: Date.now() - starting,
        viewersBackMs: null,
      };
      drains.push(drain);
      return drain;
    };
    const viewersBack = async (drain) => {
      // 20 s: the suite's reconnect schedule gives up after 10.7 s of failed attempts.
      await waitFor(() => allConnected() || watchers.some((w) => w.closed > 0), { timeoutMs: 20_000, intervalMs: 20 }).catch(() => {});
      if (allConnected()) drain.viewersBackMs = Date.now() - drain.sent;
    };

    await sleep(STEADY_MS);
    await viewersBack(await restart(0));
    await sleep(STEADY_MS);
    const second = await restart(1);
    // The load stops as soon as the second new instance is ready, before its
    // viewers are back: the last changes of every day were made while they
    // were away, so they can only have them from their catch-up.
    loadStopped = true;
    await load;
    await viewersBack(second);
    // Live events flow on the new instances: a booking through each, on a day the load left alone.
    for (const index of [0, 1]) {
      const res = await send(bases[index], "POST", "/api/requests", clients[0].token, { title: `rolling last ${index}`, dueDate: lastDate });
      assert.equal(res.status, 201, `the last booking through instance ${index}: ${res.status} ${JSON.stringify(res.body)}`);
      clients[0].requests.set(String(res.body.id), { dueDate: res.body.dueDate, status: res.body.status, uncertain: false });
    }

    // -----------------------------------------------------------------------
    // What happened.
    const problems = [];
    /** Server log lines (timestamped) of `instance` between `from` and `to`. */
    const logLines = (instance, from, to) =>
      logs
        .filter((l) => l.instance === instance)
        .flatMap((l) => l.chunks.join("").split("\n"))
        .map((line) => ({ t: Date.parse(line.slice(0, 27)), line }))
        .filter(({ t }) => t >= from && t <= to);
    const isRequestLine = (line) => / request method=/.test(line);
    const count = (list) => {
      const counts = new Map();
      for (const x of list) counts.set(x, (counts.get(x) ?? 0) + 1);
      return [...counts].map(([k, n]) => `${k}: ${n}`).join(", ");
    };
    const label = (a) => (a.status === 0 ? (a.error?.split(":")[0] ?? "no answer") : `${a.status}${a.code ? ` ${a.code}` : ""}`);
    for (const d of drains) {
      const during = attempts.filter((a) => a.instance === d.index && a.started >= d.sent && a.started <= d.exitedAt);
      const served = during.filter((a) => a.status > 0);
      console.log(
        `# instance ${d.index} drain: SIGTERM → exit ${d.drainMs ?? `> ${KILL_AFTER_MS} (killed)`} ms (bound ${GRACE_MS} ms), ${d.exit ? `code ${d.exit.code} signal ${d.exit.signal}` : "SIGKILLed"}; ` +
          `started again, ready in ${d.startupMs} ms; every viewer connected again ${d.viewersBackMs ?? "never"} ms after SIGTERM`,
      );
      console.log(`#   /health/ready during the drain (own connection every 100 ms): ${runs(d.probes)}`);
      const logged = logLines(d.index, d.sent, d.exitedAt).filter(({ line }) => isRequestLine(line));
      console.log(`#   its log: ${logged.length} requests answered after SIGTERM, the last at +${logged.length ? Math.max(...logged.map(({ t }) => t)) - d.sent : "-"} ms`);
      console.log(
        `#   requests sent to it between SIGTERM and exit: ${during.length} (${count(during.map(label)) || "none"}); ` +
          `last answered +${served.length ? Math.max(...served.map((a) => a.ended)) - d.sent : "-"} ms`,
      );
      if (!d.exit) problems.push(`instance ${d.index} did not exit within ${KILL_AFTER_MS} ms of SIGTERM (killed)`);
      else {
        if (d.drainMs >= GRACE_MS) problems.push(`instance ${d.index} took ${d.drainMs} ms from SIGTERM to exit, beyond the documented ${GRACE_MS} ms`);
        if (d.exit.code !== 0 || d.exit.signal !== null) problems.push(`instance ${d.index} exited with ${JSON.stringify(d.exit)} after SIGTERM, not 0`);
      }
      if (d.viewersBackMs === null) problems.push(`not every viewer was connected again after instance ${d.index}'s restart (within 20 s, or one gave up)`);
    }
    const byStatus = count(attempts.map(label));
    const booked = clients.reduce((n, c) => n + c.requests.size, 0);
    console.log(`# workload: ${attempts.length} attempts (${byStatus}); ${booked} bookings acknowledged (201); retried 503s: ${attempts.filter((a) => a.status === 503).length}, refused connections: ${attempts.filter((a) => a.error?.startsWith("ECONNREFUSED")).length}, failed: ${failures.length}, unexpected answers: ${unexpected.length}`);
    console.log(`# viewers: ${watchers.length}; reconnects ${watchers.map((w) => w.reconnects).join(" ")}; proxy switches ${proxies.map((p) => p.state.switches).join(" ")}`);
    assert.ok(booked > 30, `the workload booked something (${booked})`);
    for (const d of drains) {
      assert.ok(
        attempts.some((a) => a.instance === d.index && a.started >= d.sent && a.started <= d.exitedAt),
        `the load reached instance ${d.index} while it drained`,
      );
    }

    // The viewers against the truth.
    const truth = await availability(bases[0], admin, range.from, range.to);
    for (const day of truth.days) {
      if (day.used + day.held > day.capacity) problems.push(`${day.date} overbooked in /api/availability: used ${day.used} + held ${day.held} of ${day.capacity}`);
    }
    try {
      await waitFor(
        () => allConnected() && watchers.every((w) => truth.days.every((d) => w.day(d.date)?.version === d.version)),
        { timeoutMs: 10_000, intervalMs: 20, what: "every viewer to be connected and reach the database's versions" },
      );
    } catch (error) {
      problems.push(
        `${error.message}:\n` +
          watchers
            .map((w) => `  ${w.label}: ${w.connection.state}, reconnects ${w.reconnects}, closed ${w.closed}; ${w.describe(truth.days)}`)
            .join("\n"),
      );
    }
    for (const w of watchers) {
      if (w.closed > 0) problems.push(`${w.label} gave up (onclose) instead of reconnecting`);
      if (w.reconnects < 1) problems.push(`${w.label} never reconnected: it did not go through a restart`);
      for (const day of truth.days) {
        try {
          assert.deepEqual(numbers(w.day(day.date)), numbers(day));
        } catch {
          problems.push(`${w.label} holds ${JSON.stringify(numbers(w.day(day.date)))} for ${day.date}, the database ${JSON.stringify(numbers(day))}`);
        }
      }
    }

    // The database: nothing acknowledged lost, nothing overbooked.
    const psql = async (sql) => (await execFileAsync("psql", [db.url, "-At", "-F", "|", "-c", sql])).stdout.trim().split("\n").filter(Boolean).map((l) => l.split("|"));
    const userIds = clients.map((c) => Number(c.userId)).join(",");
    const rows = new Map((await psql(`SELECT id, due_date, status, requester_id, title FROM requests WHERE requester_id IN (${userIds})`)).map(([id, dueDate, status, requester, title]) => [id, { dueDate, status, requester, title }]));
    let lost = 0;
    let changed = 0;
    for (const client of clients) {
      for (const [id, known] of client.requests) {
        const row = rows.get(id);
        if (!row) {
          lost += 1;
          problems.push(`booking ${id} (client ${client.index}) was acknowledged 201 and is not in the database`);
        } else if (!known.uncertain && (row.dueDate !== known.dueDate || row.status !== known.status)) {
          changed += 1;
          problems.push(`request ${id} (client ${client.index}): the last acknowledged change left it ${known.dueDate} ${known.status}, the database has ${row.dueDate} ${row.status}`);
        }
      }
      const theirs = [...rows].filter(([id, row]) => Number(row.requester) === Number(client.userId) && !client.requests.has(id));
      if (theirs.length > client.unansweredBookings) {
        problems.push(`client ${client.index} has ${theirs.length} request(s) in the database that were never acknowledged (${theirs.map(([id]) => id).join(", ")}), but only ${client.unansweredBookings} booking call(s) went unanswered`);
      }
      if (theirs.length) console.log(`#   client ${client.index}: ${theirs.length} booking(s) committed whose answer was lost: ${theirs.map(([id, r]) => `${id} (${r.dueDate})`).join(", ")}`);
    }
    const liveHolds = new Map((await psql(`SELECT user_id, id, date FROM holds WHERE user_id IN (${userIds}) AND expires_at > now()`)).map(([user, id, date]) => [Number(user), { id, date }]));
    for (const client of clients) {
      if (client.holdUncertain) continue;
      const live = liveHolds.get(Number(client.userId))?.id ?? null;
      if ((client.hold?.id ?? null) !== live) problems.push(`client ${client.index}: its acknowledged live hold is ${client.hold?.id ?? "none"}, the database has ${live ?? "none"}`);
    }
    const days = await psql(
      `SELECT d.date, d.used, COALESCE(d.capacity_override, s.daily_capacity),
              (SELECT count(*) FROM requests r WHERE r.due_date = d.date AND r.status IN ('pending', 'in_progress', 'completed')),
              (SELECT count(*) FROM holds h WHERE h.date = d.date AND h.expires_at > now())
       FROM days d, settings s ORDER BY d.date`,
    );
    for (const [date, used, capacity, holding, held] of days) {
      if (Number(used) !== Number(holding)) problems.push(`${date}: used ${used}, but ${holding} requests hold a slot`);
      if (Number(used) + Number(held) > Number(capacity)) problems.push(`${date} overbooked: used ${used} + held ${held} of ${capacity}`);
    }
    /** The drained instance's log from SIGTERM to exit: every line but request lines, then its last 25 request lines. */
    const excerpt = (d) => {
      const lines = logLines(d.index, d.sent - 50, d.exitedAt + 50);
      const others = lines.filter(({ line }) => !isRequestLine(line));
      const requests = lines.filter(({ line }) => isRequestLine(line));
      return [
        ...others.map(({ line }) => `    ${line}`),
        `    … ${requests.length} request lines between SIGTERM and exit (+${d.exitedAt - d.sent} ms); the last ones:`,
        ...requests.slice(-25).map(({ line }) => `    ${line}`),
      ].join("\n");
    };
    /** Where a failed attempt sits in its drain, and whether its change was committed all the same. */
    const explain = (f) => {
      const d = drains.find((x) => x.index === f.instance && f.started >= x.sent - 1000 && f.started <= x.exitedAt + 1000);
      const parts = [];
      if (d) parts.push(`sent +${f.started - d.sent} ms, failed +${f.ended - d.sent} ms after instance ${d.index}'s SIGTERM (exit at +${d.exitedAt - d.sent} ms)`);
      const client = clients[f.client];
      const id = f.pathname.match(/^\/api\/requests\/(\d+)/)?.[1];
      const row = id && rows.get(id);
      const hold = liveHolds.get(Number(client.userId));
      if (f.op.startsWith("book")) {
        const found = [...rows].find(([, r]) => r.title === f.sentBody.title);
        parts.push(found ? `committed all the same: request ${found[0]} ("${f.sentBody.title}") is in the database` : `not committed: no request "${f.sentBody.title}" in the database`);
      } else if (f.op === "move" && row) {
        parts.push(row.dueDate === f.sentBody.dueDate ? `committed all the same: request ${id} is on ${row.dueDate}` : `not committed: request ${id} is still on ${row.dueDate} (the move asked for ${f.sentBody.dueDate})`);
      } else if (f.op === "cancel" && row) {
        parts.push(row.status === "cancelled" ? `committed all the same: request ${id} is cancelled` : `not committed: request ${id} is ${row.status}`);
      } else if (f.op === "hold") {
        parts.push(hold && Number(hold.id) > client.lastHoldId && hold.date === f.sentBody.date ? `committed all the same: hold ${hold.id} on ${hold.date} is live` : "not committed (or since replaced)");
      } else if (f.op === "release hold") {
        const heldId = f.pathname.split("/").pop();
        parts.push(hold?.id === heldId ? `not committed: hold ${heldId} is still live` : `committed all the same (or it expired): hold ${heldId} is gone`);
      }
      return parts.join("; ");
    };
    if (failures.length) {
      problems.unshift(
        `${failures.length} request(s) failed beyond the 503s the contract allows:\n` +
          failures.map((f) => `  client ${f.client} ${f.op}: ${f.method} ${f.pathname} → instance ${f.instance}: ${f.why}: ${f.error ?? `${f.status} ${JSON.stringify(f.body)}`}\n    ${explain(f)}`).join("\n") +
          `\n  the drained instances' logs from SIGTERM to exit:\n` +
          drains.map((d) => `  instance ${d.index}:\n${excerpt(d)}`).join("\n"),
      );
    }
    if (unexpected.length) {
      problems.push(`answers the workload cannot get:\n${unexpected.map((u) => `  client ${u.client} ${u.op}: ${u.status} ${JSON.stringify(u.body)}`).join("\n")}`);
    }
    console.log(`# database: ${rows.size} requests of the clients, ${booked} acknowledged, ${lost} acknowledged ones missing, ${changed} not in their last acknowledged state; days (date used/capacity held): ${truth.days.map((d) => `${d.date} ${d.used}/${d.capacity} ${d.held}`).join(", ")}`);
    console.log(`# run time ${Date.now() - began} ms`);

    if (problems.length) {
      throw new Error(`ROLLING_SEED=${SEED}: ${problems.length} problem(s)\n\n${problems.join("\n\n")}`);
    }
  } finally {
    loadStopped = true;
    await load.catch(() => {});
    await Promise.all(watchers.map((w) => w.stop().catch(() => {})));
    for (const proxy of proxies) await proxy.close().catch(() => {});
    for (const instance of instances) await instance?.stop().catch(() => {});
    await dropDatabase(db).catch(() => {});
  }
});
