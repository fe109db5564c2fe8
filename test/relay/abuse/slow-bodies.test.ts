// Issue 12, finding 4: JSON routes read the body before checking the token, and a 1 byte/s body was
// held for request_timeout_seconds (an hour); with max_connections = 60, 60 such clients locked out
// every legitimate request. Now: the token is checked from the headers and a body without one is
// never read; other bodies must arrive within body_timeout_seconds; connections per address are capped.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { http, type RelayProcess, signUpOver } from "../fixtures/processes.ts";
import { ATTACKER, RawClient, startRelay, within } from "./_abuse.ts";

const BODY_TIMEOUT_SECONDS = 2;
const PER_ADDRESS = 8;
const MAX_CONNECTIONS = 24;

describe("abuse: slow request bodies", () => {
  let relay: RelayProcess;
  let port: number;
  let token: string;
  const clients: RawClient[] = [];
  const client = (address?: string) => {
    const raw = new RawClient(port, address);
    clients.push(raw);
    return raw;
  };

  before(async () => {
    relay = await startRelay({
      server: {
        body_timeout_seconds: BODY_TIMEOUT_SECONDS,
        max_connections: MAX_CONNECTIONS,
        max_connections_per_address: PER_ADDRESS,
      },
    });
    port = relay.ports!.api_port;
    ({ token } = await signUpOver(relay.url, "alice"));
  });
  after(async () => {
    for (const raw of clients) raw.destroy();
    await relay.stop();
  });

  it("answers a body without a valid token with 401 before reading it, and closes", async () => {
    for (const authorization of [undefined, "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
      const raw = client();
      raw.head("POST", "/v1/messages", 50_000, authorization === undefined ? {} : { authorization }, "{");
      raw.trickle(200);
      await within(raw.closed, 10_000, "refusal of an unauthenticated body");
      assert.equal(raw.status, 401, raw.received);
      assert.equal(raw.errorCode, "unauthenticated");
    }
  });

  it("answers a body to an unknown route with 404 without reading it", async () => {
    const raw = client();
    raw.head("POST", "/v1/nowhere", 50_000, { authorization: `Bearer ${token}` }, "{");
    raw.trickle(200);
    await within(raw.closed, 10_000, "refusal of a body to an unknown route");
    assert.equal(raw.status, 404, raw.received);
    assert.equal(raw.errorCode, "route_not_found");
  });

  it("cuts an authenticated body that trickles after body_timeout_seconds with 408", async () => {
    const raw = client();
    raw.head("POST", "/v1/messages", 50_000, { authorization: `Bearer ${token}` }, "{");
    raw.trickle(200);
    // Before the fix this connection stayed open for request_timeout_seconds (3600 s).
    await within(raw.closed, BODY_TIMEOUT_SECONDS * 1000 + 10_000, "body timeout");
    assert.equal(raw.status, 408, raw.received);
    assert.equal(raw.errorCode, "body_timeout");
  });

  it("cuts a slow body to a public route (claims, logins) the same way", async () => {
    const raw = client();
    raw.head("POST", "/v1/challenges", 1000, {}, "{");
    raw.trickle(200);
    await within(raw.closed, BODY_TIMEOUT_SECONDS * 1000 + 10_000, "body timeout on a public route");
    assert.equal(raw.status, 408, raw.received);
  });

  it("one address holding slow connections cannot lock out another", async () => {
    // As many slow claims as the whole relay accepts connections, all from the attacker's address.
    const attackers = Array.from({ length: MAX_CONNECTIONS }, () => client(ATTACKER));
    await Promise.all(attackers.map((raw) => within(raw.opened, 10_000, "attacker connect")));
    for (const raw of attackers) {
      raw.head("POST", "/v1/challenges", 1000, {}, "{");
      raw.trickle(500);
    }
    // The connections over the per-address cap are closed unanswered...
    await within(
      Promise.all(attackers.slice(PER_ADDRESS).map((raw) => raw.closed)),
      10_000,
      "closing the connections over the per-address cap",
    );
    assert.ok(attackers.slice(PER_ADDRESS).every((raw) => raw.received === ""));
    // ...so a legitimate client still gets in, while the attacker's first ones are still open.
    const open = attackers.filter((raw) => !raw.socket.destroyed).length;
    assert.ok(open > 0 && open <= PER_ADDRESS, `${open} attacker connections open`);
    const health = await within(http(relay.url, "GET", "/healthz"), 10_000, "a victim's request");
    assert.equal(health.status, 200);
    const challenge = await http(relay.url, "POST", "/v1/challenges", { purpose: "auth", username: "alice" });
    assert.equal(challenge.status, 200, JSON.stringify(challenge.json));
  });
});
