import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { generateIdentitySeeds } from "../../src/client/home/identity-seeds.ts";
import { createOwnIdentity, type OwnIdentity } from "../../src/client/home/local-identity.ts";
import { RelayApi } from "../../src/client/transport/relay-api.ts";
import { endpointFromUrl } from "../../src/client/transport/relay-http.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import { MAX_ENVELOPE_BASE64, MAX_PROOF_HASHES, MESSAGE_PAGE } from "../../src/wire/index.ts";

/**
 * Issue 13, "one wire contract": whatever a relay answers is read with the contract's schema
 * (src/wire/answers.ts). A relay that answers with wrong types, missing fields, lists longer than the
 * API allows or a body that is not JSON gets a typed `relay_answer_malformed` from the SDK call —
 * never a TypeError, never an `undefined` handed on. Unknown extra fields are ignored (relays add
 * fields). A real HTTP server on port 0 plays the hostile relay; a real RelayApi (a real identity
 * that signs its challenges) talks to it.
 */

interface Scripted {
  readonly status: number;
  /** A string is sent as is (non-JSON bodies); anything else as JSON. */
  readonly body: unknown;
}

const TOKEN = "T".repeat(43);
const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString("base64");
const goodMessage = { id: 7, from: "bob", envelope: b64(300), sent_at: 1_700_000_000_000 };

/** Valid login answers, so each case reaches the endpoint it tests. */
const LOGIN: ReadonlyMap<string, Scripted> = new Map([
  ["POST /v1/challenges", { status: 200, body: { challenge: b64(32), expires_at: Date.now() + 60_000 } }],
  ["POST /v1/auth/token", { status: 200, body: { token: TOKEN, expires_at: Date.now() + 3_600_000 } }],
]);

let server: ReturnType<typeof createServer>;
let api: RelayApi;
const script = new Map<string, Scripted>();

function answer(request: IncomingMessage, response: ServerResponse): void {
  const key = `${request.method} ${(request.url ?? "").split("?")[0]}`;
  const scripted = script.get(key) ?? LOGIN.get(key);
  request.resume();
  if (scripted === undefined) {
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { code: "route_not_found", message: key } }));
    return;
  }
  const text = typeof scripted.body === "string" ? scripted.body : JSON.stringify(scripted.body);
  response.writeHead(scripted.status, { "content-type": "application/json" }).end(text);
}

async function ownIdentity(): Promise<OwnIdentity> {
  return createOwnIdentity(
    nodeProvider,
    await generateIdentitySeeds(nodeProvider, "classical"),
    "alice",
    Date.now(),
  );
}

/** Runs `call` against `answers` and returns what it rejected with (a NanoError is required). */
async function refusal(answers: Record<string, Scripted>, call: () => Promise<unknown>): Promise<NanoError> {
  script.clear();
  for (const [key, value] of Object.entries(answers)) script.set(key, value);
  api.forgetToken();
  try {
    await call();
  } catch (error) {
    assert.ok(NanoError.is(error), `a typed error, not ${String(error)}`);
    return error;
  }
  assert.fail("the call accepted a hostile answer");
}

async function malformed(answers: Record<string, Scripted>, call: () => Promise<unknown>): Promise<void> {
  const error = await refusal(answers, call);
  assert.equal(error.code, "relay_answer_malformed", error.message);
}

const ok = (body: unknown): Scripted => ({ status: 200, body });

