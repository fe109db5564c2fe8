// Issue 12, finding 7: POST /v1/accounts had no rate limit and every bogus claim appended an
// `auth_failed` Merkle leaf (472 B): ~20 GB a day from one client, no login needed. Now failed claims
// and logins are limited per address (refused before the body is read) and refusals are aggregated:
// a window adds at most 2 * audit_failure_entries_per_minute + 1 entries, and every refusal is counted.
import assert from "node:assert/strict";
import { request } from "node:http";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import { decodeAuditEvent } from "../../../src/audit/audit-event.ts";
import { http, type RelayProcess } from "../fixtures/processes.ts";
import { RawClient, startRelay, within } from "./_abuse.ts";

const FAILURES_PER_HOUR = 10;
const ENTRIES_PER_MINUTE = 5;
const ATTEMPTS = 300;

function auditEntries(relay: RelayProcess): ReturnType<typeof decodeAuditEvent>[] {
  const db = new DatabaseSync(join(relay.dir, "relay.sqlite"), { readOnly: true });
  try {
    return db
      .prepare("SELECT data FROM merkle_log_entries WHERE log_id = 'audit' ORDER BY idx")
      .all()
      .map((row) => decodeAuditEvent(row.data as Uint8Array));
  } finally {
    db.close();
  }
}

const refusals = (entries: ReturnType<typeof auditEntries>) =>
  entries.filter((entry) => entry.type === "auth_failed" || entry.type === "rate_limited");

describe("abuse: bogus claims cannot grow the audit log", () => {
  let relay: RelayProcess;
  before(async () => {
    relay = await startRelay({
      limits: {
        audit_failure_entries_per_minute: ENTRIES_PER_MINUTE,
        rate: { failed_auth_per_hour: FAILURES_PER_HOUR },
      },
    });
  });
  after(async () => relay.stop());

  it("limits failed claims per address and aggregates their audit entries", async () => {
    const before = refusals(auditEntries(relay)).length;
    const statuses = new Map<number, number>();
    const bogus = Buffer.alloc(32, 7).toString("base64");
    for (let i = 0; i < ATTEMPTS; i++) {
      const answer = await http(relay.url, "POST", "/v1/accounts", {
        username: `mallory${i % 50}`,
        identity_record: bogus,
        challenge: bogus,
        signature: bogus,
      });
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 429) assert.ok(Number(answer.headers["retry-after"]) >= 1);
    }
    assert.equal(statuses.get(401), FAILURES_PER_HOUR, JSON.stringify([...statuses]));
    assert.equal(statuses.get(429), ATTEMPTS - FAILURES_PER_HOUR);
    // Once over the limit, a claim is refused from its headers: the body is never read.
    const raw = new RawClient(relay.ports!.api_port);
    raw.head("POST", "/v1/accounts", 5000, {}, "{");
    raw.trickle(200);
    await within(raw.closed, 10_000, "refusal before the body");
    assert.equal(raw.status, 429, raw.received);
    // While the window is open: one entry per (type, address) so far, not one per refusal.
    const during = refusals(auditEntries(relay)).length - before;
    assert.ok(during <= 2 * ENTRIES_PER_MINUTE + 1, `${during} entries`);
    assert.ok(during >= 1);
    // A clean stop closes the window: the aggregates account for every refusal.
    await relay.stop();
    const logged = refusals(auditEntries(relay)).slice(before);
    assert.ok(logged.length <= 2 * ENTRIES_PER_MINUTE + 1, `${logged.length} entries`);
    const represented = logged
      .map((entry) => (typeof entry.details.count === "number" ? entry.details.count : 1))
      .reduce((a, b) => a + b, 0);
    assert.equal(represented, ATTEMPTS + 1);
  });
});

/** A bogus claim from `localAddress` (a loopback address of its own); resolves with the status. */
function bogusClaimFrom(relay: RelayProcess, localAddress: string, username: string): Promise<number> {
  const bogus = Buffer.alloc(32, 7).toString("base64");
  const body = JSON.stringify({ username, identity_record: bogus, challenge: bogus, signature: bogus });
  return new Promise((resolve, reject) => {
    const req = request(
      new URL("/v1/accounts", relay.url),
      { method: "POST", localAddress, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("abuse: bogus claims from many addresses cannot grow the audit log either", () => {
  // The per-address limit does not bound an attacker with many addresses (a botnet, an IPv6 /64);
  // the audit's bound must still hold: refusals of more (type, address) pairs than the window's
  // allowance go into one overflow entry, whatever the number of addresses.
  const ADDRESSES = 40;
  let relay: RelayProcess;
  before(async () => {
    relay = await startRelay({
      limits: {
        audit_failure_entries_per_minute: ENTRIES_PER_MINUTE,
        rate: { failed_auth_per_hour: 2 },
      },
    });
  });
  after(async () => relay.stop());

  it("adds at most 2B + 1 entries per window from 40 addresses, and counts every refusal", async () => {
    const before = refusals(auditEntries(relay)).length;
    let attempts = 0;
    const statuses = new Map<number, number>();
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: ADDRESSES }, async (_, i) => {
          const status = await bogusClaimFrom(relay, `127.0.0.${i + 2}`, `mallory${i}`);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          attempts++;
        }),
      );
    }
    // Two failures per address, then 429 from the headers: every address was refused on its own.
    assert.equal(statuses.get(401), 2 * ADDRESSES, JSON.stringify([...statuses]));
    assert.equal(statuses.get(429), ADDRESSES, JSON.stringify([...statuses]));
    await relay.stop();
    const logged = refusals(auditEntries(relay)).slice(before);
    assert.ok(
      logged.length <= 2 * ENTRIES_PER_MINUTE + 1,
      `${logged.length} entries from ${ADDRESSES} addresses`,
    );
    const represented = logged
      .map((entry) => (typeof entry.details.count === "number" ? entry.details.count : 1))
      .reduce((a, b) => a + b, 0);
    assert.equal(represented, attempts);
  });
});
