import assert from "node:assert/strict";
import { readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { STALE_PARTIAL_MS, sweepStalePartials } from "../../src/client/messaging/attachment-files.ts";
import { withTempDir } from "./_helpers.ts";

test("receive sweeps partial downloads a crash left (old ones only), and nothing else", () =>
  withTempDir(async (dir) => {
    const now = Date.now();
    const old = (now - STALE_PARTIAL_MS - 60_000) / 1000;
    const files = {
      stale: ".0123456789abcdef.partial",
      fresh: ".fedcba9876543210.partial",
      saved: "report.pdf",
      lookalike: ".0123456789abcdef.partial.keep",
    };
    for (const name of Object.values(files)) await writeFile(join(dir, name), "plaintext");
    await utimes(join(dir, files.stale), old, old);
    await utimes(join(dir, files.saved), old, old);
    await utimes(join(dir, files.lookalike), old, old);
    assert.equal(await sweepStalePartials(dir, now), 1);
    assert.deepEqual((await readdir(dir)).sort(), [files.fresh, files.lookalike, files.saved].sort());
    assert.equal(await sweepStalePartials(join(dir, "missing"), now), 0, "no folder, nothing to sweep");
  }));
