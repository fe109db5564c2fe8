import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { goalsTable, storedGoals } from "../../bench/_e2e-goals.ts";
import { countRequests, routeOf, startDelayProxy } from "../../bench/_e2e-proxy.ts";
import { renderSvg, summarize, thin } from "../../bench/_e2e-report.ts";
import { messageText, parseStamp } from "../../bench/_e2e-worker.ts";
import { parseOptions, runE2e } from "../../bench/e2e.ts";

// Smoke test: the whole benchmark at a tiny size against real processes (relay, sender and receiver
// client processes, the delaying proxy). It checks that every message arrives intact and the outputs
// are well formed; it asserts nothing about speed.
describe("bench e2e", () => {
  it("runs every mode at both sizes and one added RTT, delivering every message", async () => {
    const options = {
      ...parseOptions([
        "--quick",
        "--pairs",
        "1",
        "--window",
        "2",
        "--phase-ms",
        "300",
        "--rtts",
        "5",
        "--quiet",
      ]),
      sizes: [
        { label: "1 KiB", bytes: 1024 },
        // Above the 32 KiB envelope bucket: travels as an attachment, like the 1 MiB phase, but smaller.
        { label: "1 MiB", bytes: 40_000 },
      ],
    };
    const { results, json, svg } = await runE2e(options);
    // Per mode: max + half for each size, and one RTT phase.
    assert.equal(results.length, 3 * (2 * 2 + 1));
    for (const result of results) {
      const where = `${result.mode} ${result.sizeLabel} ${result.load}`;
      assert.deepEqual(result.failures, [], where);
      assert.ok(result.sent > 0, where);
      assert.equal(result.delivered, result.sent, where);
      assert.equal(result.latency.count, result.delivered, where);
      assert.ok(Number.isFinite(result.latency.p99) && result.latency.p99 > 0, where);
      assert.ok(result.clientCpuPerMessageMs > 0, where);
    }
    assert.deepEqual(
      results.filter((r) => r.load.startsWith("rtt")).map((r) => [r.mode, r.addedRttMs]),
      [
        ["classical", 5],
        ["hybrid", 5],
        ["quantum", 5],
      ],
    );
    for (const result of results) {
      // Which requests a message costs is the client's business (it may move to the WebSocket): only
      // that the +RTT phases report them.
      assert.equal(result.requestsPerMessage !== null, result.load.startsWith("rtt"));
    }
    const parsed = JSON.parse(json) as {
      benchmark: string;
      results: unknown[];
      goals: { number: number; goal: string; met: boolean | null }[];
      yardsticks: { bareKibPerSecond: number; bareMibPerSecond: number; latencyFloorMs: number };
    };
    assert.equal(parsed.benchmark, "e2e");
    // Every goal of this run has its yardstick measured in the same run, so each is decided.
    for (const number of [1, 2, 4, 5]) {
      const goals = parsed.goals.filter((goal) => goal.number === number);
      assert.ok(goals.length > 0, `goal ${number} is reported`);
      for (const goal of goals) assert.equal(typeof goal.met, "boolean", goal.goal);
    }
    for (const value of Object.values(parsed.yardsticks).filter((v) => typeof v === "number"))
      assert.ok(Number.isFinite(value) && value > 0);
    assert.equal(parsed.results.length, results.length);
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 3);
  });

  it("reads goals 3, 6 and 7 from the newest run of their benches; a broken or missing file decides nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "nano-goals-"));
    try {
      const goal = (met: boolean) => ({ goal: "g", measured: "1x", target: "≤ 2x", met });
      writeFileSync(join(dir, "relay-2026-01-01T00-00-00Z.json"), JSON.stringify({ goals: [goal(false)] }));
      writeFileSync(join(dir, "relay-2026-02-01T00-00-00Z.json"), JSON.stringify({ goals: [goal(true)] }));
      writeFileSync(join(dir, "connections-2026-01-01T00-00-00Z.json"), "{ not json");
      const goals = storedGoals(dir);
      assert.deepEqual(
        goals.map((g) => [g.number, g.met, g.source]),
        [
          [3, true, "relay-2026-02-01T00-00-00Z"],
          [6, null, "connections-2026-01-01T00-00-00Z.json"],
          [7, null, "no run found (npm run bench -- cli)"],
        ],
      );
      assert.match(goals[1]!.measured, /does not parse/);
      assert.match(goalsTable(goals), /3\. g .* met/);
      assert.equal(storedGoals(join(dir, "absent")).length, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects bad options", () => {
    assert.throws(() => parseOptions(["--pairs", "0"]), RangeError);
    assert.throws(() => parseOptions(["--pairs", "x"]), RangeError);
    assert.throws(() => parseOptions(["--modes", "hybrid,rot13"]), RangeError);
    assert.throws(() => parseOptions(["--sizes", "2g"]), RangeError);
    assert.throws(() => parseOptions(["--rtts", "5000"]), RangeError);
    assert.throws(() => parseOptions(["--phase-ms", "10"]), RangeError);
    assert.throws(() => parseOptions(["--window", "1000"]), RangeError);
    const quick = parseOptions(["--quick"]);
    assert.deepEqual(quick.modes, ["classical", "hybrid", "quantum"]);
    assert.deepEqual(quick.rtts, [1, 20, 100]);
  });

  it("stamps messages and recognises only its own, of the right size", () => {
    const text = messageText(1024, 1234.5, "x".repeat(1024));
    assert.equal(text.length, 1024);
    assert.equal(parseStamp(text, 1024), 1234.5);
    assert.equal(parseStamp(text, 1025), null);
    assert.equal(parseStamp(`abc|${"x".repeat(1020)}`, 1024), null);
    assert.equal(parseStamp("x".repeat(1024), 1024), null);
    assert.equal(parseStamp("", 0), null);
    assert.equal(parseStamp(`${text.slice(0, 1023)}y`, 1024), null);
    assert.equal(parseStamp(`NaN|${"x".repeat(1020)}`, 1024), null);
  });

  it("computes percentiles and thins a CDF", () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    const summary = summarize(values);
    assert.equal(summary.count, 1000);
    assert.equal(summary.p50, 501);
    assert.equal(summary.p99, 991);
    assert.equal(summary.max, 1000);
    assert.ok(Number.isNaN(summarize([]).p50));
    const cdf = thin(values, 10);
    assert.equal(cdf.length, 10);
    assert.equal(cdf[0], 1);
    assert.equal(cdf[9], 1000);
    assert.deepEqual(thin([3, 1, 2]), [1, 2, 3]);
  });

  it("escapes the chart title and draws with no results", () => {
    const svg = renderSvg([], "<script>&");
    assert.ok(svg.includes("&lt;script>&amp;"));
    assert.ok(!svg.includes("<script>"));
    assert.ok(svg.trimEnd().endsWith("</svg>"));
  });

  it("counts HTTP request lines by route, ignoring bodies and parameters", () => {
    assert.equal(routeOf("/v1/accounts/hybrid-r0/identity"), "/v1/accounts/:x/identity");
    assert.equal(routeOf("/v1/attachments/9f86d081884c7d65"), "/v1/attachments/:x");
    assert.equal(routeOf("/v1/auth/token"), "/v1/auth/token");
    const counts = new Map<string, number>();
    countRequests(
      Buffer.from(
        'POST /v1/messages?x=1 HTTP/1.1\r\nhost: a\r\n\r\n{"text":"GET /v1/fake HTTP/1.0"}' +
          "GET /v1/accounts/s0 HTTP/1.1\r\n\r\n",
      ),
      counts,
    );
    countRequests(Buffer.from("not http at all\r\n"), counts);
    countRequests(Buffer.alloc(0), counts);
    assert.deepEqual(Object.fromEntries(counts), { "POST /v1/messages": 1, "GET /v1/accounts/:x": 1 });
  });

  it("the delaying proxy carries bytes both ways in order, bounds its delay, and closes its connections", async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    const port = (echo.address() as { port: number }).port;
    await assert.rejects(startDelayProxy(port, -1), RangeError);
    await assert.rejects(startDelayProxy(port, 5000), RangeError);
    const proxy = await startDelayProxy(port, 4);
    assert.throws(() => {
      proxy.rttMs = Number.NaN;
    }, RangeError);
    const client: Socket = tcpConnect(proxy.port, "127.0.0.1");
    let received = "";
    client.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    client.on("error", () => {});
    const parts = Array.from({ length: 50 }, (_, i) => `${i},`);
    for (const part of parts) client.write(part);
    for (let i = 0; i < 200 && received.length < parts.join("").length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(received, parts.join(""));
    await proxy.close();
    await closed;
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });
});

describe("bench e2e profile summary", () => {
  it("attributes self and inclusive time to functions and files", async () => {
    const { summarizeProfile } = await import("../../bench/_e2e-profile.ts");
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)", ""), children: [2, 4] },
        { id: 2, callFrame: frame("send", "file:///x/src/client/send.ts"), children: [3] },
        { id: 3, callFrame: frame("sign", "file:///x/src/crypto/sign.ts") },
        { id: 4, callFrame: frame("(idle)", "") },
      ],
      samples: [3, 3, 3, 2, 4],
      timeDeltas: [100, 100, 100, 100, 600],
    };
    const text = summarizeProfile(profile);
    assert.match(text, /total sampled 0\.00 s/);
    assert.match(text, /60\.0%\s+\(idle\)/);
    assert.match(text, /30\.0%\s+sign src\/crypto\/sign\.ts:10/);
    // Inclusive: send holds its own sample and sign's three.
    assert.match(text, /40\.0%\s+send src\/client\/send\.ts/);
    // No samples: no division by zero turning into a crash.
    assert.doesNotThrow(() => summarizeProfile({ nodes: [], samples: [], timeDeltas: [] }));
  });
});
