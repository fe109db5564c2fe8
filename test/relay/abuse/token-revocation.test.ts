// Issue 12, finding 5: after `nano-client init --replace` (the command for a suspected key
// compromise), the old bearer token still polled, sent, acked and opened new WebSocket sessions until
// it expired (1 h by default, up to 7 days). Now an identity update deletes every token of the account
// in the same transaction and closes every socket at once; a token is minted only while the record
// that certified its device is current.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testEnvelope } from "../fixtures/identities.ts";
import { http, Peer, type RelayProcess, signUpOver } from "../fixtures/processes.ts";
import { startRelay, within } from "./_abuse.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** Logs in over HTTP with `user`'s device certificate; returns the HTTP status and the token. */
async function login(
  base: string,
  user: {
    username: string;
    deviceCertificate(expiresAt: number): Promise<Uint8Array>;
    authSignature(c: Uint8Array): Promise<Uint8Array>;
  },
): Promise<{ status: number; token: string; code?: string }> {
  const issued = await http(base, "POST", "/v1/challenges", { purpose: "auth", username: user.username });
  const challenge = new Uint8Array(Buffer.from(String(issued.json.challenge), "base64"));
  const answer = await http(base, "POST", "/v1/auth/token", {
    username: user.username,
    challenge: b64(challenge),
    device_certificate: b64(await user.deviceCertificate(Date.now() + 86_400_000)),
    signature: b64(await user.authSignature(challenge)),
  });
  return {
    status: answer.status,
    token: String(answer.json.token),
    ...(answer.status === 200 ? {} : { code: (answer.json.error as { code: string }).code }),
  };
}

describe("abuse: tokens do not survive an identity replacement", () => {
  let relay: RelayProcess;
  before(async () => {
    relay = await startRelay();
    await signUpOver(relay.url, "bob");
  });
  after(async () => relay.stop());

  it("revokes every token and closes every socket of the account at once", async () => {
    const { user: alice, token: stolen } = await signUpOver(relay.url, "alice");
    const other = (await login(relay.url, alice)).token;
    const sent = await http(
      relay.url,
      "POST",
      "/v1/messages",
      { to: "alice", client_message_id: "m1", envelope: b64(testEnvelope("to alice")) },
      stolen,
    );
    assert.equal(sent.status, 201);
    const push = new Peer(relay.wsUrl, stolen);
    await push.waitFor((frame) => frame.type === "ready");

    // The owner replaces the identity (authorized by the old keys) with one token...
    const { next, signature } = await alice.successor();
    const replaced = await http(
      relay.url,
      "PUT",
      "/v1/accounts/alice/identity",
      { identity_record: b64(next.record), signature: b64(signature) },
      other,
    );
    assert.equal(replaced.status, 200, JSON.stringify(replaced.json));

    // ...and the other token (the attacker's copy) is dead everywhere, at once.
    assert.equal(await within(push.closed, 10_000, "closing the socket"), 4401);
    for (const token of [stolen, other]) {
      const poll = await http(relay.url, "GET", "/v1/messages", undefined, token);
      assert.equal(poll.status, 401, "poll");
      const send = await http(
        relay.url,
        "POST",
        "/v1/messages",
        { to: "bob", client_message_id: "m2", envelope: b64(testEnvelope("x")) },
        token,
      );
      assert.equal(send.status, 401, "send");
      const ack = await http(relay.url, "POST", "/v1/messages/ack", { ids: [1] }, token);
      assert.equal(ack.status, 401, "ack");
      const again = new Peer(relay.wsUrl, token);
      assert.equal(await within(again.closed, 10_000, "a new session with the old token"), 4401);
    }
    // The old device cannot log in again; a device of the new record can.
    const oldDevice = await login(relay.url, alice);
    assert.equal(oldDevice.status, 401);
    const fresh = await login(relay.url, next);
    assert.equal(fresh.status, 200);
    const poll = await http(relay.url, "GET", "/v1/messages", undefined, fresh.token);
    assert.equal(poll.status, 200);
  });

  it("no login racing the replacement leaves a live token of the old device", async () => {
    // Challenges answered by the old device while the replacement commits: each is refused, or its
    // token is minted before the update and deleted by it; never one minted after, for the old record.
    const { user: carol } = await signUpOver(relay.url, "carol");
    const issued = await Promise.all(
      Array.from({ length: 12 }, () =>
        http(relay.url, "POST", "/v1/challenges", { purpose: "auth", username: "carol" }),
      ),
    );
    const answers = issued.map(async (challenge) => {
      const bytes = new Uint8Array(Buffer.from(String(challenge.json.challenge), "base64"));
      return {
        username: "carol",
        challenge: b64(bytes),
        device_certificate: b64(await carol.deviceCertificate(Date.now() + 86_400_000)),
        signature: b64(await carol.authSignature(bytes)),
      };
    });
    const { token } = await login(relay.url, carol);
    const { next, signature } = await carol.successor();
    const [replaced, ...logins] = await Promise.all([
      http(
        relay.url,
        "PUT",
        "/v1/accounts/carol/identity",
        { identity_record: b64(next.record), signature: b64(signature) },
        token,
      ),
      ...answers.map((answer) => http(relay.url, "POST", "/v1/auth/token", answer)),
    ]);
    assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
    for (const answer of logins) {
      if (answer.status !== 200) continue;
      const poll = await http(relay.url, "GET", "/v1/messages", undefined, String(answer.json.token));
      assert.equal(poll.status, 401, "a token of the old device outlived the replacement");
    }
  });
});
