// Test harness for the hub suite: a fresh PostgreSQL database and a real
// `request-desk` server per test file, plus small REST and SignalR helpers.
//
// Environment:
//   DATABASE_URL      admin connection to a PostgreSQL server, e.g.
//                     postgres://postgres@127.0.0.1:54339/postgres; unset →
//                     the project's local test cluster. Each test file gets
//                     `hubtest_<random>` from `request-desk local-db --test
//                     --new-database` (migrated) and drops it.
//   REQUEST_DESK_BIN  server binary (default: <repo>/target/debug/request-desk)
//   TEST_LOG          when set, the server's output is copied to stderr.

import { execFile } from "node:child_process";
import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

export { signalR };

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..", "..");

export const PASSWORD = "demo-password";
export const USERS = {
  admin: "admin@example.com",
  designer: "designer@example.com",
  alice: "alice@example.com",
  bob: "bob@example.com",
};

/** The three transports, each tested on its own. */
export const TRANSPORTS = [
  ["WebSockets", signalR.HttpTransportType.WebSockets],
  ["ServerSentEvents", signalR.HttpTransportType.ServerSentEvents],
  ["LongPolling", signalR.HttpTransportType.LongPolling],
];

/** The reconnect schedule the suite uses (ms). */
export const RECONNECT_DELAYS = [0, 200, 500, 1000, 2000, 2000, 5000];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
export function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A run's seed: `$name` (a number, or `random` for a new one), else `fallback`. Print it, so a failure can be replayed. */
export function seedFrom(name, fallback) {
  const raw = process.env[name];
  return raw === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(raw ?? fallback);
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(check, { timeoutMs = 5000, intervalMs = 10, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The maintenance database of the server `databaseUrl` lives on. */
function adminUrlOf(databaseUrl) {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  return url.toString();
}

async function psql(url, sql) {
  await execFileAsync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]);
}

/**
 * Creates a fresh, migrated database (`request-desk local-db --test
 * --new-database`: cloned from a template migrated once, on DATABASE_URL's
 * server when set, else on the project's test cluster); its name and URL.
 */
export async function createDatabase() {
  const { stdout } = await execFileAsync(serverBinary(), ["local-db", "--test", "--new-database", "--prefix", "hubtest"], {
    env: { ...process.env, RUST_LOG: "warn" },
  });
  const url = stdout.trim().split("\n").pop();
  return { name: new URL(url).pathname.slice(1), url };
}

export async function dropDatabase(db) {
  await psql(adminUrlOf(db.url), `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
}

function serverBinary() {
  const bin = process.env.REQUEST_DESK_BIN ?? path.join(repoRoot, "target", "debug", "request-desk");
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin}: run \`cargo build -p request-desk-server\` first`);
  }
  return bin;
}

/**
 * Starts the real server on `port` against `databaseUrl` and resolves once
 * it printed its "listening on" line and `/health/ready` answers 200.
 */
/** Starts (or, with "--stop", stops) a PostgreSQL cluster of a test's own in `dataDir`; its admin URL. */
export async function localDb(dataDir, port, ...extra) {
  const { stdout } = await execFileAsync(serverBinary(), ["local-db", "--data-dir", dataDir, "--port", String(port), ...extra], {
    env: { ...process.env, RUST_LOG: "warn" },
  });
  return stdout.trim();
}

/**
 * `onOutput`, if given, gets every chunk the server writes (stdout and
 * stderr), for a test that needs more of the log than `output` keeps.
 */
