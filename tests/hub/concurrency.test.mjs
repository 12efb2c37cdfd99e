// Many concurrent bookings for one date: capacity is never exceeded, and
// every watcher — one per transport — ends on the database's final numbers.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import {
  CapacityWatcher,
  TRANSPORTS,
  addDays,
  availability,
  book,
  numbers,
  signedInEnvironment,
  waitFor,
} from "./lib/harness.mjs";

// One server and the signed-in demo users for this file, torn down after it.
const { env, tokens, today } = await signedInEnvironment();
after(() => env.teardown());

test("30 concurrent bookings for a date with capacity 10: exactly 10 succeed and every watcher ends on the database's numbers", async () => {
  const date = addDays(today, 5);
  const watchers = [];
  try {
    const viewers = [tokens.alice, tokens.bob, tokens.admin];
    for (const [i, [, transport]] of TRANSPORTS.entries()) {
      watchers.push(await new CapacityWatcher(env, viewers[i], transport, { from: date, to: date }).start());
    }
    const [initial] = (await availability(env.baseUrl, tokens.alice, date, date)).days;
    assert.equal(initial.used, 0);
    const capacity = initial.capacity;
    assert.equal(capacity, 10);

    const bookers = [tokens.alice, tokens.bob, tokens.designer];
    const attempts = 3 * capacity;
    const results = await Promise.all(
      Array.from({ length: attempts }, (_, i) => book(env.baseUrl, bookers[i % bookers.length], date, `concurrent ${i}`)),
    );
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    assert.equal(created.length, capacity, JSON.stringify(results.map((r) => r.status)));
    assert.equal(refused.length, attempts - capacity);
    for (const r of refused) assert.equal(r.body.error, "capacity_full");

    const [db] = (await availability(env.baseUrl, tokens.alice, date, date)).days;
    assert.equal(db.used, capacity);
    assert.equal(db.remaining, 0);
    assert.equal(db.status, "full");

    for (const watcher of watchers) {
      await waitFor(() => watcher.day(date)?.version === db.version, {
        timeoutMs: 3000,
        what: "the watcher to reach the final version",
      });
      assert.deepEqual(numbers(watcher.day(date)), numbers(db));
      // Nobody was ever shown an overbooked day.
      for (const { day } of watcher.events) {
        assert.ok(day.used <= day.capacity, `event shows ${day.used}/${day.capacity}`);
        assert.ok(day.remaining >= 0);
      }
      // Every booking's change number reached the watcher (duplicates are
      // allowed by the contract, clients de-duplicate by version).
      const versions = new Set(watcher.events.map((e) => e.day.version));
      assert.equal(versions.size, capacity, `versions seen: ${[...versions].join(", ")}`);
    }
  } finally {
    await Promise.all(watchers.map((w) => w.stop()));
  }
});
