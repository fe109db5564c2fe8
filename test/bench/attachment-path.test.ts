import assert from "node:assert/strict";
import { test } from "node:test";
import { measureAttachmentPath } from "../../bench/attachment-path.ts";

// The piece-by-piece attachment benchmark at a tiny size against a real relay process: every piece
// runs (upload, download, both receiver forms, the local-store commit) and reports numbers. Never a speed.
test("bench attachment-path: every piece of a 70 kB attachment runs through a real relay", async () => {
  const pieces = await measureAttachmentPath(2, 70_000);
  assert.equal(pieces.length, 10);
  for (const piece of pieces) {
    for (const value of [piece.p50ms, piece.meanMs, piece.clientCpuMs])
      assert.ok(Number.isFinite(value) && value >= 0, `${piece.piece}: ${value}`);
    assert.ok(piece.relayCpuMs === null || piece.relayCpuMs >= 0, piece.piece);
  }
  // The relay's CPU comes from /proc (Linux only); it is read for the pieces that run on the relay.
  if (process.platform === "linux")
    assert.deepEqual(
      pieces.filter((piece) => piece.relayCpuMs !== null).map((piece) => piece.piece.split(":")[0]),
      ["upload alone", "download alone"],
    );
});
