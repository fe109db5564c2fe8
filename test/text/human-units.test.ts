import assert from "node:assert/strict";
import { test } from "node:test";
import { humanBytes } from "../../src/text/human-bytes.ts";
import { humanDuration } from "../../src/text/human-duration.ts";

test("humanBytes: binary units, three significant digits, no trailing .0", () => {
  assert.equal(humanBytes(0), "0 B");
  assert.equal(humanBytes(1023), "1023 B");
  assert.equal(humanBytes(1024), "1 KiB");
  assert.equal(humanBytes(1536), "1.5 KiB");
  assert.equal(humanBytes(100 * 1024 * 1024), "100 MiB");
  assert.equal(humanBytes(12.34 * 1024 * 1024), "12.3 MiB");
});

test("humanDuration: the largest unit reached once rounded; a day measured a second short is a day", () => {
  const cases: [number, string][] = [
    [86_400_000, "1 day"],
    [86_399_000, "1 day"], // a Date header has whole seconds and the request took time
    [-86_400_000, "1 day"], // the sign is said in words by the caller (ahead / behind)
    [2 * 86_400_000, "2 days"],
    [50_000_000, "14 hours"],
    [3_600_000, "1 hour"],
    [12 * 60_000, "12 minutes"],
    [1_000, "1 second"],
    [200, "1 second"],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, String(ms));
});
