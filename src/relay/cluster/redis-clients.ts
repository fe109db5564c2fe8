/**
 * The relay's two Redis connections (node-redis): one for commands (publish, counters, rate limits,
 * cache) and one in subscriber mode. Commands fail fast while Redis is down (no offline queue): Redis is
 * never the only copy of anything, so a relay that cannot reach it carries on from PostgreSQL rather
 * than queueing work for a server that may not come back.
 */
import { createClient } from "redis";
import { NanoError } from "../../errors/index.ts";
import type { RelayConfig } from "../config/schema.ts";

/**
 * A Redis that stops answering without closing its connections (a frozen host, packets dropped) leaves
 * every command waiting for a reply that never comes: node-redis's command timeout covers only the wait
 * to be written, not the reply. So each client pings every PING_INTERVAL_MS and a connection that
 * receives nothing for SOCKET_TIMEOUT_MS is cut: the commands waiting on it fail, the relay degrades
 * (docs/cluster.md), and node-redis reconnects. A request therefore waits on a frozen Redis at most
 * SOCKET_TIMEOUT_MS; the margin over the ping interval absorbs an event loop held up on a loaded host.
 */
const PING_INTERVAL_MS = 1000;
const SOCKET_TIMEOUT_MS = 5000;

function create(url: string, name: string) {
  return createClient({
    url,
    name,
    disableOfflineQueue: true,
    pingInterval: PING_INTERVAL_MS,
    socket: {
      socketTimeout: SOCKET_TIMEOUT_MS,
      connectTimeout: 2000,
      // Back off to 1 s between attempts; never give up (Redis coming back is the normal case).
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000),
    },
  });
}

export type RedisClient = ReturnType<typeof create>;

/** The Redis URL: the named environment variable wins over the file (it may carry a password). */
export function redisUrl(config: RelayConfig): string | undefined {
  const { redis_url_env: env, redis_url: url } = config.cluster;
  if (env === undefined) return url;
  const value = process.env[env];
  if (value === undefined || value.length === 0)
    throw new NanoError("config_invalid", `environment variable ${env} (cluster.redis_url_env) is not set`);
  return value;
}

export function createRedisClient(url: string, name: string): RedisClient {
  const client = create(url, name);
  // Without a listener an 'error' event would crash the process; state is tracked by the caller.
  client.on("error", () => {});
  return client;
}
