// Stateful reconnect with the official client built withStatefulReconnect():
// the TCP connection under its WebSocket is cut (the client keeps running)
// and stays unreachable for a few seconds; the client resumes the SAME
// connection and receives every message sent meanwhile exactly once, in
// order — with the JSON and the MessagePack protocol.

import assert from "node:assert/strict";
import { after, test } from "node:test";

import {
  addDays,
  book,
  hubConnection,
  signalR,
  signedInEnvironment,
  sleep,
  tcpProxy,
  waitFor,
} from "./lib/harness.mjs";

// One server and the signed-in demo users for this file, torn down after it.
const { env, tokens, today } = await signedInEnvironment();
after(() => env.teardown());

[
  ["JSON", false, 5],
  ["MessagePack", true, 15],
].forEach(([protocol, messagePack, offset]) => {
  test(`${protocol}: a cut WebSocket resumes the same connection and misses nothing`, async () => {
    const proxy = await tcpProxy(Number(new URL(env.baseUrl).port));
    const url = `http://127.0.0.1:${proxy.port}/hubs/notifications`;
    const conn = hubConnection(env, tokens.alice, signalR.HttpTransportType.WebSockets, {
      messagePack,
      stateful: true,
      url,
    });
    const events = [];
    const lifecycle = [];
    conn.on("CapacityUpdated", (day) => events.push(day));
    conn.onreconnecting(() => lifecycle.push("reconnecting"));
    conn.onclose(() => lifecycle.push("closed"));
    await conn.start();
    try {
      const id = conn.connectionId;
      assert.ok(id);
      const date = addDays(today, offset);
      assert.equal(await conn.invoke("WatchDates", date, addDays(date, 5)), null);

      // One event before the cut, to know the pipe works.
      assert.equal((await book(env.baseUrl, tokens.bob, date)).status, 201);
      await waitFor(() => events.length === 1, { timeoutMs: 2000, what: "the first event" });

      // Cut the TCP connection; the network stays away for 3 s while six
      // changes happen (on two dates), sent straight to the server.
      const acceptedBefore = proxy.accepted();
      proxy.cut(3000);
      const booked = [];
      for (let i = 0; i < 6; i += 1) {
        const res = await book(env.baseUrl, tokens.bob, addDays(date, i % 2));
        assert.equal(res.status, 201, JSON.stringify(res.body));
        booked.push(res.body.id);
        await sleep(200);
      }

      await waitFor(() => events.length >= 7, { timeoutMs: 10_000, what: "the events sent during the cut" });
      await sleep(1500); // anything duplicated would arrive by now
      assert.equal(events.length, 7, `every event once: ${JSON.stringify(events.map((e) => e.version))}`);
      const versions = events.map((e) => e.version);
      assert.deepEqual(versions, [...versions].sort((a, b) => a - b), "in order");
      assert.equal(new Set(versions).size, 7, "no duplicates");
      assert.ok(proxy.accepted() > acceptedBefore, "the client came back on a new TCP connection");
      assert.equal(conn.connectionId, id, "the same connection");
      assert.equal(conn.state, signalR.HubConnectionState.Connected);
      assert.deepEqual(lifecycle, [], "resumed without a reconnect or a close");

      // The resumed connection still answers invocations and its state (the
      // watched window) survived.
      assert.equal((await book(env.baseUrl, tokens.bob, addDays(date, 9))).status, 201);
      const changes = await conn.invoke("GetCapacityChangesSince", versions.at(-1));
      assert.ok(changes.days.some((d) => d.date === addDays(date, 9)));
      await sleep(300);
      assert.ok(!events.some((e) => e.date === addDays(date, 9)), "the watched window survived the resume");
    } finally {
      await conn.stop();
      await proxy.close();
    }
  });
});

test("without withStatefulReconnect() negotiate does not offer it (the client would refuse)", async () => {
  const res = await fetch(`${env.hubUrl()}/negotiate?negotiateVersion=1`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.alice}` },
  });
  const body = await res.json();
  assert.equal(body.useStatefulReconnect, undefined);
  const asked = await fetch(`${env.hubUrl()}/negotiate?negotiateVersion=1&useStatefulReconnect=true`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.alice}` },
  });
  assert.equal((await asked.json()).useStatefulReconnect, true);
});
