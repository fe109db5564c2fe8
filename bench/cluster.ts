// `npm run bench -- cluster [--quick]`: the cost per message of each layer of a relay cluster
// (docs/cluster.md). The same load (senders and receivers over WebSockets, durable acks, real relay
// processes) through one relay on SQLite (the baseline), one relay on PostgreSQL, and three relays on
// PostgreSQL + Redis with every sender on a different relay than its receiver. For each: messages/s,
// send-to-delivery latency, CPU per message of each relay process, of the PostgreSQL backends and of
// Redis, and PostgreSQL and Redis round trips per message. Redis is a redis-server of the benchmark's
// own (its counters are then ours alone); PostgreSQL is the machine's, in a database made for the run.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type WebSocket from "ws";
import { parseMetrics } from "../src/cli/relay/status.ts";
import { randomBytes, toHex } from "../src/crypto/index.ts";
import { tempDir, testConfig } from "../test/relay/fixtures/harness.ts";
import { testEnvelope } from "../test/relay/fixtures/identities.ts";
import { http, RelayProcess, signUpOver } from "../test/relay/fixtures/processes.ts";
import { createTestDatabase, PrivateRedis, type TestDatabase } from "../test/support/services.ts";
import { machineInfo, printMachine } from "./_harness.ts";
import { openReadySocket } from "./_ready-socket.ts";

interface Setup {
  readonly name: string;
  readonly relays: number;
  readonly backend: "sqlite" | "postgres";
  readonly redis: boolean;
}

const SETUPS: readonly Setup[] = [
  { name: "1 relay, SQLite", relays: 1, backend: "sqlite", redis: false },
  { name: "1 relay, PostgreSQL", relays: 1, backend: "postgres", redis: false },
  { name: "3 relays, PostgreSQL + Redis", relays: 3, backend: "postgres", redis: true },
];

interface Row {
  readonly setup: string;
  readonly messages: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
  /** CPU milliseconds per message, per relay process. */
  readonly relayCpuMsPerMessage: number[];
  readonly postgresCpuMsPerMessage: number | null;
  readonly redisCpuMsPerMessage: number | null;
  readonly postgresRoundTripsPerMessage: number | null;
  readonly redisCommandsPerMessage: number | null;
  ratio: number | null;
}

const TICKS_PER_SECOND = 100;