export async function startServer({ port, databaseUrl, jwtSecret, onOutput }) {
  const child = spawn(serverBinary(), [], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      BIND_ADDR: `127.0.0.1:${port}`,
      JWT_SECRET: jwtSecret,
      SEED_DEMO: "true",
      RUST_LOG: process.env.RUST_LOG ?? "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = [];
  let listening = false;
  const onData = (chunk) => {
    const text = chunk.toString();
    output.push(text);
    if (output.length > 400) output.splice(0, output.length - 400);
    if (text.includes("listening on http://")) listening = true;
    onOutput?.(text);
    if (process.env.TEST_LOG) process.stderr.write(text);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })));
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (exitInfo) throw new Error(`server exited early (${JSON.stringify(exitInfo)})`);
        if (!listening) return false;
        try {
          const res = await fetch(`${baseUrl}/health/ready`);
          return res.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 50, what: "the server to become ready" },
    );
  } catch (error) {
    child.kill("SIGKILL");
    error.message += `\n--- server output ---\n${output.join("").slice(-8000)}`;
    throw error;
  }

  return {
    baseUrl,
    port,
    output,
    /** Resolves with `{code, signal, at}` (`at`: `Date.now()` when the process exited). */
    exited,
    /** Sends `name` (e.g. "SIGTERM") to the process and returns at once; `exited` tells when it is gone. */
    signal(name) {
      if (!exitInfo) child.kill(name);
    },
    /** Graceful stop (SIGTERM), then SIGKILL if it lingers. */
    async stop() {
      if (exitInfo) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
    /** An abrupt crash: connections drop without a goodbye. */
    async kill() {
      if (exitInfo) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * A fresh database and a server for one test file. `env.restart()` crashes
 * the server and starts a new one on the same port and database.
 */
export async function startEnvironment() {
  const db = await createDatabase();
  const jwtSecret = `test-secret-${randomBytes(16).toString("hex")}`;
  const port = await freePort();
  let server;
  try {
    server = await startServer({ port, databaseUrl: db.url, jwtSecret });
  } catch (error) {
    await dropDatabase(db).catch(() => {});
    throw error;
  }
  const env = {
    db,
    jwtSecret,
    get server() {
      return server;
    },
    get baseUrl() {
      return server.baseUrl;
    },
    hubUrl() {
      return `${server.baseUrl}/hubs/notifications`;
    },
    /** Starts another server on another port, same database. */
    async startSibling() {
      return startServer({ port: await freePort(), databaseUrl: db.url, jwtSecret });
    },
    async startAgain() {
      server = await startServer({ port, databaseUrl: db.url, jwtSecret });
      return server;
    },
    async teardown() {
      await server?.stop();
      await dropDatabase(db);
    },
  };
  return env;
}

/** A fresh environment with every demo user signed in, and today's date. */
export async function signedInEnvironment() {
  const env = await startEnvironment();
  const tokens = {};
  for (const [who, email] of Object.entries(USERS)) tokens[who] = await login(env.baseUrl, email);
  const today = (await publicSettings(env.baseUrl)).today;
  return { env, tokens, today };
}

// ---------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------

async function call(baseUrl, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

export async function login(baseUrl, email) {
  const res = await call(baseUrl, "POST", "/api/auth/login", { body: { email, password: PASSWORD } });
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

export async function publicSettings(baseUrl) {
  return (await call(baseUrl, "GET", "/api/settings/public")).body;
}

/** `POST /api/requests`; resolves with `{status, body}` (201 or 409 expected). */
export function book(baseUrl, token, dueDate, title = `hub test ${dueDate}`) {
  return call(baseUrl, "POST", "/api/requests", { token, body: { title, dueDate } });
}

export function move(baseUrl, token, id, dueDate, title = "moved by the hub test") {
  return call(baseUrl, "PUT", `/api/requests/${id}`, {
    token,
    body: { title, priority: "normal", dueDate },
  });
}

export async function availability(baseUrl, token, from, to) {
  const res = await call(baseUrl, "GET", `/api/availability?from=${from}&to=${to}`, { token });
  if (res.status !== 200) throw new Error(`availability: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** `today + days` as YYYY-MM-DD (UTC arithmetic on a date string). */
export function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

function b64url(value) {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Re-signs a real token's claims with `changes` applied, using `secret`. */
export function resign(token, secret, changes = {}) {
  const [header, payload] = token.split(".");
  const claims = { ...JSON.parse(Buffer.from(payload, "base64url").toString()), ...changes };
  const head = JSON.parse(Buffer.from(header, "base64url").toString());
  const unsigned = `${b64url(head)}.${b64url(claims)}`;
  const signature = createHmac("sha256", secret).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

// ---------------------------------------------------------------------------
// SignalR
// ---------------------------------------------------------------------------

/**
 * A hub connection with the suite's options; not started. `messagePack`
 * uses the official MessagePack protocol; `stateful` builds it
 * `withStatefulReconnect()`; `url` overrides the hub URL (e.g. through a
 * {@link tcpProxy}).
 */
export function hubConnection(
  env,
  token,
  transport,
  { reconnect = true, messagePack = false, stateful = false, url = env.hubUrl() } = {},
) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport, accessTokenFactory: () => token })
    .configureLogging(process.env.TEST_LOG ? signalR.LogLevel.Debug : signalR.LogLevel.None);
  // `reconnect`: true for the suite's schedule, or the delays to use.
  if (reconnect) builder = builder.withAutomaticReconnect(Array.isArray(reconnect) ? reconnect : RECONNECT_DELAYS);
  if (messagePack) builder = builder.withHubProtocol(new MessagePackHubProtocol());
  if (stateful) builder = builder.withStatefulReconnect();
  return builder.build();
}

/**
 * A TCP proxy on a free port in front of `targetPort`. `cut(ms)` kills
 * every proxied TCP connection at once (both sides, as a network failure
 * would, without a WebSocket close frame) and, for `ms`, holds new
 * connections unanswered, as a partition would; then they go through.
 */
export async function tcpProxy(targetPort) {
  const sockets = new Set();
  let cutUntil = 0;
  let accepted = 0;
  const pipe = (client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.resume();
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    accepted += 1;
    sockets.add(client);
    const wait = cutUntil - Date.now();
    if (wait > 0) setTimeout(() => pipe(client), wait);
    else pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    /** TCP connections accepted so far. */
    accepted: () => accepted,
    cut(ms) {
      cutUntil = Date.now() + ms;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A client that keeps a gap-free picture of capacity, exactly as API.md
 * tells a client to (and as the web client's live layer does): connect
 * (buffering events), fetch availability, apply buffered events newer than
 * each day's version, then `GetCapacityChangesSince(version)`; after every
 * reconnect, `GetCapacityChangesSince(baseline)` again (refetching on
 * `resync`).
 *
 * `baseline` is the version up to which the picture is known complete. It
 * follows the events only while the connection is caught up: an event heard
 * between a drop and the catch-up that follows (the new connection may hear
 * live events before `onreconnected` runs) says nothing about the changes
 * made while nobody listened, so it must not move the point the catch-up
 * asks from. `log` records what the watcher heard and asked, for a failing
 * test to print (`describe()`).
 */
export class CapacityWatcher {
  /** `options` go to {@link hubConnection} (e.g. `reconnect`: the delays). */
  constructor(env, token, transport, { from, to }, options = {}) {
    this.env = env;
    this.token = token;
    this.from = from;
    this.to = to;
    this.connection = hubConnection(env, token, transport, options);
    /** date → day, the newest version seen. */
    this.days = new Map();
    /** Every change up to this version is in `days` (null before the first fetch). */
    this.baseline = null;
    /** True while changes may have been missed: before the first catch-up and from a drop to the next catch-up. */
    this.gapOpen = true;
    /** The newest version heard while the gap was open. */
    this.heardDuringGap = 0;
    /** Every CapacityUpdated received, with its arrival time. */
    this.events = [];
    this.reconnects = 0;
    this.caughtUp = 0;
    this.log = [];
    this.connection.on("CapacityUpdated", (day) => {
      this.events.push({ at: Date.now(), day });
      this.trace("event", { date: day.date, v: day.version });
      this.apply(day);
      this.heard(day.version);
    });
    this.connection.on("CapacitySettingsChanged", () => {
      this.refetch().catch(() => {});
    });
    this.connection.onreconnecting(() => {
      this.gapOpen = true;
      this.trace("reconnecting");
    });
    this.connection.onreconnected(async () => {
      this.reconnects += 1;
      this.trace("reconnected");
      // Kept, so that stop() lets a catch-up in flight finish instead of cancelling it.
      this.pendingCatchUp = this.catchUp().catch((error) => this.trace("catch-up failed", { error: String(error) }));
      await this.pendingCatchUp;
    });
  }

  /** The newest version, as far as this watcher knows every change up to it. */
  get version() {
    return this.baseline ?? 0;
  }

  trace(what, extra = {}) {
    this.log.push({ t: Date.now(), what, baseline: this.baseline, gapOpen: this.gapOpen, ...extra });
  }

  apply(day) {
    const current = this.days.get(day.date);
    if (!current || day.version > current.version) this.days.set(day.date, day);
  }

  heard(version) {
    if (this.gapOpen) this.heardDuringGap = Math.max(this.heardDuringGap, version);
    else if (this.baseline !== null) this.baseline = Math.max(this.baseline, version);
  }

  async refetch() {
    const body = await availability(this.env.baseUrl, this.token, this.from, this.to);
    for (const day of body.days) this.apply(day);
    this.trace("fetched", { answer: body.version });
    if (this.baseline === null) this.baseline = body.version;
  }

  async catchUp() {
    // One at a time: a catch-up asked for while one runs runs after it.
    const previous = this.catchingUp ?? Promise.resolve();
    const run = previous.then(async () => {
      const since = this.baseline ?? 0;
      this.trace("catch-up asks", { since });
      const changes = await this.connection.invoke("GetCapacityChangesSince", since);
      this.trace("catch-up answer", { since, answer: changes.version, resync: changes.resync, days: changes.days.map((d) => `${d.date}@${d.version}`) });
      if (changes.resync) await this.refetch();
      for (const day of changes.days) this.apply(day);
      this.baseline = Math.max(this.baseline ?? 0, changes.version);
      if (this.connection.state === signalR.HubConnectionState.Connected) {
        // Every change up to the answer's version is in it, and the events this
        // connection heard meanwhile came in order from the moment it was
        // established, which was before the answer was read.
        this.baseline = Math.max(this.baseline, this.heardDuringGap);
        this.gapOpen = false;
      }
      this.heardDuringGap = 0;
      this.caughtUp += 1;
    });
    this.catchingUp = run.catch(() => {});
    return run;
  }

  async start() {
    await this.connection.start();
    await this.refetch();
    await this.catchUp();
    return this;
  }

  day(date) {
    return this.days.get(date);
  }

  /** What the watcher holds of `days` that differs, and its log around every reconnect. */
  describe(days) {
    const stale = days.filter((d) => this.day(d.date)?.version !== d.version);
    const lines = [`holds ${stale.map((d) => `${d.date}@${this.day(d.date)?.version} (database @${d.version})`).join(", ") || "the database's versions"}`];
    this.log.forEach((entry, i) => {
      if (entry.what !== "reconnecting") return;
      for (const l of this.log.slice(Math.max(0, i - 2), i + 12)) lines.push(`  ${JSON.stringify(l)}`);
    });
    return lines.join("\n");
  }

  async stop() {
    await this.pendingCatchUp?.catch(() => {});
    await this.connection.stop();
  }
}

/** The fields of a Day the watcher and the database must agree on. */
export function numbers(day) {
  if (!day) return day;
  const { date, capacity, used, held, remaining, percent, status, reason, note } = day;
  return { date, capacity, used, held, remaining, percent, status, reason, note };
}
