import type { FastifyInstance } from "fastify";
import type { HealthAnswer, ReadinessAnswer } from "../../wire/index.ts";
import type { RelayContext } from "../context.ts";

const started = Date.now();

export interface Readiness {
  readonly ready: boolean;
  readonly body: ReadinessAnswer;
}

/**
 * What /readyz answers. Also asked over IPC by `nano-relay serve`'s supervisor, which cannot reach one
 * worker through the port the workers share (src/relay/instances/supervisor.ts).
 */
export async function readiness(context: RelayContext): Promise<Readiness> {
  const reachable = await context.store.ping();
  const health = reachable ? await context.storeHealth.check() : { writable: false };
  // In a cluster a relay without its Redis subscription still serves (polling PostgreSQL) but is
  // degraded: wake-ups from other relays reach it late, so it says so here and in metrics.
  const cluster = context.cluster?.health;
  const subscribed = cluster === undefined || cluster.redis === "subscribed";
  const ready = reachable && health.writable && subscribed && !context.draining;
  return {
    ready,
    body: {
      ready,
      store: !reachable ? "unreachable" : health.writable ? "writable" : "cannot write",
      ...(health.problem === undefined ? {} : { store_problem: health.problem }),
      draining: context.draining,
      websocket_connections: context.hub.connections,
      ...(cluster === undefined ? {} : { redis: cluster.redis, node: cluster.node, degraded: !subscribed }),
    },
  };
}

/** Liveness, readiness and metrics: unauthenticated, never refused while draining. */
export function healthRoutes(app: FastifyInstance, context: RelayContext): void {
  app.get(
    "/healthz",
    async (): Promise<HealthAnswer> => ({
      status: "alive",
      uptime_seconds: Math.round((Date.now() - started) / 1000),
    }),
  );
  // Readiness fails while draining so a load balancer stops sending new clients here first.
  // It also fails when the store cannot write (a full disk, a read-only or failing disk: every send
  // would fail), with the reason in store_problem (store-health.ts).
  app.get("/readyz", async (_request, reply) => {
    const { ready, body } = await readiness(context);
    return reply.status(ready ? 200 : 503).send(body);
  });
  if (context.config.monitoring.metrics_enabled) {
    app.get("/metrics", async (_request, reply) => {
      context.metrics.websocketConnections.set(context.hub.connections);
      const text = await context.metrics.registry.metrics();
      return reply.type(context.metrics.registry.contentType).send(text);
    });
  }
}
