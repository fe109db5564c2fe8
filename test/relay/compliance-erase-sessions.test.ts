// `nano-relay compliance erase` runs in its own process: the account's tokens are deleted in its
// transaction (HTTP answers 401 at once), and the running relay must also end the WebSocket sessions
// those tokens opened — 4401 `account_erased` — instead of leaving them open until the token's expiry
// (docs/compliance.md "Erasure"; src/relay/erasure-watch.ts). A real relay process on SQLite.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import {
  call,
  claim,
  ktTempDir,
  login,
  makeUser,
  publishBundle,
  type RelayProcess,
  runRelayCli,
  startRelayProcess,
  type User,
  writeKtConfig,
} from "./_kt-helpers.ts";

interface Session {
  readonly socket: WebSocket;
  readonly ready: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

function connect(url: string, token: string): Session {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  socket.on("error", () => {});
  const ready = new Promise<void>((resolve) =>
    socket.on("message", (data) => {
      if ((JSON.parse(data.toString()) as { type?: string }).type === "ready") resolve();
    }),
  );
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { socket, ready, closed };
}

async function signUp(api: string, name: string): Promise<User> {
  const user = await makeUser(name);
  assert.equal((await claim(api, user)).status, 201);
  await login(api, user);
  await publishBundle(api, user);
  return user;
}

describe("an operator erasure ends the account's open sessions (SQLite, real relay process)", {
  timeout: 120_000,
}, () => {
  const dir = ktTempDir("erase-sessions");
  const config = writeKtConfig(dir);
  let relay: RelayProcess;
  let ws: string;
  before(async () => {
    relay = await startRelayProcess(config, dir);
    ws = (JSON.parse(readFileSync(join(dir, "ports.json"), "utf8")) as { websocket_url: string })
      .websocket_url;
  });
  after(async () => {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a connected client is closed with 4401 account_erased within seconds; its token answers 401; others stay", async () => {
    const erased = await signUp(relay.api, "quentin");
    const other = await signUp(relay.api, "rita");
    const session = connect(ws, erased.token!);
    const second = connect(ws, erased.token!);
    const bystander = connect(ws, other.token!);
    await Promise.all([session.ready, second.ready, bystander.ready]);
    assert.equal((await call(relay.api, "GET", "/v1/messages", undefined, erased.token)).status, 200);

    const started = Date.now();
    const run = runRelayCli(["compliance", "erase", "--config", config, "--user", "quentin", "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const outcome = await Promise.race([
      Promise.all([session.closed, second.closed]),
      new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 15_000)),
    ]);
    assert.notEqual(outcome, "open", "the sessions were left open");
    assert.deepEqual(outcome, [
      { code: 4401, reason: "account_erased" },
      { code: 4401, reason: "account_erased" },
    ]);
    // The relay looks once a second; the command itself (VACUUM included) takes the rest.
    assert.ok(Date.now() - started < 15_000);
    const refused = await call(relay.api, "GET", "/v1/messages", undefined, erased.token);
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    // A new connection with the erased token is refused too.
    const again = connect(ws, erased.token!);
    assert.equal((await again.closed).code === 4401 || (await again.closed).code === 1006, true);
    assert.equal(bystander.socket.readyState, WebSocket.OPEN, "another account's session stays");
    assert.equal((await call(relay.api, "GET", "/v1/messages", undefined, other.token)).status, 200);
    bystander.socket.close();
  });
});
