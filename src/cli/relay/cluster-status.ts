/**
 * `nano-relay status --config FILE [--watch]` for a cluster (docs/cluster.md): every relay that
 * announced itself in Redis with its readiness, connections and pending writes (asked over HTTP), the
 * queue depths in PostgreSQL, and how PostgreSQL and Redis answer. Read-only; it opens its own
 * connections and writes nothing.
 */

import { NanoError } from "../../errors/index.ts";
import { PRESENCE_STALE_MS, type RelayPresence } from "../../relay/cluster/cluster-link.ts";
import { createRedisClient, redisUrl } from "../../relay/cluster/redis-clients.ts";
import type { RelayConfig } from "../../relay/config/schema.ts";
import { postgresUrl } from "../../relay/storage-backend.ts";
import { openPool, type Pool, query } from "../../store/postgres/connection.ts";
import { parseMetrics } from "./status.ts";

export interface ClusterRelayRow {
  readonly node: string;
  readonly url: string;
  readonly state: "ready" | "degraded" | "draining" | "not ready" | "unreachable";
  readonly connections: number;
  readonly pending_writes: number;
  readonly seen_seconds_ago: number;
}

export interface ClusterReport {
  readonly postgres: { readonly up: boolean; readonly latency_ms: number | null };
  readonly redis: { readonly up: boolean; readonly latency_ms: number | null };
  readonly queue: { readonly messages: number; readonly bytes: number; readonly mailboxes: number } | null;
  readonly relays: readonly ClusterRelayRow[];
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T | null; ms: number | null }> {
  const started = performance.now();
  try {
    const value = await work();
    return { value, ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch {
    return { value: null, ms: null };
  }
}

async function relayRow(presence: RelayPresence, now: number): Promise<ClusterRelayRow> {
  const base = {
    node: presence.node,
    url: presence.api_url,
    connections: presence.connections,
    pending_writes: presence.pending_writes,
    seen_seconds_ago: Math.round((now - presence.at) / 1000),
  };
  try {
    const signal = AbortSignal.timeout(3000);
    const [ready, metrics] = await Promise.all([
      fetch(new URL("/readyz", presence.api_url), { signal }).then(
        async (r) => (await r.json()) as Record<string, unknown>,
      ),
      fetch(new URL("/metrics", presence.api_url), { signal }).then((r) => r.text()),
    ]);
    const parsed = parseMetrics(metrics);
    const state = ready.draining
      ? "draining"
      : ready.ready
        ? "ready"
        : ready.degraded
          ? "degraded"
          : "not ready";
    return {
      ...base,
      state,
      connections: parsed.get("nano_websocket_connections") ?? base.connections,
      pending_writes: parsed.get("nano_group_commit_pending") ?? base.pending_writes,
    };
  } catch {
    return { ...base, state: "unreachable" };
  }
}

export async function sampleCluster(
  config: RelayConfig,
  pool: Pool,
  redis: ReturnType<typeof createRedisClient>,
): Promise<ClusterReport> {
  const prefix = config.cluster.key_prefix;
  const pgPing = await timed(() => query(pool, "SELECT 1"));
  const queue = await timed(async () => {
    const [row] = await query(
      pool,
      "SELECT coalesce(sum(messages), 0) AS m, coalesce(sum(bytes), 0) AS b, count(*) FILTER (WHERE messages > 0) AS n FROM mailboxes",
    );
    return { messages: Number(row?.m ?? 0), bytes: Number(row?.b ?? 0), mailboxes: Number(row?.n ?? 0) };
  });
  const redisPing = await timed(async () => {
    if (!redis.isReady) throw new Error("redis down");
    return redis.ping();
  });
  const presence = await timed(async () => Object.values(await redis.hGetAll(`${prefix}:relays`)));
  const now = Date.now();
  const records = (presence.value ?? [])
    .map((text) => JSON.parse(text) as RelayPresence)
    // A relay that died without saying goodbye stops refreshing its record; show it for a while.
    .filter((record) => now - record.at < PRESENCE_STALE_MS * 10)
    .sort((a, b) => a.api_url.localeCompare(b.api_url));
  return {
    postgres: { up: pgPing.value !== null, latency_ms: pgPing.ms },
    redis: { up: redisPing.value !== null, latency_ms: redisPing.ms },
    queue: queue.value,
    relays: await Promise.all(records.map((record) => relayRow(record, now))),
  };
}

export function renderClusterReport(report: ClusterReport): string {
  const health = (part: { up: boolean; latency_ms: number | null }) =>
    part.up ? `up (${part.latency_ms} ms)` : "DOWN";
  const lines = [
    `nano-relay cluster: ${report.relays.filter((r) => r.state === "ready").length}/${report.relays.length} relays ready`,
    `  postgresql  ${health(report.postgres)}`,
    `  redis       ${health(report.redis)}`,
    report.queue === null
      ? "  queued      unknown (PostgreSQL down)"
      : `  queued      ${report.queue.messages} messages in ${report.queue.mailboxes} mailbox(es), ${report.queue.bytes} bytes`,
    "",
    `  ${"relay".padEnd(28)} ${"state".padEnd(11)} ${"connections".padStart(11)} ${"pending".padStart(7)}  node`,
    ...report.relays.map(
      (r) =>
        `  ${r.url.padEnd(28)} ${r.state.padEnd(11)} ${String(r.connections).padStart(11)} ${String(r.pending_writes).padStart(7)}  ${r.node}${r.seen_seconds_ago > PRESENCE_STALE_MS / 1000 ? ` (last seen ${r.seen_seconds_ago} s ago)` : ""}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** How long status waits for Redis before it reports it down. */
const REDIS_CONNECT_WAIT_MS = 3000;

export async function clusterStatusCommand(
  config: RelayConfig,
  options: { watch: boolean; interval: string; json: boolean },
): Promise<void> {
  const url = redisUrl(config);
  if (url === undefined || config.storage.backend !== "postgres")
    throw new NanoError(
      "config_invalid",
      'status --config needs a cluster configuration (storage.backend = "postgres" and cluster.redis_url)',
    );
  const interval = Math.max(0.5, Number(options.interval) || 2) * 1000;
  const pool = openPool({ url: postgresUrl(config), max: 1, applicationName: "nano-relay status" });
  const redis = createRedisClient(url, "nano-relay-status");
  // node-redis's connect() waits for Redis for ever (it keeps reconnecting); status must answer when
  // Redis is the thing that is down, so it waits a moment and then reports what it finds.
  let waited: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.connect().catch(() => {}),
    new Promise((done) => (waited = setTimeout(done, REDIS_CONNECT_WAIT_MS))),
  ]);
  clearTimeout(waited);
  try {
    for (;;) {
      const report = await sampleCluster(config, pool, redis);
      if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        if (options.watch && process.stdout.isTTY) process.stdout.write("\x1b[H\x1b[2J");
        process.stdout.write(renderClusterReport(report));
      }
      if (!options.watch) {
        if (!report.postgres.up || report.relays.every((r) => r.state !== "ready")) process.exitCode = 1;
        return;
      }
      await new Promise((done) => setTimeout(done, interval));
    }
  } finally {
    redis.destroy();
    await pool.end();
  }
}
