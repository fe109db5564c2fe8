import { Counter, Gauge, Histogram, Registry } from "@prometheus-io/client";
import type { RelayStore } from "../store/types.ts";
import type { RelayBounds } from "./limits/bounds.ts";

/**
 * Prometheus metrics. Labels are bounded (route patterns, status codes, limit names): never a
 * username, token or id, which would both leak and blow up cardinality.
 */
export class RelayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "nano_http_requests_total",
    help: "HTTP requests by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "nano_http_request_duration_seconds",
    help: "HTTP request latency by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly messagesStored = new Counter({
    name: "nano_messages_stored_total",
    help: "Messages durably stored (duplicates of a retried send not counted)",
    registers: [this.registry],
  });
  readonly messagesDelivered = new Counter({
    name: "nano_messages_delivered_total",
    help: "Messages handed to a recipient (WebSocket push or poll); redeliveries count again",
    labelNames: ["via"] as const,
    registers: [this.registry],
  });
  readonly messagesAcknowledged = new Counter({
    name: "nano_messages_acknowledged_total",
    help: "Messages deleted on the recipient's acknowledgement",
    registers: [this.registry],
  });
  readonly messagesExpired = new Counter({
    name: "nano_messages_expired_total",
    help: "Messages deleted by the TTL sweeper",
    registers: [this.registry],
  });
  readonly messagesRejected = new Counter({
    name: "nano_messages_rejected_total",
    help: "Sends refused with a typed error, by code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly rateLimitHits = new Counter({
    name: "nano_rate_limit_hits_total",
    help: "Requests refused by a rate limit",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: "nano_auth_failures_total",
    help: "Failed claims, logins and token checks by reason (error code)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly websocketConnections = new Gauge({
    name: "nano_websocket_connections",
    help: "Open authenticated WebSocket connections",
    registers: [this.registry],
  });
  readonly websocketFrames = new Counter({
    name: "nano_websocket_frames_total",
    help: "Frames received from WebSocket clients, by type (auth, send, ack, malformed)",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly websocketLimitCloses = new Counter({
    name: "nano_websocket_limit_closes_total",
    help: "WebSocket connections refused or closed by an abuse bound, by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly groupCommitBatch = new Histogram({
    name: "nano_group_commit_batch_size",
    help: "Writes per durable transaction",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  readonly groupCommitSeconds = new Histogram({
    name: "nano_group_commit_seconds",
    help: "Time from BEGIN to a durable COMMIT per transaction (on SQLite the event loop is held that long)",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  /** src/relay/message-stages.ts: where a message's time goes inside the relay. */
  readonly messageStageSeconds = new Histogram({
    name: "nano_message_stage_seconds",
    help: "Time a message spends in each stage inside the relay: check, commit, push, ack, delete",
    labelNames: ["stage"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly redisUp = new Gauge({
    name: "nano_cluster_redis_up",
    help: "1 while this relay's Redis subscription is live, 0 while it polls PostgreSQL instead",
    registers: [this.registry],
  });
  readonly clusterSignals = new Counter({
    name: "nano_cluster_signals_total",
    help: "Redis wake-up and login signals sent and received by this relay",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });
  readonly sessionsReplaced = new Counter({
    name: "nano_sessions_replaced_total",
    help: "Connections closed because the same device logged in again (on any relay)",
    registers: [this.registry],
  });
  readonly draining = new Gauge({
    name: "nano_relay_draining",
    help: "1 while the relay is shutting down",
    registers: [this.registry],
  });

  /** Signature verifications admitted and not finished (src/relay/verify), read when scraped. */
  attachVerification(pending: () => number): void {
    const gauge = new Gauge({
      name: "nano_verify_pending",
      help: "Signature verifications (uploads, claims, logins, identity updates) admitted and not finished",
      registers: [this.registry],
      collect() {
        this.set(pending());
      },
    });
    void gauge;
  }

  /** Gauges of the process's abuse bounds (src/relay/limits), read when scraped. */
  attachBounds(bounds: RelayBounds): void {
    const outbound = new Gauge({
      name: "nano_websocket_outbound_bytes",
      help: "Bytes written to WebSocket sockets and not yet taken by the kernel (all sockets)",
      registers: [this.registry],
      collect() {
        this.set(bounds.outbound.used);
      },
    });
    const resident = new Gauge({
      name: "nano_process_resident_bytes",
      help: "Resident memory of the relay process (checked against limits.memory_budget_bytes)",
      registers: [this.registry],
      collect() {
        this.set(bounds.memory.rss);
      },
    });
    void [outbound, resident];
  }

  /** Queue depths are read from the store when scraped, so they are right after a restart too. */
  attachStore(store: RelayStore, pendingWrites: () => number): void {
    const queueMessages = new Gauge({
      name: "nano_queue_messages",
      help: "Messages waiting in all mailboxes",
      registers: [this.registry],
      async collect() {
        this.set((await store.mailboxes.totals()).messages);
      },
    });
    const queueBytes = new Gauge({
      name: "nano_queue_bytes",
      help: "Envelope bytes waiting in all mailboxes",
      registers: [this.registry],
      async collect() {
        this.set((await store.mailboxes.totals()).bytes);
      },
    });
    const mailboxes = new Gauge({
      name: "nano_queue_mailboxes",
      help: "Mailboxes with at least one waiting message",
      registers: [this.registry],
      async collect() {
        this.set((await store.mailboxes.totals()).mailboxes);
      },
    });
    const pending = new Gauge({
      name: "nano_group_commit_pending",
      help: "Writes queued for the next durable transaction",
      registers: [this.registry],
      collect() {
        this.set(pendingWrites());
      },
    });
    void [queueMessages, queueBytes, mailboxes, pending];
  }

  /** Statements sent to PostgreSQL (a counter read from the store's pool when scraped). */
  attachRoundTrips(roundTrips: () => number): void {
    const queries = new Gauge({
      name: "nano_postgres_round_trips",
      help: "Statements this relay sent to PostgreSQL since it started (0 on SQLite)",
      registers: [this.registry],
      collect() {
        this.set(roundTrips());
      },
    });
    void queries;
  }
}
