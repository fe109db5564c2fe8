import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestCluster } from "./_cluster.ts";
import { runTraffic } from "./_traffic.ts";

/**
 * The cluster's promise (issue 19, "Done when"): three relays on one PostgreSQL and one Redis, clients
 * spread over them, continuous traffic while relays are SIGKILLed and restarted one after another.
 * Every acknowledged message is delivered exactly once (no loss, nothing again after a confirmed ack),
 * per-sender order is kept, and every mailbox ends empty.
 */
const PER_SENDER = Number(process.env.NANO_CLUSTER_PER_SENDER ?? 250);
const KILL_AT = [0.15, 0.35, 0.55, 0.75];
const DEADLINE_MS = 150_000;

describe("cluster kill test: three relays, SIGKILL and restart under load", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create({ relays: 3 });
    await cluster.start();
    await cluster.ready();
  });
  after(() => cluster.stop());

  it(`loses and duplicates nothing acknowledged (4 x ${PER_SENDER} messages, ${KILL_AT.length} kills)`, {
    timeout: DEADLINE_MS + 60_000,
  }, async () => {
    const up = new Set([0, 1, 2]);
    let kills = 0;
    const report = await runTraffic({
      relays: cluster.relays,
      up,
      databaseUrl: cluster.database.url,
      senders: 4,
      recipients: 2,
      perSender: PER_SENDER,
      deadlineMs: DEADLINE_MS,
      faults: async (progress) => {
        for (const [i, fraction] of KILL_AT.entries()) {
          while (progress() < fraction) await new Promise((resolve) => setTimeout(resolve, 5));
          const victim = i % 3;
          const relay = cluster.relays[victim]!;
          up.delete(victim);
          relay.kill("SIGKILL");
          await relay.exited();
          assert.equal(relay.exitSignal, "SIGKILL");
          kills++;
          await relay.start();
          up.add(victim);
        }
      },
    });
    process.stdout.write(`# cluster kill test: ${JSON.stringify({ ...report, kills })}\n`);
    assert.equal(kills, KILL_AT.length, "every planned SIGKILL happened");
    assert.deepEqual(report.errors.slice(0, 5), [], "a send was refused with an unexpected error");
    assert.equal(
      report.acknowledged,
      report.total,
      "every message was eventually acknowledged to its sender",
    );
    assert.equal(report.delivered, report.total, "no acknowledged message was lost");
    assert.equal(report.duplicatesAfterAck, 0, "a message was delivered again after its ack was confirmed");
    assert.deepEqual(report.orderViolations.slice(0, 5), [], "per-sender order was broken");
    assert.deepEqual(
      report.storeOrder.slice(0, 5),
      [],
      "the database holds a sender's messages out of order",
    );
    assert.equal(report.leftInMailboxes, 0, "acknowledged messages were deleted");
  });

  it("leaves one audit log and one key-transparency log that verify (appends from every relay, kills included)", () => {
    const verify = cluster.cli("audit", "verify", "--json");
    assert.equal(verify.status, 0, verify.stderr + verify.stdout);
    const { ok, logs: reports } = JSON.parse(verify.stdout) as {
      ok: boolean;
      logs: { log: string; ok: boolean; size: number; checkpoints: number }[];
    };
    assert.equal(ok, true);
    assert.deepEqual(
      reports.map((r) => [r.log, r.ok]),
      [
        ["audit", true],
        ["kt", true],
      ],
    );
    assert.equal(reports[1]!.size, 6, "one binding per account claimed, through whichever relay");
    assert.ok(reports[0]!.checkpoints > 1, "checkpoints signed by several relays");
  });
});
