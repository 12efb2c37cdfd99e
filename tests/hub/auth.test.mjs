// Only valid tokens get in: negotiate and connect both check them, and the
// official client's start() fails on a forged or expired token.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { TRANSPORTS, USERS, hubConnection, login, resign, signalR, startEnvironment } from "./lib/harness.mjs";

let env;
let valid;

before(async () => {
  env = await startEnvironment();
  valid = await login(env.baseUrl, USERS.alice);
});

after(async () => {
  await env?.teardown();
});

const now = () => Math.floor(Date.now() / 1000);
const tokens = {
  forged: () => resign(valid, "not-the-server-secret"),
  expired: () => resign(valid, env.jwtSecret, { iat: now() - 7200, exp: now() - 3600 }),
};

async function negotiate(token) {
  return fetch(`${env.hubUrl()}/negotiate?negotiateVersion=1`, {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

describe("negotiate", () => {
  test("answers 401 without a token, with a forged one and with an expired one", async () => {
    for (const token of [undefined, tokens.forged(), tokens.expired()]) {
      const res = await negotiate(token);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, "unauthorized");
    }
  });

  test("accepts a valid token and hands out a connection token", async () => {
    const res = await negotiate(valid);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.negotiateVersion, 1);
    assert.equal(typeof body.connectionToken, "string");
  });

  test("connecting with a negotiated id still needs a valid token", async () => {
    const { connectionToken } = await (await negotiate(valid)).json();
    const url = `${env.hubUrl()}?id=${connectionToken}`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(`${url}&access_token=${tokens.forged()}`)).status, 401);
    assert.equal((await fetch(`${env.hubUrl()}?id=unknown`, { headers: { authorization: `Bearer ${valid}` } })).status, 404);
  });
});

for (const [name, transport] of TRANSPORTS) {
  describe(`the client over ${name}`, () => {
    for (const [kind, label] of [["forged", "a forged"], ["expired", "an expired"]]) {
      test(`refuses to start with ${label} token`, async () => {
        const connection = hubConnection(env, tokens[kind](), transport, { reconnect: false });
        await assert.rejects(connection.start(), /401/);
        assert.equal(connection.state, signalR.HubConnectionState.Disconnected);
      });
    }

    test("starts with a valid token", async () => {
      const connection = hubConnection(env, valid, transport, { reconnect: false });
      await connection.start();
      assert.equal(connection.state, signalR.HubConnectionState.Connected);
      await connection.stop();
    });
  });
}

describe("skipNegotiation over WebSockets", () => {
  const direct = (token) =>
    new signalR.HubConnectionBuilder()
      .withUrl(env.hubUrl(), {
        transport: signalR.HttpTransportType.WebSockets,
        skipNegotiation: true,
        accessTokenFactory: () => token,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();

  test("connects straight to the hub with a valid token", async () => {
    const connection = direct(valid);
    await connection.start();
    assert.equal(await connection.invoke("WatchAllDates"), null);
    await connection.stop();
  });

  test("is refused with a forged token", async () => {
    const connection = direct(tokens.forged());
    await assert.rejects(connection.start());
    assert.equal(connection.state, signalR.HubConnectionState.Disconnected);
  });
});
