import { readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { type DestinationStream, type Logger, pino } from "pino";
import { fromHex } from "../crypto/index.ts";
import type { RelayStore } from "../store/types.ts";
import { CLOSE } from "../wire/index.ts";
import { buildRelayApp } from "./app.ts";
import { attachTransparency, transparencyHook } from "./audit-relay.ts";
import type { ChallengeKeeper } from "./auth.ts";
import { type Clock, systemClock } from "./clock.ts";
import { CachedAccountStore } from "./cluster/account-cache.ts";
import { ClusterLink } from "./cluster/cluster-link.ts";
import { PostgresTransparency } from "./cluster/postgres-transparency.ts";
import { InclusionProofCache } from "./cluster/proof-cache.ts";
import { redisUrl } from "./cluster/redis-clients.ts";
import type { RelayConfig } from "./config/schema.ts";
import { createRelayContext, type RelayContext } from "./context.ts";
import { startErasureWatch } from "./erasure-watch.ts";
import { makeRelayFilesPrivate } from "./limits/private-files.ts";
import { loggerOptions } from "./logger.ts";
import type { ProtocolVerifier } from "./protocol-verifier.ts";
import { openRelayStorage } from "./storage-backend.ts";
import { startSweeper } from "./sweeper.ts";

/**
 * WebSockets are closed in this many batches over `drain_close_period_seconds`: enough to spread the
 * reconnections, few enough that each batch's timer is coarse.
 */
export const DRAIN_CLOSE_BATCHES = 10;

/** TLS 1.3 only, post-quantum hybrid group first (DESIGN.md stack table). */
export const TLS_GROUPS = "X25519MLKEM768:X25519";

export interface StartOptions {
  readonly verifier: ProtocolVerifier;
  readonly clock?: Clock;
  /** Written atomically once listening: {"api_port", "websocket_port", "api_url", "websocket_url", "pid"}. */
  readonly portFile?: string;
  /** Log destination (defaults to stdout). */
  readonly logDestination?: DestinationStream;
  /**
   * Listen with SO_REUSEPORT so several relay processes share the ports and the kernel spreads new
   * connections over them (`nano-relay serve --instances N`, Linux and the BSDs).
   */
  readonly reusePort?: boolean;
  /** Where challenges live when the store does not share them (the workers of one serve). */
  readonly challenges?: ChallengeKeeper;
}

export interface RelayServer {
  readonly context: RelayContext;
  readonly apiUrl: string;
  readonly websocketUrl: string;
  readonly apiPort: number;
  readonly websocketPort: number;
  /**
   * Graceful: readiness off, keep serving for `drain_delay_seconds`, stop accepting, answer what is in
   * flight, close WebSockets with 1012 in batches, close the store (docs/relay.md "Shutdown").
   */
  shutdown(reason: string): Promise<void>;
}

function tlsOptions(config: RelayConfig): object | null {
  const tls = config.server.tls;
  if (!tls.enabled) return null;
  const passphrase = tls.key_passphrase_env === undefined ? undefined : process.env[tls.key_passphrase_env];
  return {
    cert: readFileSync(resolve(tls.cert_file!)),
    key: readFileSync(resolve(tls.key_file!)),
    ...(passphrase === undefined ? {} : { passphrase }),
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    ecdhCurve: TLS_GROUPS,
  };
}

async function listen(app: FastifyInstance, host: string, port: number, reusePort: boolean): Promise<number> {
  await app.listen({ host, port, ...(reusePort ? { reusePort } : {}) });
  return (app.server.address() as AddressInfo).port;
}

function urlFor(config: RelayConfig, scheme: "http" | "ws", port: number): string {
  const secure = config.server.tls.enabled ? "s" : "";
  const host = config.server.bind_address.includes(":")
    ? `[${config.server.bind_address}]`
    : config.server.bind_address;
  return `${scheme}${secure}://${host}:${port}`;
}

export async function startRelay(config: RelayConfig, options: StartOptions): Promise<RelayServer> {
  const log: Logger = pino(loggerOptions(config), options.logDestination ?? pino.destination(1));
  // Before anything is created: the database, its journals and the blobs are private to the relay.
  makeRelayFilesPrivate(config, log);
  const clock = options.clock ?? systemClock;
  const storage = await openRelayStorage(config, clock, log);
  const redis = redisUrl(config);
  // In a cluster, account records are read through L1/L2 caches (src/relay/cluster/account-cache.ts).
  const accounts = redis === undefined ? null : new CachedAccountStore(storage.store.accounts);
  const store: RelayStore =
    accounts === null
      ? storage.store
      : {
          accounts,
          prekeys: storage.store.prekeys,
          mailboxes: storage.store.mailboxes,
          attachments: storage.store.attachments,
          ...(storage.store.retention === undefined ? {} : { retention: storage.store.retention }),
          ping: () => storage.store.ping(),
          close: () => storage.store.close(),
        };
  let logs: Awaited<ReturnType<typeof attachTransparency>>;
  try {
    logs = await attachTransparency(config, storage.transparency, clock, log, storage.migrations);
  } catch (error) {
    // A refused start (an unapproved configuration change) must not leave the store open behind it.
    await storage.store.close().catch(() => {});
    throw error;
  }
  const context = createRelayContext({
    config,
    store,
    verifier: options.verifier,
    clock,
    log,
    transparency: logs.transparency,
    compliance: storage.compliance,
    auditLog: transparencyHook(logs.transparency, log),
    pendingWrites: () => storage.pendingWrites(),
    ...(storage.challenges !== undefined
      ? { challenges: storage.challenges }
      : options.challenges !== undefined
        ? { challenges: options.challenges }
        : {}),
    ...(storage.blobs === undefined ? {} : { blobs: storage.blobs }),
  });
  storage.observeCommits((writes, seconds) => {
    context.metrics.groupCommitBatch.observe(writes);
    context.metrics.groupCommitSeconds.observe(seconds);
  });
  context.metrics.attachRoundTrips(() => storage.roundTrips());
  if (redis !== undefined) {
    const link = new ClusterLink({ url: redis, config, hub: context.hub, log, metrics: context.metrics });
    context.cluster = link;
    context.tokens.shareUses(link.tokenUses());
    link.tokenAlive = async (tokenId) => (await storage.store.accounts.getToken(fromHex(tokenId))) !== null;
    if (accounts !== null) {
      accounts.attach(link.commands, config.cluster.key_prefix, (username) =>
        link.announceInvalidation(username),
      );
      link.addCache(accounts);
    }
    // Inclusion proofs are immutable per (leaf, tree size): cached without invalidation (proof-cache.ts).
    if (storage.transparency instanceof PostgresTransparency)
      storage.transparency.cacheProofs(new InclusionProofCache(link.commands, config.cluster.key_prefix));
    await link.start();
    context.limits.share(link.commands, config.cluster.key_prefix);
  }
  // Storage failures (a full disk, an I/O error) make /readyz say the store cannot write (store-health.ts).
  storage.observeOutcomes?.((failure) => context.storeHealth.noteOutcome(failure));
  const https = tlsOptions(config);
  const fastify = https === null ? {} : { https };
  const shared = config.server.api_port === config.server.websocket_port;
  const apps: FastifyInstance[] = [];
  const api = await buildRelayApp(context, { api: true, websocket: shared, fastify });
  apps.push(api);
  const host = config.server.bind_address;
  const reusePort = options.reusePort === true;
  const apiPort = await listen(api, host, config.server.api_port, reusePort);
  let websocketPort = apiPort;
  if (!shared) {
    const ws = await buildRelayApp(context, { api: false, websocket: true, fastify });
    apps.push(ws);
    websocketPort = await listen(ws, host, config.server.websocket_port, reusePort);
  }
  const stopSweeper = startSweeper(context);
  // Sessions of accounts erased by `nano-relay compliance erase` (another process) end within a second.
  const stopErasureWatch =
    context.compliance === undefined
      ? () => {}
      : startErasureWatch({
          compliance: context.compliance,
          hub: context.hub,
          log,
          tokenAlive: async (tokenId) => (await storage.store.accounts.getToken(fromHex(tokenId))) !== null,
        });
  const apiUrl = urlFor(config, "http", apiPort);
  if (context.cluster !== null)
    context.cluster.presence = () => ({
      api_url: apiUrl,
      schema: storage.shippedSchema,
      connections: context.hub.connections,
      pending_writes: storage.pendingWrites(),
    });
  await context.cluster?.beat();
  const websocketUrl = `${urlFor(config, "ws", websocketPort)}/v1/ws`;
  log.info(
    { api_port: apiPort, websocket_port: websocketPort, api_url: apiUrl, websocket_url: websocketUrl },
    "listening",
  );
  if (options.portFile !== undefined) {
    const tmp = `${options.portFile}.${process.pid}.tmp`;
    const info = {
      api_port: apiPort,
      websocket_port: websocketPort,
      api_url: apiUrl,
      websocket_url: websocketUrl,
      pid: process.pid,
    };
    await writeFile(tmp, `${JSON.stringify(info)}\n`);
    await rename(tmp, options.portFile);
  }

  let closing: Promise<void> | null = null;
  const graceMs = config.server.shutdown_grace_seconds * 1000;
  const withinGrace = <T>(work: Promise<T>) =>
    Promise.race([work, new Promise<void>((done) => setTimeout(done, graceMs).unref())]);
  const { drain_delay_seconds: delaySeconds, drain_close_period_seconds: periodSeconds } = config.server;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      log.info({ reason, drain_delay_seconds: delaySeconds }, "draining");
      // Readiness off first: load balancers (and Kubernetes, which removes endpoints in parallel with
      // SIGTERM) stop sending new clients here while everything is still served.
      context.draining = true;
      context.metrics.draining.set(1);
      if (delaySeconds > 0) await new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000));
      context.refusing = true;
      stopSweeper();
      stopErasureWatch();
      // Stop accepting new connections; open ones finish what they asked for, then close with 1012
      // (clients reconnect at once, elsewhere) in batches so the other relays are not stampeded.
      for (const app of apps) app.server.close();
      await withinGrace(
        context.hub.drainAll(
          CLOSE.SERVICE_RESTART,
          "relay restarting",
          periodSeconds * 1000,
          DRAIN_CLOSE_BATCHES,
        ),
      );
      // Whatever is left when the grace ran out.
      context.hub.closeAll(CLOSE.GOING_AWAY, "relay shutting down");
      await withinGrace(Promise.all(apps.map((app) => app.close())));
      // The refusal counts of the open window go into the audit log before it records the stop.
      await context.bounds.refusals.stop();
      await context.verify.close();
      await logs.stop(reason).catch((error: unknown) => log.error({ err: error }, "audit stop failed"));
      await context.cluster?.close();
      await store.close();
      log.info("stopped");
      log.flush?.();
    })();
    return closing;
  };
  return { context, apiUrl, websocketUrl, apiPort, websocketPort, shutdown };
}

/**
 * Installs the SIGTERM/SIGINT handlers now, before the relay is up: a supervisor or test that sends
 * SIGTERM as soon as the port file appears (written inside startRelay, just before it returns) would
 * otherwise meet Node's default action and kill the relay without a drain. A signal that arrives before
 * `attach` is kept and acted on once the server is there. First signal drains; a second one exits at
 * once (an operator who means it).
 */
export function trapSignals(): { attach(server: RelayServer): void } {
  let server: RelayServer | null = null;
  let pending: NodeJS.Signals | null = null;
  let draining = false;
  const drain = (relay: RelayServer, signal: NodeJS.Signals) => {
    draining = true;
    relay.shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        relay.context.log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining || pending !== null) {
      server?.context.log.warn({ signal }, "second signal: exiting without draining");
      process.exit(130);
    }
    if (server === null) pending = signal;
    else drain(server, signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    attach(relay) {
      server = relay;
      if (pending !== null) drain(relay, pending);
    },
  };
}

/** Signal handling for a relay that is already up (see trapSignals for one that is starting). */
export function handleSignals(server: RelayServer): void {
  trapSignals().attach(server);
}
