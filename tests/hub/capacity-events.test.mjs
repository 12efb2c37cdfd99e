// Live capacity events over each transport: a booking, a move, the
// WatchDates filter, and hub method errors — with the official client
// against the real server and database.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";

import {
  CapacityWatcher,
  TRANSPORTS,
  addDays,
  availability,
  book,
  hubConnection,
  move,
  numbers,
  signalR,
  signedInEnvironment,
  waitFor,
} from "./lib/harness.mjs";

// One server and the signed-in demo users for this file, torn down after it.
const { env, tokens, today } = await signedInEnvironment();
after(() => env.teardown());

TRANSPORTS.forEach(([name, transport], index) => {
  // Each transport works on its own dates, so the tests cannot see each
  // other's bookings.
  const offset = 2 + index * 10;

  describe(`over ${name}`, () => {
    test("another user's booking arrives as CapacityUpdated within 1 s with the new numbers", async () => {
      const date = addDays(today, offset);
      const watcher = await new CapacityWatcher(env, tokens.alice, transport, { from: date, to: date }).start();
      try {
        const before = watcher.day(date);
        assert.equal(before.used, 0);

        const started = Date.now();
        const res = await book(env.baseUrl, tokens.bob, date);
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const event = await waitFor(() => watcher.events.find((e) => e.day.date === date), {
          timeoutMs: 1000,
          what: `CapacityUpdated for ${date}`,
        });
        assert.ok(event.at - started <= 1000, `arrived after ${event.at - started} ms`);

        const [db] = (await availability(env.baseUrl, tokens.alice, date, date)).days;
        assert.deepEqual(numbers(event.day), numbers(db));
        assert.equal(event.day.used, 1);
        assert.equal(event.day.version, db.version);
        assert.ok(event.day.version > before.version);
        assert.equal(typeof event.day.timestamp, "string");
      } finally {
        await watcher.stop();
      }
    });

    test("moving a request updates both dates for a watcher", async () => {
      const from = addDays(today, offset + 1);
      const to = addDays(today, offset + 2);
      const watcher = await new CapacityWatcher(env, tokens.bob, transport, { from, to }).start();
      try {
        const created = await book(env.baseUrl, tokens.alice, from);
        assert.equal(created.status, 201, JSON.stringify(created.body));
        await waitFor(() => watcher.day(from)?.used === 1, { what: "the booking event" });
        const seen = watcher.events.length;

        const moved = await move(env.baseUrl, tokens.alice, created.body.id, to);
        assert.equal(moved.status, 200, JSON.stringify(moved.body));
        await waitFor(() => watcher.day(from).used === 0 && watcher.day(to)?.used === 1, {
          timeoutMs: 2000,
          what: "events for both dates",
        });
        // (Events may arrive twice — the contract allows it — hence the set.)
        const afterMove = [...new Set(watcher.events.slice(seen).map((e) => e.day.date))].sort();
        assert.deepEqual(afterMove, [from, to]);

        const db = (await availability(env.baseUrl, tokens.bob, from, to)).days;
        assert.deepEqual(numbers(watcher.day(from)), numbers(db[0]));
        assert.deepEqual(numbers(watcher.day(to)), numbers(db[1]));
      } finally {
        await watcher.stop();
      }
    });

    test("WatchDates delivers dates inside the window and not outside; WatchAllDates restores", async () => {
      const inside = addDays(today, offset + 3);
      const outside = addDays(today, offset + 4);
      const connection = hubConnection(env, tokens.alice, transport);
      const events = [];
      connection.on("CapacityUpdated", (day) => {
        events.push(day);
      });
      await connection.start();
      try {
        assert.equal(await connection.invoke("WatchDates", inside, inside), null);
        assert.equal((await book(env.baseUrl, tokens.bob, outside)).status, 201);
        assert.equal((await book(env.baseUrl, tokens.bob, inside)).status, 201);
        // Events of one connection arrive in order, so once the second
        // booking's event is here, the first one's would have been too.
        await waitFor(() => events.some((d) => d.date === inside), { what: "the event inside the window" });
        assert.deepEqual([...new Set(events.map((d) => d.date))], [inside]);

        assert.equal(await connection.invoke("WatchAllDates"), null);
        assert.equal((await book(env.baseUrl, tokens.bob, outside)).status, 201);
        await waitFor(() => events.some((d) => d.date === outside), { what: "the event after WatchAllDates" });
      } finally {
        await connection.stop();
      }
    });

    test("an unknown method or bad arguments get an error and the connection stays up", async () => {
      const connection = hubConnection(env, tokens.alice, transport);
      await connection.start();
      try {
        await assert.rejects(connection.invoke("NoSuchMethod", 1), {
          message: "Unknown hub method 'NoSuchMethod'",
        });
        await assert.rejects(connection.invoke("WatchDates", "2026-13-01", "nope"), /WatchDates expects/);
        await assert.rejects(
          connection.invoke("WatchDates", addDays(today, 3), addDays(today, 2)),
          /from <= to/,
        );
        await assert.rejects(connection.invoke("GetCapacityChangesSince"), /argument/);
        assert.equal(connection.state, signalR.HubConnectionState.Connected);

        // A later invoke still works.
        const changes = await connection.invoke("GetCapacityChangesSince", 0);
        assert.equal(typeof changes.version, "number");
        assert.ok(Array.isArray(changes.days));
        assert.equal(typeof changes.resync, "boolean");
        assert.equal(connection.state, signalR.HubConnectionState.Connected);
      } finally {
        await connection.stop();
      }
    });
  });
});
