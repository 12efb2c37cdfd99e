// A connection is only as good as its token and its user: it is closed,
// with allowReconnect, when the token expires, and at once, on every
// instance, when an admin disables the user.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { TRANSPORTS, USERS, hubConnection, login, resign, signedInEnvironment, waitFor } from "./lib/harness.mjs";

let env;
let sibling;
let tokens;

before(async () => {
  ({ env, tokens } = await signedInEnvironment());
  sibling = await env.startSibling();
});

after(async () => {
  await sibling?.stop();
  await env?.teardown();
});

const now = () => Math.floor(Date.now() / 1000);

/** A started connection that records how it ended. */
async function watch(view, token, transport) {
  const connection = hubConnection(view, token, transport, { reconnect: false });
  const ended = { closed: false, error: undefined };
  connection.onclose((error) => {
    ended.closed = true;
    ended.error = error;
  });
  await connection.start();
  return { connection, ended };
}

test("a connection whose token expires is closed with an error", async () => {
  const soon = resign(tokens.bob, env.jwtSecret, { iat: now(), exp: now() + 2 });
  const watched = [];
  for (const [, transport] of TRANSPORTS) watched.push(await watch(env, soon, transport));
  await waitFor(() => watched.every((w) => w.ended.closed), { timeoutMs: 8000, what: "every connection to close when its token expired" });
  for (const w of watched) assert.ok(w.ended.error, "the close carries an error");
});

test("disabling a user closes their open connections at once, on every instance", async () => {
  const me = await fetch(`${env.baseUrl}/api/auth/me`, { headers: { authorization: `Bearer ${tokens.bob}` } }).then((r) => r.json());
  const otherView = { ...env, hubUrl: () => `${sibling.baseUrl}/hubs/notifications` };
  const watched = [await watch(env, tokens.bob, TRANSPORTS[0][1]), await watch(otherView, tokens.bob, TRANSPORTS[0][1])];
  const alice = await watch(env, tokens.alice, TRANSPORTS[0][1]);
  try {
    const res = await fetch(`${env.baseUrl}/api/users/${me.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ disabled: true }),
    });
    assert.equal(res.status, 200, await res.text());
    await waitFor(() => watched.every((w) => w.ended.closed), { timeoutMs: 3000, what: "bob's connections on both instances to close" });
    assert.equal(alice.ended.closed, false, "other users stay connected");
    const negotiate = await fetch(`${sibling.baseUrl}/hubs/notifications/negotiate?negotiateVersion=1`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.bob}` },
    });
    assert.equal(negotiate.status, 401, "a disabled user's token no longer negotiates");
  } finally {
    await fetch(`${env.baseUrl}/api/users/${me.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ disabled: false }),
    });
    await alice.connection.stop();
  }
});
