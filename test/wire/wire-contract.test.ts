import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { newClientMessageId } from "../../src/client/outbox/outbox.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { MAX_ENVELOPE_BYTES } from "../../src/protocol/envelope.ts";
import { normalizeUsername } from "../../src/relay/usernames.ts";
import {
  AckFrame,
  CLIENT_MESSAGE_ID,
  ClientFrame,
  isUsername,
  MAX_ACK_IDS,
  MESSAGE_PAGE,
  MessagesAnswer,
  PROTOCOL_MAX_ENVELOPE_BYTES,
  RelayFrame,
  readFrame,
} from "../../src/wire/index.ts";
import { buildTestRelay, errorCode, signUp, type TestRelay } from "../relay/fixtures/harness.ts";

/**
 * The wire contract itself (src/wire): its constants agree with the layers they repeat, its readers
 * never throw whatever the bytes, its bounds hold at N and N+1, and the relay reads request bodies with
 * it strictly (unknown fields and mistyped values refused, the value never echoed).
 */

describe("wire constants agree with the code they bound", () => {
  it("the envelope bound is the protocol's", () => {
    assert.equal(PROTOCOL_MAX_ENVELOPE_BYTES, MAX_ENVELOPE_BYTES);
  });

  it("the client's message ids fit the pattern the relay checks", () => {
    for (let i = 0; i < 50; i++)
      assert.match(newClientMessageId(nodeProvider.primitives.randomBytes), CLIENT_MESSAGE_ID);
  });

  it("a username the client accepts is exactly one the relay keeps as it is (property)", () => {
    const alphabet = fc.constantFrom(..."abcxyz0129._-A".split(""));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 40 }), (name) => {
        let kept = false;
        try {
          kept = normalizeUsername(name) === name;
        } catch {
          kept = false;
        }
        assert.equal(isUsername(name), kept, name);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("frame readers", () => {
  it("never throw: any text is a frame of the contract or a reason (property)", () => {
    const json = fc.oneof(
      fc.string(),
      fc.json().map((text) => text),
      fc.jsonValue().map((value) => JSON.stringify({ type: "message", ...(value as object) })),
      fc.jsonValue().map((value) => JSON.stringify({ type: "ack", ids: value })),
    );
    fc.assert(
      fc.property(json, (text) => {
        for (const reading of [readFrame(ClientFrame, text), readFrame(RelayFrame, text)]) {
          if (reading.ok) assert.equal(typeof reading.frame.type, "string");
          else assert.equal(typeof reading.why, "string");
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("bounds hold at N and N+1: ack ids, message pages", () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    assert.ok(AckFrame.safeParse({ type: "ack", ids: ids(MAX_ACK_IDS) }).success);
    assert.ok(!AckFrame.safeParse({ type: "ack", ids: ids(MAX_ACK_IDS + 1) }).success);
    assert.ok(!AckFrame.safeParse({ type: "ack", ids: [] }).success);
    const page = (n: number) => ({
      messages: ids(n).map((id) => ({ id, from: "bob", envelope: "AA==", sent_at: 1 })),
    });
    assert.ok(MessagesAnswer.safeParse(page(MESSAGE_PAGE.max)).success);
    assert.ok(!MessagesAnswer.safeParse(page(MESSAGE_PAGE.max + 1)).success);
  });

  it("a hostile __proto__ key does not reach the frame's prototype", () => {
    const reading = readFrame(
      ClientFrame,
      '{"type":"ack","ids":[1],"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    );
    assert.ok(reading.ok);
    assert.equal((reading.frame as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(reading.frame).sort(), ["ids", "type"]);
  });

  it("a refusal names the field, never the value", () => {
    const secret = "s3cret-token-value-that-must-not-echo";
    const reading = readFrame(RelayFrame, JSON.stringify({ type: "sent", id: secret, server_id: secret }));
    assert.ok(!reading.ok);
    assert.match(reading.why, /server_id/);
    assert.ok(!reading.why.includes(secret));
  });
});

describe("the relay reads request bodies with the contract", () => {
  let relay: TestRelay;
  let auth: { authorization: string };
  before(async () => {
    relay = await buildTestRelay();
    auth = (await signUp(relay.app, "alice")).auth;
  });
  after(async () => relay.close());

  const post = (url: string, payload: unknown) =>
    relay.app.inject({ method: "POST", url, headers: auth, payload: payload as object });

  it("refuses unknown fields, mistyped values (no coercion) and bounds, naming the field", async () => {
    for (const [url, payload, field] of [
      ["/v1/messages/ack", { ids: [1], extra: true }, "extra"],
      ["/v1/messages/ack", { ids: ["1"] }, "ids"],
      ["/v1/messages/ack", { ids: Array.from({ length: MAX_ACK_IDS + 1 }, (_, i) => i + 1) }, "ids"],
      ["/v1/messages", { to: 42, client_message_id: "m1", envelope: "AA==" }, "to"],
      [
        "/v1/messages",
        { to: "bob", client_message_id: "x".repeat(65), envelope: "AA==" },
        "client_message_id",
      ],
      ["/v1/challenges", { purpose: "steal", username: "alice" }, "purpose"],
    ] as const) {
      const response = await post(url, payload);
      assert.equal(response.statusCode, 400, `${url} ${JSON.stringify(payload).slice(0, 80)}`);
      assert.equal(errorCode(response), "malformed_request");
      assert.match(response.json<{ error: { message: string } }>().error.message, new RegExp(field));
    }
  });

  it("a malformed body leaks nothing it was sent", async () => {
    const secret = "AAAA-secret-signature-bytes-AAAA";
    const response = await post("/v1/auth/token", {
      username: "alice",
      challenge: "AA==",
      device_certificate: "AA==",
      signature: { bytes: secret },
    });
    assert.equal(response.statusCode, 400);
    assert.ok(!response.body.includes(secret));
  });
});
