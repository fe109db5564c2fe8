import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runConnections } from "../../bench/_connections.ts";
import { connectionsRelayConfig, formatConnections, scenarioFor } from "../../bench/connections.ts";
import { tempDir } from "../relay/fixtures/harness.ts";
import { RelayProcess } from "../relay/fixtures/processes.ts";

// `npm run bench -- connections` at a tiny size against a real relay process, so the benchmark cannot
// rot: 20 idle sockets on accounts of 8 (so the per-account cap of the bench's config is crossed into a
// third account), pushes to probes before, during and after. Never a speed: no timing assertions.
const scenario = {
  ...scenarioFor(true, 20),
  probes: 3,
  pushes: 12,
  pushesPerSecond: 200,
  connectConcurrency: 4,
  socketsPerAccount: 8,
};
const dir = tempDir("bench-connections");
const relay = new RelayProcess(connectionsRelayConfig(scenario, dir), dir);

before(async () => {
  await relay.start();
});
after(async () => {
  await relay.stop();
});

test("20 idle sockets connect, every push of the three runs arrives, and the memory is read after a GC", async () => {
  const result = await runConnections(relay, scenario);
  assert.equal(result.idleSockets, 20);
  assert.equal(result.idleAccounts, 3);
  assert.deepEqual(
    result.runs.map((run) => [run.label, run.openSockets, run.pushes]),
    [
      ["few sockets (before)", 4, 12],
      ["all sockets", 24, 12],
      ["few sockets (after)", 4, 12],
    ],
  );
  for (const run of result.runs) assert.ok(run.p50ms > 0 && run.p99ms >= run.p50ms, JSON.stringify(run));
  for (const bytes of [
    result.rssBeforeBytes,
    result.rssAfterBytes,
    result.heapBeforeBytes,
    result.heapAfterBytes,
  ])
    assert.ok(Number.isSafeInteger(bytes) && bytes > 0);
  assert.equal(result.rssPerSocketBytes, Math.round((result.rssAfterBytes - result.rssBeforeBytes) / 20));
  const text = formatConnections(result);
  assert.match(text, /^20 idle sockets on 3 accounts/);
  assert.match(text, /goal: relay RSS per idle socket: .* \/ ≤ 40 KB \/ (met|NOT met)/);
  assert.match(text, /goal: p99 push latency, all sockets \/ few sockets: .*x \/ ≤ 2x \/ (met|NOT met)/);
});

test("a relay that closes idle sockets (an account cap below the scenario's) fails the run", async () => {
  // The relay keeps 8 sockets per account; this scenario puts 10 on each, so the relay closes the
  // oldest two of each account with 4409 and the figures would be those of fewer sockets.
  await assert.rejects(
    runConnections(relay, { ...scenario, socketsPerAccount: 10 }, "d"),
    /idle sockets were closed by the relay after connecting/,
  );
});
