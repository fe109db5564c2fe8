// Shared state raced through three relay processes at once, over HTTP as clients would: one-time
// prekeys fetched in parallel through every relay go out exactly once each and then fall back to the
// last-resort key; claims, logins and identity updates through every relay append to the two Merkle
// logs while every relay signs checkpoints on a 100 ms timer, and `nano-relay audit verify` then finds
// one valid sequence per log with every checkpoint consistent; a send retried through every relay at
// once is one message, and acknowledgements raced through every relay delete each message once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { http, signUpOver } from "../relay/fixtures/processes.ts";
import { TestCluster } from "./_cluster.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

describe("cluster: shared state raced through three relays", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create({
      relays: 3,
      overrides: { compliance: { checkpoint_interval_seconds: 0.1 } },
    });
    await cluster.start();
    await cluster.ready();
  });
  after(() => cluster.stop());

  const relay = (i: number) => cluster.relays[i % cluster.relays.length]!;

  it("hands each one-time prekey out once across parallel fetches from three relays, then the last resort", async () => {
    const bob = await signUpOver(relay(0).url, "bob");
    const keys = await bob.user.oneTimePrekeys(24);
    const uploaded = await http(
      relay(0).url,
      "PUT",
      "/v1/prekeys",
      { bundle: b64(await bob.user.bundle()), one_time_prekeys: keys.map(b64) },
      bob.token,
    );
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.json));
    const requesters = await Promise.all(
      Array.from({ length: 6 }, (_, i) => signUpOver(relay(i).url, `asker${i}`)),
    );
    const fetches = requesters.flatMap((asker, i) =>
      Array.from({ length: 6 }, (_, j) =>
        http(relay(i + j).url, "GET", "/v1/prekeys/bob", undefined, asker.token),
      ),
    );
    const answers = await Promise.all(fetches);
    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.json));
    const oneTime = answers.map((a) => a.json.one_time_prekey).filter((k): k is string => k !== null);
    assert.equal(new Set(oneTime).size, oneTime.length, "no one-time key was handed out twice");
    assert.deepEqual(new Set(oneTime), new Set(keys.map(b64)), "every key was handed out");
    const lastResort = new Set(answers.map((a) => a.json.last_resort_prekey));
    assert.equal(lastResort.size, 1, "the 12 fetches after the stock ran out got the one last-resort key");
  });

  it("stores a send retried through three relays at once once, and deletes it once when acks race", async () => {
    const carol = await signUpOver(relay(0).url, "carol");
    const dan = await signUpOver(relay(1).url, "dan");
    const ids = Array.from({ length: 10 }, (_, i) => `same-${i}`);
    const sends = ids.flatMap((id) =>
      [0, 1, 2].map((r) =>
        http(
          relay(r).url,
          "POST",
          "/v1/messages",
          { to: "dan", client_message_id: id, envelope: b64(testEnvelope(id)) },
          carol.token,
        ),
      ),
    );
    const answers = await Promise.all(sends);
    for (const answer of answers) assert.ok([200, 201].includes(answer.status), JSON.stringify(answer.json));
    for (let i = 0; i < ids.length; i++) {
      const three = answers.slice(i * 3, i * 3 + 3);
      assert.equal(three.filter((a) => a.status === 201).length, 1, "one of the three stored it");
      assert.equal(new Set(three.map((a) => a.json.server_id)).size, 1, "all three got the first server id");
    }
    const serverIds = [...new Set(answers.map((a) => Number(a.json.server_id)))];
    assert.equal(serverIds.length, ids.length);
    const acks = await Promise.all(
      [0, 1, 2].map((r) => http(relay(r).url, "POST", "/v1/messages/ack", { ids: serverIds }, dan.token)),
    );
    const deleted = acks.map((a) => Number(a.json.deleted));
    assert.equal(
      deleted.reduce((sum, n) => sum + n, 0),
      ids.length,
      `each message deleted once (${deleted})`,
    );
    const db = new pg.Client({ connectionString: cluster.database.url });
    await db.connect();
    try {
      const box = await db.query("SELECT messages::int, bytes::int FROM mailboxes WHERE recipient = 'dan'");
      assert.deepEqual(box.rows, [{ messages: 0, bytes: 0 }], "the mailbox counters agree with its rows");
      const left = await db.query("SELECT count(*)::int AS n FROM messages WHERE recipient = 'dan'");
      assert.equal(left.rows[0].n, 0);
    } finally {
      await db.end();
    }
  });

  it("keeps one audit log and one key-transparency log through concurrent appends and checkpoints", async () => {
    const users = await Promise.all(
      Array.from({ length: 12 }, (_, i) => signUpOver(relay(i).url, `user${i}`)),
    );
    // Identity updates log inside their own transaction (binding + event), through every relay at once.
    const updates = await Promise.all(
      users.slice(0, 6).map(async (u, i) => {
        const { next, signature } = await u.user.successor();
        return http(
          relay(i + 1).url,
          "PUT",
          `/v1/accounts/${u.user.username}/identity`,
          { identity_record: b64(next.record), signature: b64(signature) },
          u.token,
        );
      }),
    );
    for (const update of updates) assert.equal(update.status, 200, JSON.stringify(update.json));
    const verify = cluster.cli("audit", "verify", "--json");
    assert.equal(verify.status, 0, verify.stderr + verify.stdout);
    const report = JSON.parse(verify.stdout) as {
      ok: boolean;
      logs: { log: string; ok: boolean; size: number; checkpoints: number }[];
    };
    assert.equal(report.ok, true);
    const kt = report.logs.find((l) => l.log === "kt")!;
    const db = new pg.Client({ connectionString: cluster.database.url });
    await db.connect();
    const accounts = Number((await db.query("SELECT count(*)::int AS n FROM accounts")).rows[0].n);
    await db.end();
    assert.equal(kt.size, accounts + updates.length, "one binding per claim and per update, whichever relay");
    assert.ok(
      report.logs.every((l) => l.checkpoints > 1),
      "checkpoints signed while the logs grew",
    );
  });
});
