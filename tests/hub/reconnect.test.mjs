// The server goes away: clients reconnect by themselves and, through
// GetCapacityChangesSince in onreconnected, end up matching the database —
// including the changes made while they were away.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import {
  CapacityWatcher,
  TRANSPORTS,
  addDays,
  availability,
  book,
  numbers,
  signalR,
  signedInEnvironment,
  waitFor,
} from "./lib/harness.mjs";

// One server and the signed-in demo users for this file, torn down after it.
const { env, tokens, today } = await signedInEnvironment();
after(() => env.teardown());

test("after a server crash every transport reconnects and catches up on changes made while it was away", async () => {
  const from = addDays(today, 7);
  const to = addDays(today, 8);
  const watchers = [];
  try {
    for (const [, transport] of TRANSPORTS) {
      watchers.push(await new CapacityWatcher(env, tokens.alice, transport, { from, to }).start());
    }
    assert.equal((await book(env.baseUrl, tokens.bob, from)).status, 201);
    await waitFor(() => watchers.every((w) => w.day(from)?.used === 1), { what: "the first booking everywhere" });

    // Crash: connections drop without a Close message.
    await env.server.kill();
    await waitFor(() => watchers.every((w) => w.connection.state !== signalR.HubConnectionState.Connected), {
      what: "every client to notice",
    });

    // While they are away, another instance on the same database takes
    // bookings; the clients cannot hear about them live.
    const sibling = await env.startSibling();
    assert.equal((await book(sibling.baseUrl, tokens.bob, from)).status, 201);
    assert.equal((await book(sibling.baseUrl, tokens.bob, to)).status, 201);
    await sibling.stop();
    for (const w of watchers) {
      assert.equal(w.day(from).used, 1, "nothing arrived while away");
    }

    // The server comes back at the same address.
    await env.startAgain();
    await waitFor(() => watchers.every((w) => w.reconnects >= 1 && w.caughtUp >= 2), {
      timeoutMs: 20_000,
      what: "every client to reconnect and catch up",
    });

    const db = (await availability(env.baseUrl, tokens.alice, from, to)).days;
    for (const w of watchers) {
      assert.equal(w.connection.state, signalR.HubConnectionState.Connected);
      assert.deepEqual(numbers(w.day(from)), numbers(db[0]));
      assert.deepEqual(numbers(w.day(to)), numbers(db[1]));
      assert.equal(w.day(from).used, 2);
      assert.equal(w.day(to).used, 1);
    }

    // Live events flow again on the new connections.
    assert.equal((await book(env.baseUrl, tokens.bob, to)).status, 201);
    await waitFor(() => watchers.every((w) => w.day(to).used === 2), { what: "a live event after reconnecting" });
  } finally {
    await Promise.all(watchers.map((w) => w.stop()));
  }
});

test("a graceful shutdown sends Close {allowReconnect: true}: clients reconnect instead of giving up", async () => {
  const date = addDays(today, 9);
  const watchers = [];
  try {
    for (const [, transport] of TRANSPORTS) {
      const w = new CapacityWatcher(env, tokens.alice, transport, { from: date, to: date });
      w.reconnecting = 0;
      w.closed = 0;
      w.connection.onreconnecting(() => {
        w.reconnecting += 1;
      });
      w.connection.onclose(() => {
        w.closed += 1;
      });
      watchers.push(await w.start());
    }

    await env.server.stop(); // SIGTERM: the server calls Hub::shutdown first
    await waitFor(() => watchers.every((w) => w.reconnecting >= 1), {
      what: "every client to start reconnecting",
    });
    assert.deepEqual(
      watchers.map((w) => w.closed),
      [0, 0, 0],
      "no client treated the Close as final",
    );

    await env.startAgain();
    await waitFor(() => watchers.every((w) => w.connection.state === signalR.HubConnectionState.Connected), {
      timeoutMs: 20_000,
      what: "every client to reconnect",
    });
    assert.equal((await book(env.baseUrl, tokens.bob, date)).status, 201);
    const [db] = (await availability(env.baseUrl, tokens.alice, date, date)).days;
    await waitFor(() => watchers.every((w) => w.day(date)?.version === db.version), {
      what: "the booking to reach every reconnected client",
    });
    for (const w of watchers) assert.deepEqual(numbers(w.day(date)), numbers(db));
  } finally {
    await Promise.all(watchers.map((w) => w.stop()));
  }
});
