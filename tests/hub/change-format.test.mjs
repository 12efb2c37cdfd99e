// A change whose change-stream payload this build cannot read — written by a
// newer build in a format it does not know, or corrupt — is never dropped:
// every instance catches up from the change feed, so every viewer on every
// instance still ends on the database's numbers, and the payload is counted
// in `change_stream_undecodable_total`. The change here is an override
// (capacity 7 with a note) made by hand, announced only by such a payload.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { CapacityWatcher, TRANSPORTS, addDays, book, signedInEnvironment, waitFor } from "./lib/harness.mjs";

const execFileAsync = promisify(execFile);

let env;
let sibling;
let tokens;
let today;
const watchers = [];

before(async () => {
  ({ env, tokens, today } = await signedInEnvironment());
  sibling = await env.startSibling();
  const window = { from: today, to: addDays(today, 30) };
  for (const baseUrl of [env.baseUrl, sibling.baseUrl]) {
    const on = { ...env, baseUrl, hubUrl: () => `${baseUrl}/hubs/notifications` };
    for (const [, transport] of TRANSPORTS) {
      watchers.push(await new CapacityWatcher(on, tokens.alice, transport, window).start());
    }
  }
});

after(async () => {
  for (const w of watchers) await w.stop().catch(() => {});
  await sibling?.stop();
  await env?.teardown();
});

/** Commits a change to `date`'s note, announced only by `payload`; the day's new version. */
async function changeAnnouncedBy(date, note, payload) {
  const sql =
    `BEGIN; ` +
    `UPDATE days SET capacity_override = 7, override_note = '${note}', version = nextval('change_version_seq') WHERE date = '${date}'; ` +
    `SELECT pg_notify('request_desk_changes', '${payload.replaceAll("'", "''")}'); ` +
    `COMMIT; ` +
    `SELECT version FROM days WHERE date = '${date}'`;
  const { stdout } = await execFileAsync("psql", [env.db.url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]);
  return Number(stdout.trim().split("\n").pop());
}

async function undecodableCount(baseUrl, reason) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`change_stream_undecodable_total{reason="${reason}"}`));
  return Number(line?.split(" ").pop() ?? NaN);
}

for (const [reason, payload] of [
  ["newer_format", JSON.stringify({ format: 99, events: [{ kind: "somethingNew", date: "x" }] })],
  ["undecodable", "not a payload of any format"],
]) {
  test(`a change announced in a payload nobody can read (${reason}) still reaches every viewer of every instance`, async () => {
    const date = addDays(today, reason === "newer_format" ? 3 : 4);
    const booked = await book(env.baseUrl, tokens.alice, date);
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    const before = await Promise.all([env.baseUrl, sibling.baseUrl].map((u) => undecodableCount(u, reason)));

    const version = await changeAnnouncedBy(date, `note ${reason}`, payload);

    await waitFor(() => watchers.every((w) => w.day(date)?.version === version), {
      timeoutMs: 3000,
      what: `every viewer to reach ${date}@${version}:\n${watchers.map((w) => w.describe([{ date, version }])).join("\n")}`,
    });
    for (const w of watchers) assert.deepEqual([w.day(date).capacity, w.day(date).note], [7, `note ${reason}`]);
    const counted = await Promise.all([env.baseUrl, sibling.baseUrl].map((u) => undecodableCount(u, reason)));
    assert.deepEqual(
      counted,
      before.map((n) => n + 1),
      "each instance counts the payload once",
    );
  });
}
