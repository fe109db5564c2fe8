import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { formatAttachmentRows, runRelayAttachments } from "../../bench/_relay-attachments.ts";
import { tempDir, testConfig } from "../relay/fixtures/harness.ts";
import { RelayProcess } from "../relay/fixtures/processes.ts";

// The attachment scenario of `npm run bench -- relay` at a tiny size against a real relay process: it
// proves the whole path (encrypt, PUT, envelope over WebSocket, push, GET, decrypt, durable ack) and
// the row bookkeeping. Never a speed: no timing assertions.
const TINY = { pairs: 1, perSender: 3, plaintextBytes: 64 * 1024, window: 2 };
const dir = tempDir("bench-attachments");
// A small attachment limit so the failure test below can cross it; the tiny scenario stays under it.
const relay = new RelayProcess(testConfig({ limits: { attachment_max_bytes: 96 * 1024 } }, dir), dir);

before(async () => {
  await relay.start();
});
after(async () => {
  await relay.stop();
});

test("3 transfers of 64 KiB go through the relay and the baseline, each decrypted and verified", async () => {
  const rows = await runRelayAttachments(relay, dir, TINY);
  assert.deepEqual(
    rows.map((row) => row.target),
    ["baseline", "relay"],
  );
  // 64 KiB is exactly one chunk: 20-byte header + 65,536 bytes + one 16-byte tag (docs/attachments.md).
  for (const row of rows) {
    assert.equal(row.scenario, "64 KiB attachment");
    assert.equal(row.transfers, 3);
    assert.equal(row.pairs, 1);
    assert.equal(row.blobBytes, 20 + 65_536 + 16);
    for (const value of [row.seconds, row.transfersPerSecond, row.megabytesPerSecond, row.p50ms, row.p99ms])
      assert.ok(Number.isFinite(value) && value >= 0, `${row.target}: ${value}`);
    assert.ok(row.p99ms >= row.p50ms);
  }
  assert.equal(rows[0]!.ratio, 1);
  assert.ok(rows[1]!.ratio > 0);
  const table = formatAttachmentRows(rows);
  assert.match(table, /64 KiB attachment\s+1\s+relay\s+3/);
});

test("a transfer the relay refuses fails the run with the relay's error code instead of hanging", async () => {
  await assert.rejects(
    runRelayAttachments(relay, dir, { ...TINY, perSender: 1, plaintextBytes: 128 * 1024 }),
    /relay: upload answered 413 .*attachment_too_large/,
  );
});

test("the same relay takes a second run (fresh users, the first run's blobs already fetched)", async () => {
  const rows = await runRelayAttachments(relay, dir, { ...TINY, perSender: 2, pairs: 2 });
  assert.equal(rows[1]!.transfers, 4);
});