describe("hostile relay answers become typed errors", () => {
  before(async () => {
    server = createServer(answer);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    api = new RelayApi(endpointFromUrl(url, null), await ownIdentity());
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("GET /v1/messages: wrong types, missing fields, hostile values and non-JSON", async () => {
    const poll = () => api.fetchMessages(0, 10);
    const route = "GET /v1/messages";
    for (const body of [
      { messages: "none" },
      {},
      { messages: [{ ...goodMessage, id: "7" }] },
      { messages: [{ ...goodMessage, id: -1 }] },
      { messages: [{ ...goodMessage, id: 2 ** 53 }] },
      { messages: [{ ...goodMessage, from: null }] },
      { messages: [{ ...goodMessage, envelope: 42 }] },
      { messages: [{ id: 1, from: "bob", envelope: "AA==" }] },
      { messages: [{ ...goodMessage, envelope: "A".repeat(MAX_ENVELOPE_BASE64 + 4) }] },
      null,
      [goodMessage],
      "<html>a captive portal</html>",
      "",
    ])
      await malformed({ [route]: ok(body) }, poll);
  });

  it("GET /v1/messages: a page longer than the API allows, or than asked for, is refused", async () => {
    const many = (n: number) => ({
      messages: Array.from({ length: n }, (_, i) => ({ ...goodMessage, id: i + 1 })),
    });
    await malformed({ "GET /v1/messages": ok(many(MESSAGE_PAGE.max + 1)) }, () =>
      api.fetchMessages(0, MESSAGE_PAGE.max),
    );
    await malformed({ "GET /v1/messages": ok(many(11)) }, () => api.fetchMessages(0, 10));
  });

  it("extra fields are ignored: a newer relay's answer still reads", async () => {
    script.clear();
    script.set("GET /v1/messages", ok({ messages: [{ ...goodMessage, priority: "high" }], cursor: 9 }));
    const [message] = await api.fetchMessages(0, 10);
    assert.deepEqual(Object.keys(message ?? {}).sort(), ["envelope", "from", "id", "sentAt"]);
    assert.equal(message?.envelope.length, 300);
  });

  it("sends, acks, bundles, accounts and prekey counts: each answer is checked", async () => {
    const envelope = new Uint8Array(300);
    for (const body of [
      { server_id: -5, duplicate: false },
      { server_id: 5 },
      { server_id: "5", duplicate: true },
    ])
      await malformed({ "POST /v1/messages": { status: 201, body } }, () => api.send("bob", "m1", envelope));
    await malformed({ "POST /v1/messages/ack": ok({ deleted: "all" }) }, () => api.ack([1, 2]));
    const bundle = {
      username: "bob",
      suite: 1,
      bundle: b64(900),
      one_time_prekey: null,
      last_resort_prekey: b64(40),
    };
    for (const body of [
      { ...bundle, bundle: 12 },
      { ...bundle, one_time_prekey: undefined },
      { ...bundle, suite: 70_000 },
    ])
      await malformed({ "GET /v1/prekeys/bob": ok(body) }, () => api.fetchBundle("bob", 1));
    await malformed(
      { "GET /v1/accounts/bob": ok({ username: "bob", identity_hash: "00", updated_at: 1 }) },
      () => api.account("bob"),
    );
    const count = { has_bundle: true, one_time_count: 3, rotation_due: false };
    for (const body of [
      { ...count, has_bundle: "yes" },
      { ...count, one_time_count: -1 },
      { ...count, suites: [{ suite: 2, one_time_count: 1 }] },
    ])
      await malformed({ "GET /v1/prekeys": ok(body) }, () => api.prekeyCount());
    const hash = "ab".repeat(64);
    const upload = () => api.uploadAttachment(hash, ["bob"], new Uint8Array(64));
    const route = `PUT /v1/attachments/${hash}`;
    for (const body of [{ hash: "cd".repeat(64), size: 64 }, { hash, size: -1 }, { size: 64 }, "stored!"])
      await malformed({ [route]: { status: 201, body } }, upload);
    await malformed({ "PUT /v1/prekeys": ok({ one_time_count: null }) }, () =>
      api.uploadPrekeys(null, [new Uint8Array(8)]),
    );
  });

  it("the login's own answers: a malformed challenge or token is refused and never echoed", async () => {
    await malformed({ "POST /v1/challenges": ok({ challenge: null, expires_at: 1 }) }, () => api.token());
    const secret = "not-a-token-but-a-secret-the-relay-leaked";
    const error = await refusal(
      { "POST /v1/auth/token": ok({ token: secret, expires_at: Date.now() + 60_000 }) },
      () => api.token(),
    );
    assert.equal(error.code, "relay_answer_malformed");
    assert.ok(!error.message.includes(secret), "the error names the field, never its value");
    await malformed({ "POST /v1/auth/token": ok({ token: TOKEN }) }, () => api.token());
  });

  it("key transparency: an oversized proof or wrong key list is malformed; no KT keys stays kt_proof_missing", async () => {
    const proof = Array.from({ length: MAX_PROOF_HASHES + 1 }, () => b64(32));
    await malformed({ "GET /v1/transparency/kt/consistency": ok({ log: "kt", from: 1, to: 2, proof }) }, () =>
      api.ktConsistency(1, 2),
    );
    const kt = { origin: "relay/kt", verifier_keys: ["a", "b"] };
    for (const keys of [["a", "b", "c"], ["a"], [1, 2]])
      await malformed({ "GET /v1/transparency/log-keys": ok({ kt: { ...kt, verifier_keys: keys } }) }, () =>
        api.ktLogKeys(),
      );
    const missing = await refusal({ "GET /v1/transparency/log-keys": ok({}) }, () => api.ktLogKeys());
    assert.equal(missing.code, "kt_proof_missing");
  });

  it("error answers: a known code is kept with a bounded message; a malformed error body is relay_rejected", async () => {
    const huge = "x".repeat(1_000_000);
    const known = await refusal(
      {
        "GET /v1/accounts/bob": {
          status: 404,
          body: { error: { code: "account_not_found", message: huge } },
        },
      },
      () => api.account("bob"),
    );
    assert.equal(known.code, "account_not_found");
    assert.ok(known.message.length <= 500);
    for (const body of [{ error: "account_not_found" }, { error: { code: 404 } }, "<html>", [1]]) {
      const error = await refusal({ "GET /v1/accounts/bob": { status: 404, body } }, () =>
        api.account("bob"),
      );
      assert.equal(error.code, "relay_rejected");
    }
  });
});
