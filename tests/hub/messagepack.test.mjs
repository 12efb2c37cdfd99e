// The MessagePack hub protocol with the official
// @microsoft/signalr-protocol-msgpack client, over the transports that carry
// binary (WebSockets, Long Polling): every event and every method, errors
// included. Server-Sent Events cannot carry binary: the client refuses it.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";

import {
  addDays,
  availability,
  book,
  hubConnection,
  numbers,
  signalR,
  signedInEnvironment,
  waitFor,
} from "./lib/harness.mjs";

// One server and the signed-in demo users for this file, torn down after it.
const { env, tokens, today } = await signedInEnvironment();
after(() => env.teardown());

const BINARY_TRANSPORTS = [
  ["WebSockets", signalR.HttpTransportType.WebSockets],
  ["LongPolling", signalR.HttpTransportType.LongPolling],
];

BINARY_TRANSPORTS.forEach(([name, transport], index) => {
  const offset = 3 + index * 10;

  describe(`MessagePack over ${name}`, () => {
    test("every event arrives, decoded to the same values the JSON protocol carries", async () => {
      const date = addDays(today, offset);
      const alice = hubConnection(env, tokens.alice, transport, { messagePack: true, reconnect: false });
      const designer = hubConnection(env, tokens.designer, transport, { messagePack: true, reconnect: false });
      const got = { capacity: [], notifications: [], inbox: [] };
      alice.on("CapacityUpdated", (day) => got.capacity.push(day));
      designer.on("NotificationReceived", (n) => got.notifications.push(n));
      designer.on("InboxUpdated", (n) => got.inbox.push(n));
      await alice.start();
      await designer.start();
      try {
        assert.equal(alice.connection.transport.constructor.name, name === "WebSockets" ? "WebSocketTransport" : "LongPollingTransport");
        const res = await book(env.baseUrl, tokens.bob, date);
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const event = await waitFor(() => got.capacity.find((d) => d.date === date), {
          timeoutMs: 2000,
          what: "CapacityUpdated over MessagePack",
        });
        const [db] = (await availability(env.baseUrl, tokens.alice, date, date)).days;
        assert.deepEqual(numbers(event), numbers(db));
        assert.equal(typeof event.version, "number");
        assert.equal(typeof event.timestamp, "string");
        // The booking notified the default designer.
        const note = await waitFor(() => got.notifications.find((n) => n.requestId === res.body.id), {
          timeoutMs: 2000,
          what: "NotificationReceived over MessagePack",
        });
        assert.equal(note.kind, "NewRequest");
        await waitFor(() => got.inbox.length > 0, { timeoutMs: 2000, what: "InboxUpdated" });
        assert.equal(typeof got.inbox.at(-1).unreadCount, "number");
      } finally {
        await alice.stop();
        await designer.stop();
      }
    });

    test("every method answers, errors included, and WatchDates filters", async () => {
      const inside = addDays(today, offset + 1);
      const outside = addDays(today, offset + 2);
      const conn = hubConnection(env, tokens.alice, transport, { messagePack: true, reconnect: false });
      const seen = [];
      conn.on("CapacityUpdated", (day) => seen.push(day.date));
      await conn.start();
      try {
        assert.equal(await conn.invoke("WatchDates", inside, inside), null);
        const changes = await conn.invoke("GetCapacityChangesSince", 0);
        assert.equal(typeof changes.version, "number");
        assert.equal(typeof changes.resync, "boolean");
        assert.ok(Array.isArray(changes.days));
        await assert.rejects(conn.invoke("Nope"), /Unknown hub method 'Nope'/);
        await assert.rejects(
          conn.invoke("WatchDates", inside),
          /Invocation provides 1 argument\(s\) but target 'WatchDates' expects 2\./,
        );
        await assert.rejects(conn.invoke("GetCapacityChangesSince", "x"), /integer version/);

        assert.equal((await book(env.baseUrl, tokens.bob, outside)).status, 201);
        assert.equal((await book(env.baseUrl, tokens.bob, inside)).status, 201);
        await waitFor(() => seen.includes(inside), { timeoutMs: 2000, what: "the watched date" });
        assert.ok(!seen.includes(outside), "a date outside the window was delivered");

        assert.equal(await conn.invoke("WatchAllDates"), null);
        assert.equal((await book(env.baseUrl, tokens.bob, outside)).status, 201);
        await waitFor(() => seen.includes(outside), { timeoutMs: 2000, what: "any date after WatchAllDates" });
        assert.equal(conn.state, signalR.HubConnectionState.Connected);
      } finally {
        await conn.stop();
      }
    });
  });
});

test("MessagePack over Server-Sent Events is refused: negotiate offers SSE as text only", async () => {
  const conn = hubConnection(env, tokens.alice, signalR.HttpTransportType.ServerSentEvents, {
    messagePack: true,
    reconnect: false,
  });
  await assert.rejects(conn.start(), /ServerSentEvents|does not support Binary|Unable to connect/);
});
