import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import type { RelayConfig } from "../../src/relay/config/schema.ts";
import { tempDir, testConfig } from "../relay/fixtures/harness.ts";
import { createTestDatabase, REDIS_URL, randomName, type TestDatabase } from "../support/services.ts";
import { Chat, latencies, percentile } from "./_chat.ts";
import { ServeProcess } from "./_serve.ts";

/**
 * The promise of issue 18, end to end: a sender and a receiver (real SDK clients in their own
 * processes, a message every few ms) keep talking while `nano-relay deploy` replaces three workers
 * rolling and then blue-green, and a worker is SIGKILLed under the supervisor — on SQLite and on
 * PostgreSQL + Redis. Zero lost, zero shown twice, no send that failed for the user (the outbox may
 * retry: counted, not failed), and the latency of messages sent during each deploy against before.
 * The bounds only keep a broken run from hanging; nothing here asserts a duration.
 */
const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The drain settings a deploy test wants: short, but with every step (delay, batches) exercised. */
const DRAIN = { drain_delay_seconds: 0.5, drain_close_period_seconds: 1, shutdown_grace_seconds: 10 };

async function talkThroughDeploys(t: TestContext, serve: ServeProcess, dir: string): Promise<void> {
  const sender = new Chat();
  const receiver = new Chat();
  try {
    const suffix = randomName("u").slice(2, 8);
    await Promise.all([
      sender.setup(join(dir, "alice"), `alice${suffix}`, serve.url),
      receiver.setup(join(dir, "bob"), `bob${suffix}`, serve.url),
    ]);
    await receiver.listen();
    await sender.listen();
    await sender.startSending(`bob${suffix}`, 3);
    await until(async () => (await receiver.report()).received.length >= 100, "traffic before the deploys");
    const marks: Record<string, number> = { start: 0, rolling: now() };
    // `status --watch` beside the deploy, as an operator would run it.
    const watch = serve.watchStatus();
    await watch.started;
    const rolling = await serve.deploy("rolling");
    assert.equal(rolling.code, 0, rolling.stderr);
    marks.rollingDone = now();
    const seen = await watch.stop();
    assert.ok(
      seen.some((s) => s.deploy !== null && new Set(s.workers.map((w) => w.generation)).size === 2),
      `status --watch never showed the deploy with both generations: ${JSON.stringify(seen.map((s) => [s.deploy !== null, s.workers.map((w) => w.generation)]))}`,
    );
    const afterRolling = await serve.status();
    assert.equal(afterRolling.generation, 2);
    assert.ok(afterRolling.workers.every((worker) => worker.generation === 2 && worker.ready === true));
    marks.blueGreen = now();
    const blueGreen = await serve.deploy("blue-green");
    assert.equal(blueGreen.code, 0, blueGreen.stderr);
    marks.blueGreenDone = now();
    assert.equal((await serve.status()).generation, 3);

    // A worker killed outright: its sockets die without a drain, the supervisor starts it again.
    const victim = (await serve.status()).workers[0]!;
    marks.kill = now();
    process.kill(victim.pid, "SIGKILL");
    await until(async () => {
      const worker = (await serve.status()).workers.find((w) => w.id === victim.id);
      return worker !== undefined && worker.pid !== victim.pid && worker.ready === true;
    }, "the killed worker restarted");
    marks.killDone = now();
    await sleep(500);
    const { sent } = await sender.stopSending();
    await until(async () => (await receiver.report()).received.length >= sent, `all ${sent} messages`);
    const got = await receiver.report();
    const out = await sender.report();
    const seqs = new Set(got.received.map((d) => d.seq));
    const lost = Array.from({ length: sent }, (_, i) => i + 1).filter((seq) => !seqs.has(seq));
    assert.deepEqual(lost, [], "messages lost");
    assert.equal(got.duplicates, 0, "messages shown twice");
    assert.deepEqual(out.failures, [], "sends that failed for the user");
    const p = (from: number, to: number) => {
      const values = latencies(got.received, from, to);
      return `n=${values.length} p50=${percentile(values, 50).toFixed(1)} ms p99=${percentile(values, 99).toFixed(1)} ms`;
    };
    t.diagnostic(`${sent} messages, ${out.queued} queued for a retry by the outbox, 0 lost, 0 duplicated`);
    t.diagnostic(`before:      ${p(marks.start!, marks.rolling!)}`);
    t.diagnostic(`rolling:     ${p(marks.rolling!, marks.rollingDone!)}`);
    t.diagnostic(`blue-green:  ${p(marks.blueGreen!, marks.blueGreenDone!)}`);
    t.diagnostic(`worker kill: ${p(marks.kill!, marks.killDone!)}`);
    if (process.env.NANO_DEPLOY_DETAIL === "1") {
      const t0 = marks.rolling!;
      const worst = [...got.received].sort((a, b) => b.at - b.sentAt - (a.at - a.sentAt)).slice(0, 12);
      for (const d of worst)
        t.diagnostic(
          `seq ${d.seq} sent at ${(d.sentAt - t0).toFixed(0)} ms, latency ${(d.at - d.sentAt).toFixed(0)} ms`,
        );
      t.diagnostic(`queued: ${out.queuedSeqs.join("; ")}`);
      t.diagnostic(
        `marks: ${JSON.stringify(Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, Math.round(v - t0)])))}`,
      );
    }
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
}

describe("deploys lose nothing: SQLite", () => {
  const dir = tempDir("deploy-sqlite");
  const serve = new ServeProcess(testConfig({ server: DRAIN }, dir), dir);
  after(async () => serve.stop());

  it("rolling, blue-green and a SIGKILLed worker under steady traffic: nothing lost, nothing twice", async (t) => {
    await serve.start(3);
    await talkThroughDeploys(t, serve, dir);
  });

  it("a deploy whose workers fail their health gate rolls back: old workers serve on, nobody is disconnected", async () => {
    const { Peer, signUpOver } = await import("../relay/fixtures/processes.ts");
    const { testEnvelope } = await import("../relay/fixtures/identities.ts");
    const good = testConfig({ server: DRAIN }, dir);
    const carol = await signUpOver(serve.url, "carol");
    const peers = Array.from({ length: 6 }, () => new Peer(serve.wsUrl, carol.token));
    for (const peer of peers) await peer.waitFor((f) => f.type === "ready");
    const before = await serve.status();
    // The new configuration names a database nobody answers at.
    const broken: RelayConfig = {
      ...good,
      storage: { ...good.storage, backend: "postgres", postgres_url: "postgres://postgres@127.0.0.1:1/nano" },
    };
    serve.writeConfig(broken);
    for (const strategy of ["rolling", "blue-green"] as const) {
      const failed = await serve.deploy(strategy, ["--health-check-timeout", "60"]);
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /failed its health check: .*(store_unavailable|database)/);
      const now = await serve.status();
      assert.equal(now.generation, before.generation);
      assert.deepEqual(
        now.workers.map((worker) => [worker.id, worker.pid, worker.ready]).sort(),
        before.workers.map((worker) => [worker.id, worker.pid, true]).sort(),
        "the old workers are the ones serving",
      );
    }
    for (const [i, peer] of peers.entries()) {
      assert.equal(peer.closeCode, null, "a client was disconnected by a failed deploy");
      peer.send({
        type: "send",
        id: `after-${i}`,
        to: "carol",
        envelope: Buffer.from(testEnvelope("x")).toString("base64"),
      });
      await peer.waitFor((f) => f.type === "sent" && f.id === `after-${i}`);
      peer.close();
    }
    serve.writeConfig(good);
  });
});

describe("deploys lose nothing: PostgreSQL + Redis", () => {
  const dir = tempDir("deploy-postgres");
  let database: TestDatabase | null = null;
  let serve: ServeProcess | null = null;
  after(async () => {
    await serve?.stop();
    await database?.drop();
  });

  it("rolling, blue-green and a SIGKILLed worker under steady traffic: nothing lost, nothing twice", async (t) => {
    database = await createTestDatabase("nano_deploy");
    const config = testConfig(
      {
        server: DRAIN,
        storage: { backend: "postgres", postgres_url: database.url },
        cluster: { redis_url: REDIS_URL, key_prefix: randomName("d") },
        compliance: { log_key_file: join(dir, "log-key.json") },
      },
      dir,
    );
    serve = new ServeProcess(config, dir);
    // docs/cluster.md: migrate once (it creates the shared log key), then start the relays.
    const migrated = spawnSync(process.execPath, [BIN, "migrate", "--config", serve.configFile], {
      encoding: "utf8",
    });
    assert.equal(migrated.status, 0, migrated.stderr);
    await serve.start(3);
    await talkThroughDeploys(t, serve, dir);
  });
});