/** utime + stime of a process in milliseconds (Linux /proc), or 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function redisCounters(redis: PrivateRedis): Promise<{ cpuMs: number; commands: number }> {
  const info = await redis.command("INFO everything");
  const cpu = (key: string) => Number(new RegExp(`${key}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  let commands = 0;
  for (const match of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) commands += Number(match[1]);
  return { cpuMs: (cpu("used_cpu_user") + cpu("used_cpu_sys")) * 1000, commands };
}

async function postgresBackendCpu(admin: pg.Client, database: string): Promise<number> {
  const rows = await admin.query(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [database],
  );
  return rows.rows.reduce((sum, row) => sum + cpuMs(Number(row.pid)), 0);
}

async function roundTrips(relays: RelayProcess[]): Promise<number> {
  let total = 0;
  for (const relay of relays) {
    const response = await fetch(new URL("/metrics", relay.url));
    total += parseMetrics(await response.text()).get("nano_postgres_round_trips") ?? 0;
  }
  return total;
}

async function runSetup(
  setup: Setup,
  load: { pairs: number; perSender: number; window: number },
  redis: PrivateRedis,
): Promise<Row> {
  const dir = tempDir("bench-cluster");
  let database: TestDatabase | null = null;
  const prefix = `bench_${toHex(randomBytes(4))}`;
  if (setup.backend === "postgres") database = await createTestDatabase("nano_bench");
  const config = testConfig(
    {
      storage: database === null ? {} : { backend: "postgres", postgres_url: database.url },
      cluster: setup.redis ? { redis_url: redis.url, key_prefix: prefix } : {},
      compliance: { log_key_file: join(dir, "log-key.json") },
    },
    dir,
  );
  const relays = Array.from({ length: setup.relays }, (_, i) => {
    const relayDir = join(dir, `relay${i}`);
    mkdirSync(relayDir, { recursive: true });
    return new RelayProcess(config, relayDir);
  });
  if (database !== null) {
    const file = join(dir, "migrate.toml");
    writeFileSync(file, readFileSync(relays[0]!.configFile));
    const migrated = spawnSync(
      process.execPath,
      [new URL("../bin/nano-relay.js", import.meta.url).pathname, "migrate", "--config", file],
      { encoding: "utf8" },
    );
    if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  }
  const admin = new pg.Client({
    connectionString: database?.url ?? "postgres://postgres@127.0.0.1:5432/test",
  });
  await admin.connect();
  try {
    await Promise.all(relays.map((relay) => relay.start()));
    for (const relay of relays)
      for (let i = 0; i < 200; i++) {
        if ((await http(relay.url, "GET", "/readyz").catch(() => null))?.status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    // Sender i on relay i, its receiver on the next relay: in the cluster every delivery crosses relays.
    const users = [];
    for (let i = 0; i < load.pairs; i++) {
      const sender = await signUpOver(relays[i % relays.length]!.url, `bsender${i}`);
      const receiver = await signUpOver(relays[(i + 1) % relays.length]!.url, `breceiver${i}`);
      users.push({ sender, receiver });
    }
    const socket = (relay: RelayProcess, token: string) =>
      openReadySocket(relay.wsUrl, { authorization: `Bearer ${token}` });
    const receivers: WebSocket[] = await Promise.all(
      users.map((u, i) => socket(relays[(i + 1) % relays.length]!, u.receiver.token)),
    );
    const senders: WebSocket[] = await Promise.all(
      users.map((u, i) => socket(relays[i % relays.length]!, u.sender.token)),
    );
    const filler = randomBytes(900);
    const runLoad = async (tag: string, perSender: number) => {
      const prepared = senders.map((_, s) =>
        Array.from({ length: perSender }, (_, i) =>
          Buffer.from(
            testEnvelope(Buffer.concat([Buffer.from(`${tag}${s}:${i}`.padEnd(24)), filler])),
          ).toString("base64"),
        ),
      );
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const total = perSender * senders.length;
      let delivered = 0;
      const done = new Promise<void>((resolve, reject) => {
        receivers.forEach((receiver) => {
          receiver.removeAllListeners("message");
          receiver.on("message", (data) => {
            const frame = JSON.parse(data.toString()) as { type: string; id: number; envelope: string };
            if (frame.type !== "message") return;
            const started = sentAt.get(frame.envelope.slice(0, 64));
            if (started !== undefined) {
              latencies.push(performance.now() - started);
              sentAt.delete(frame.envelope.slice(0, 64));
              delivered++;
            }
            receiver.send(JSON.stringify({ type: "ack", ids: [frame.id] }));
            if (delivered === total) resolve();
          });
        });
        senders.forEach((sender, s) => {
          let next = 0;
          let inflight = 0;
          const pump = () => {
            while (inflight < load.window && next < perSender) {
              const envelope = prepared[s]![next]!;
              sentAt.set(envelope.slice(0, 64), performance.now());
              sender.send(
                JSON.stringify({ type: "send", id: `${tag}${next}`, to: `breceiver${s}`, envelope }),
              );
              inflight++;
              next++;
            }
          };
          sender.removeAllListeners("message");
          sender.on("message", (data) => {
            const frame = JSON.parse(data.toString()) as { type: string; code?: string };
            if (frame.type === "sent") {
              inflight--;
              pump();
            } else if (frame.type === "error")
              reject(new Error(`${setup.name}: send failed with ${frame.code}`));
          });
          pump();
        });
      });
      const started = performance.now();
      await done;
      return { seconds: (performance.now() - started) / 1000, latencies, total };
    };
    await runLoad("w", Math.max(20, Math.floor(load.perSender / 10)));
    const pids = relays.map((relay) => relay.ports!.pid);
    const before = {
      relay: pids.map(cpuMs),
      postgres: database === null ? 0 : await postgresBackendCpu(admin, database.name),
      redis: setup.redis ? await redisCounters(redis) : null,
      trips: database === null ? 0 : await roundTrips(relays),
    };
    const measured = await runLoad("m", load.perSender);
    const after = {
      relay: pids.map(cpuMs),
      postgres: database === null ? 0 : await postgresBackendCpu(admin, database.name),
      redis: setup.redis ? await redisCounters(redis) : null,
      trips: database === null ? 0 : await roundTrips(relays),
    };
    for (const s of [...senders, ...receivers]) s.close();
    const n = measured.total;
    const per = (value: number) => Math.round((value / n) * 1000) / 1000;
    measured.latencies.sort((a, b) => a - b);
    return {
      setup: setup.name,
      messages: n,
      seconds: Math.round(measured.seconds * 1000) / 1000,
      messagesPerSecond: Math.round(n / measured.seconds),
      p50ms: Math.round(percentile(measured.latencies, 50) * 10) / 10,
      p99ms: Math.round(percentile(measured.latencies, 99) * 10) / 10,
      relayCpuMsPerMessage: after.relay.map((value, i) => per(value - before.relay[i]!)),
      postgresCpuMsPerMessage: database === null ? null : per(after.postgres - before.postgres),
      redisCpuMsPerMessage:
        after.redis === null || before.redis === null ? null : per(after.redis.cpuMs - before.redis.cpuMs),
      postgresRoundTripsPerMessage: database === null ? null : per(after.trips - before.trips),
      redisCommandsPerMessage:
        after.redis === null || before.redis === null
          ? null
          : per(after.redis.commands - before.redis.commands),
      ratio: null,
    };
  } finally {
    await Promise.all(relays.map((relay) => relay.stop()));
    await admin.end();
    await database?.drop();
  }
}

function format(rows: readonly Row[]): string {
  const header = [
    "setup",
    "msgs/s",
    "p50 ms",
    "p99 ms",
    "relay CPU ms/msg",
    "pg CPU ms/msg",
    "redis CPU ms/msg",
    "pg trips/msg",
    "redis cmds/msg",
    "ratio",
  ];
  const cells = rows.map((row) => [
    row.setup,
    String(row.messagesPerSecond),
    row.p50ms.toFixed(1),
    row.p99ms.toFixed(1),
    row.relayCpuMsPerMessage.map((v) => v.toFixed(3)).join(" + "),
    row.postgresCpuMsPerMessage?.toFixed(3) ?? "",
    row.redisCpuMsPerMessage?.toFixed(3) ?? "",
    row.postgresRoundTripsPerMessage?.toFixed(2) ?? "",
    row.redisCommandsPerMessage?.toFixed(2) ?? "",
    row.ratio === null ? "" : `${row.ratio.toFixed(2)}× SQLite`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => row[column]!.length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) =>
        column === 0 || column === 9 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const load = quick ? { pairs: 3, perSender: 300, window: 16 } : { pairs: 6, perSender: 1500, window: 16 };
  const machine = machineInfo();
  printMachine(machine);
  process.stdout.write(
    `load: ${load.pairs} sender/receiver pairs x ${load.perSender} messages (1 KiB bucket), ${load.window} in flight per sender\n\n`,
  );
  const redis = await PrivateRedis.start();
  const rows: Row[] = [];
  try {
    for (const setup of SETUPS) rows.push(await runSetup(setup, load, redis));
  } finally {
    await redis.kill();
  }
  const baseline = rows[0]!;
  for (const row of rows) row.ratio = row.messagesPerSecond / baseline.messagesPerSecond;
  process.stdout.write(`${format(rows)}\n`);
  const directory = new URL("./results/", import.meta.url);
  mkdirSync(directory, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replaceAll(":", "-")
    .replace(/\.\d+Z$/, "Z");
  const body = `${JSON.stringify({ benchmark: "cluster", date: new Date().toISOString(), machine, load, loadAverage: loadavg(), rows }, null, 2)}\n`;
  writeFileSync(new URL(`cluster-${stamp}.json`, directory), body);
  writeFileSync(new URL("cluster-latest.json", directory), body);
  process.stdout.write(`\nresults: bench/results/cluster-${stamp}.json\n`);
}
