import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { Peer, signUpOver } from "../relay/fixtures/processes.ts";
import { TestCluster } from "./_cluster.ts";
import { runTraffic } from "./_traffic.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The database connection is cut while a send is inside its transaction: the sender gets an error,
 * never an acknowledgement without a committed row; its retry (same client message id) stores the
 * message exactly once. Then the same under continuous traffic through three relays whose database
 * connections are all terminated several times.
 */
describe("cluster: PostgreSQL connections cut mid-send", () => {
  let cluster: TestCluster;
  let admin: pg.Client;
  before(async () => {
    cluster = await TestCluster.create({ relays: 3 });
    await cluster.start();
    await cluster.ready();
    admin = new pg.Client({ connectionString: cluster.database.url });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await cluster.stop();
  });

  it("a send whose transaction loses its connection is refused, not acknowledged, and its retry stores it once", async () => {
    const relay = cluster.relays[0]!;
    const alice = await signUpOver(relay.url, "alice");
    await signUpOver(relay.url, "bob");
    const peer = new Peer(relay.wsUrl, alice.token);
    await peer.waitFor((f) => f.type === "ready");
    // Hold bob's mailbox row: the relay's enqueue blocks inside its transaction, mid-send.
    const holder = new pg.Client({ connectionString: cluster.database.url });
    await holder.connect();
    await holder.query("INSERT INTO mailboxes (recipient) VALUES ('bob') ON CONFLICT DO NOTHING");
    await holder.query("BEGIN");
    await holder.query("SELECT 1 FROM mailboxes WHERE recipient = 'bob' FOR UPDATE");
    peer.send({ type: "send", id: "cut1", to: "bob", envelope: b64(testEnvelope("cut 1")) });
    let victims: number[] = [];
    for (let i = 0; i < 200 && victims.length === 0; i++) {
      const rows = await admin.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%nano_enqueue%'",
      );
      victims = rows.rows.map((row) => Number(row.pid));
      if (victims.length === 0) await sleep(25);
    }
    assert.equal(victims.length, 1, "the send is waiting inside its transaction");
    await admin.query("SELECT pg_terminate_backend($1)", [victims[0]]);
    await holder.query("ROLLBACK");
    await holder.end();
    const answer = await peer.waitFor((f) => f.id === "cut1");
    assert.equal(answer.type, "error", "never an ack for a send whose transaction died");
    assert.equal(answer.code, "store_unavailable");
    const stored = await admin.query("SELECT count(*)::int AS n FROM messages WHERE recipient = 'bob'");
    assert.equal(stored.rows[0].n, 0, "nothing was committed");
    // The connection closes (1011): later sends on it could otherwise be stored ahead of the retry.
    assert.equal(await peer.closed, 1011);
    // The relay's pool replaces the dead database connection; the retry stores it, once.
    const again = new Peer(relay.wsUrl, alice.token);
    await again.waitFor((f) => f.type === "ready");
    again.send({ type: "send", id: "cut1", to: "bob", envelope: b64(testEnvelope("cut 1")) });
    const retried = await again.waitFor((f) => f.id === "cut1" && f.type === "sent");
    assert.equal(retried.duplicate, false);
    again.send({ type: "send", id: "cut1", to: "bob", envelope: b64(testEnvelope("cut 1")) });
    await again.waitFor((f) => f.id === "cut1" && f.type === "sent" && f.duplicate === true);
    const after = await admin.query("SELECT count(*)::int AS n FROM messages WHERE recipient = 'bob'");
    assert.equal(after.rows[0].n, 1);
    again.close();
  });

  it("under load, with every relay's database connections terminated again and again, nothing acknowledged is lost", {
    timeout: 200_000,
  }, async () => {
    let terminated = 0;
    const report = await runTraffic({
      relays: cluster.relays,
      up: new Set([0, 1, 2]),
      databaseUrl: cluster.database.url,
      senders: 3,
      recipients: 2,
      perSender: 250,
      deadlineMs: 150_000,
      faults: async (progress) => {
        for (const fraction of [0.2, 0.4, 0.6, 0.8]) {
          while (progress() < fraction) await sleep(2);
          const rows = await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'nano-relay' AND pid <> pg_backend_pid()",
          );
          terminated += rows.rowCount ?? 0;
        }
      },
    });
    process.stdout.write(`# postgres cut: ${JSON.stringify({ ...report, terminated })}\n`);
    assert.ok(terminated > 0, "connections were terminated");
    assert.deepEqual(report.errors.slice(0, 5), []);
    assert.equal(report.acknowledged, report.total);
    assert.equal(report.delivered, report.total, "no acknowledged message was lost");
    assert.equal(report.duplicatesAfterAck, 0);
    assert.deepEqual(report.orderViolations.slice(0, 5), []);
    assert.deepEqual(report.storeOrder.slice(0, 5), []);
    assert.equal(report.leftInMailboxes, 0);
  });
});
