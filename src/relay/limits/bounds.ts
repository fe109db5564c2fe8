import type { RelayConfig } from "../config/schema.ts";
import type { TransparencyService } from "../transparency.ts";
import { KeyedCounter } from "./keyed-counter.ts";
import { MemoryWatch } from "./memory-watch.ts";
import { OutboundBudget } from "./outbound-budget.ts";
import { RefusalLog } from "./refusal-log.ts";

/**
 * The relay's resource bounds other than rate limits (docs/relay.md "Limits and abuse"), one instance
 * per relay process, shared by its listeners: what is counted here is this process's memory and
 * sockets, so none of it moves to Redis in a cluster.
 */
export interface RelayBounds {
  /** Open TCP connections per client address (server.max_connections_per_address). */
  readonly connections: KeyedCounter;
  /** WebSocket connections per client address not yet authenticated. */
  readonly unauthenticated: KeyedCounter;
  /** Prekey uploads being verified per account: one at a time. */
  readonly uploads: KeyedCounter;
  /** Unflushed WebSocket bytes across all sockets. */
  readonly outbound: OutboundBudget;
  readonly memory: MemoryWatch;
  /** Audit entries for refused requests, aggregated per window. */
  readonly refusals: RefusalLog;
}

export function createRelayBounds(
  config: RelayConfig,
  transparency: TransparencyService | undefined,
  now: () => number,
  onAuditError: (error: unknown) => void,
): RelayBounds {
  const { limits, server } = config;
  return {
    connections: new KeyedCounter(server.max_connections_per_address),
    unauthenticated: new KeyedCounter(limits.websocket.max_unauthenticated_per_address),
    uploads: new KeyedCounter(1),
    outbound: new OutboundBudget(limits.websocket.outbound_budget_bytes),
    memory: new MemoryWatch(limits.memory_budget_bytes),
    refusals: new RefusalLog({
      perWindow: limits.audit_failure_entries_per_minute,
      windowMs: 60_000,
      append: (event) => (transparency === undefined ? Promise.resolve() : transparency.record(event)),
      now,
      onError: onAuditError,
    }),
  };
}
