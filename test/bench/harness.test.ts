import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatTable,
  type MeasureOptions,
  machineInfo,
  measure,
  measureAsync,
  measureInterleaved,
  relateTo,
} from "../../bench/_harness.ts";

// Tiny budgets: this checks the harness's bookkeeping, never a speed (no timing assertions).
const TINY: MeasureOptions = { warmupMs: 1, sampleMs: 2, samples: 3, minOpsPerSample: 1 };

test("measure counts operations and derives µs/op and MB/s from the median rate", () => {
  let calls = 0;
  const m = measure("g", "op", () => calls++, TINY, 1000);
  assert.ok(m.totalOps >= 3 && calls >= m.totalOps, "warm-up plus at least one call per sample");
  assert.ok(m.opsPerSec > 0);
  assert.equal(m.microsPerOp, 1e6 / m.opsPerSec);
  assert.equal(m.megabytesPerSec, (m.opsPerSec * 1000) / 1e6);
  assert.ok(m.spreadPercent >= 0);
  assert.equal(m.ratio, null);
});

test("minOpsPerSample is honoured even when one call outlasts the sample", () => {
  const slow = () => {
    const end = performance.now() + 3;
    while (performance.now() < end);
  };
  const m = measure("g", "slow", slow, { ...TINY, sampleMs: 0, minOpsPerSample: 2 });
  assert.equal(m.totalOps, 6);
});

test("measureAsync awaits each call", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const m = await measureAsync(
    "g",
    "async",
    async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
    },
    TINY,
  );
  assert.equal(maxInFlight, 1);
  assert.ok(m.totalOps >= 3);
});

test("measureInterleaved returns one measurement per candidate in order; relateTo sets the ratio", () => {
  const [a, b] = measureInterleaved(
    [
      { group: "suite a", name: "x", operation: () => 1, bytesPerOp: null },
      { group: "suite b", name: "x", operation: () => 2, bytesPerOp: null },
    ],
    TINY,
  );
  assert.equal(a?.group, "suite a");
  assert.equal(b?.group, "suite b");
  relateTo(b!, a, "a");
  assert.equal(b!.ratio, b!.opsPerSec / a!.opsPerSec);
  assert.equal(b!.ratioTo, "a");
  relateTo(a!, undefined, "none");
  assert.equal(a!.ratio, null);
});

test("formatTable aligns every column", () => {
  const rows = [
    measure("short", "a", () => 0, TINY),
    measure("a longer group", "operation", () => 0, TINY, 64),
  ];
  const lines = formatTable(rows).split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^group\s+operation\s+ops\/s\s+µs\/op\s+MB\/s\s+±%\s+ratio$/);
  // The header's "ops/s" ends where every row's rate ends (right-aligned numbers).
  const rateEnd = lines[0]!.indexOf("ops/s") + "ops/s".length;
  for (const line of lines.slice(2)) assert.match(line.slice(0, rateEnd), /\d$/);
});

test("machineInfo names the CPU, cores, node and OpenSSL", () => {
  const info = machineInfo();
  assert.ok(info.cores >= 1);
  assert.equal(info.node, process.versions.node);
  assert.equal(info.openssl, process.versions.openssl);
  assert.ok(info.cpuModel.length > 0);
});
