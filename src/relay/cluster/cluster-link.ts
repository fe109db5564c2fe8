/**
 * One relay's membership in a cluster through Redis (docs/cluster.md). Redis carries signals only;
 * PostgreSQL holds every message, and losing a signal delays a message by at most the safety poll:
 * - wake-ups: after a send commits, the relay publishes on the recipient's sharded channel
 *   (SPUBLISH); every relay with a connection of that user is subscribed (SSUBSCRIBE) and makes the
 *   connection re-read its mailbox from its cursor. After each (re)subscription every local connection
 *   re-reads (a wake-up published while the subscription was down is lost, the messages are not), and
 *   every `safety_poll_seconds` anyway; while the subscription is down, every second.
 * - one live connection per device (one device per identity in v1): each authenticated connection
 *   takes a generation and announces it on the user's channel; every relay closes its connections of
 *   that user with an older generation, whatever order the announcements arrive in. A generation is
 *   Redis's clock in microseconds, raised above the user's newest one (a script): it keeps growing
 *   when Redis comes back empty, where a counter would start again below the generations connections
 *   still hold. An announcement can be missed (Redis down, or published before this relay's
 *   subscription to the user took effect), so after each subscription every connection's generation
 *   is checked against the newest recorded and announced again: the newest login is the one left.
 * - sessions ended elsewhere: a token revoked, or every token of an account whose identity record was
 *   replaced, through one relay must end the push sessions they opened on every relay. The relay that
 *   deleted them announces it on the user's channel; each relay then checks its sessions of that user
 *   against the token table (the signal names no token: PostgreSQL, not Redis, says which are gone)
 *   and, after each (re)subscription, every session it holds (announcements made meanwhile were lost).
 * - a presence record per relay (a hash field refreshed by the health loop) for `status --watch`.
 */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { CLOSE, CLOSE_REASONS } from "../../wire/index.ts";
import type { TokenUseLedger } from "../auth.ts";
import type { RelayConfig } from "../config/schema.ts";
import type { DeliveryHub, PushTarget } from "../delivery-hub.ts";
import type { RelayMetrics } from "../metrics.ts";
import { createRedisClient, type RedisClient } from "./redis-clients.ts";

const DEGRADED_POLL_MS = 1000;
/**
 * A new generation for KEYS[1]: Redis's clock in microseconds, or one above the newest recorded if that
 * is not smaller (two logins in one microsecond, or a clock stepped back).
 */
const CLAIM_SCRIPT = `local t = redis.call('TIME')
local g = tonumber(t[1]) * 1000000 + tonumber(t[2])
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if g <= c then g = c + 1 end
redis.call('SET', KEYS[1], g)
return g`;
/** Records generation ARGV[1] of KEYS[1] unless a newer one is recorded; returns the newest. */
const RAISE_SCRIPT = `local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local g = tonumber(ARGV[1])
if g > c then redis.call('SET', KEYS[1], ARGV[1]) return g end
return c`;
/** How long a starting relay waits for Redis before it starts without (degraded). */
const START_WAIT_MS = 3000;
/** Presence records older than this are relays that died without saying goodbye. */
export const PRESENCE_STALE_MS = 30_000;

export interface ClusterHealth {
  readonly redis: "subscribed" | "down";
  readonly node: string;
}

/** The channel on which a username whose account record changed is announced to every relay's cache. */
export function invalidationChannel(prefix: string): string {
  return `${prefix}:invalidate`;
}

/** What a relay announces about itself for `nano-relay status --watch`. */
export interface RelayPresence {
  readonly node: string;
  readonly api_url: string;
  readonly connections: number;
  readonly pending_writes: number;
  /**
   * The newest migration this relay's code ships: `nano-relay migrate --contract` applies a contract
   * step N only when every live relay announces N or more (src/store/migration-kinds.ts).
   */
  readonly schema?: number;
  readonly at: number;
}

/**
 * Why sessions were ended elsewhere: the close reason their connections get (docs/api.md, 4401).
 * `account_erased` comes from `nano-relay compliance erase`, a process outside the cluster.
 */
export type SessionsEnded =
  | typeof CLOSE_REASONS.tokenRevoked
  | typeof CLOSE_REASONS.identityUpdated
  | typeof CLOSE_REASONS.accountErased;
const SESSIONS_ENDED: ReadonlySet<string> = new Set([
  CLOSE_REASONS.tokenRevoked,
  CLOSE_REASONS.identityUpdated,
  CLOSE_REASONS.accountErased,
]);

/** The sharded channel of one user's signals (wake-ups, logins, sessions ended). */
export function userChannel(prefix: string, username: string): string {
  return `${prefix}:user:${username}`;
}

/** The signal that tells every relay to check `username`'s sessions against the token table. */
export function sessionsEndedSignal(reason: SessionsEnded): string {
  return encodeSignal({ kind: "sessions", reason });
}

type Signal =
  | { readonly kind: "wake" }
  | { readonly kind: "login"; readonly generation: number; readonly node: string }
  | { readonly kind: "sessions"; readonly reason: SessionsEnded };

function encodeSignal(signal: Signal): string {
  if (signal.kind === "wake") return "w";
  if (signal.kind === "sessions") return `s:${signal.reason}`;
  return `l:${signal.generation}:${signal.node}`;
}

function decodeSignal(text: string): Signal | null {
  if (text === "w") return { kind: "wake" };
  if (text.startsWith("s:") && SESSIONS_ENDED.has(text.slice(2)))
    return { kind: "sessions", reason: text.slice(2) as SessionsEnded };
  const match = /^l:(\d{1,16}):(.{1,200})$/.exec(text);
  return match === null ? null : { kind: "login", generation: Number(match[1]), node: match[2]! };
}

export class ClusterLink {
  readonly node = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  readonly #prefix: string;
  readonly #hub: DeliveryHub;
  readonly #log: Logger;
  readonly #metrics: RelayMetrics;
  readonly #commands: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #safetyPollMs: number;
  readonly #healthMs: number;
  /** Users with a connection here, and so a subscription to their channel. */
  readonly #subscribed = new Set<string>();
  /** One listener per user: node-redis keeps listeners in a set, so re-subscribing never doubles them. */
  readonly #listeners = new Map<string, (message: string) => void>();
  readonly #generations = new Map<PushTarget, { username: string; generation: number }>();
  /**
   * The newest generation announced by another relay per user connected here: an announcement can
   * arrive (subscriber connection) before the reply to this relay's own claim (command connection).
   */
  readonly #newestRemote = new Map<string, number>();
  #live = false;
  #closed = false;
  #timers: NodeJS.Timeout[] = [];
  #degradedTimer: NodeJS.Timeout | undefined;
  /** Told of every username another relay (or this one) changed, and of the channel's state. */
  readonly #invalidations = new Set<{ invalidate(username: string): void; setLive(live: boolean): void }>();
  /**
   * Filled by the relay: whether a session's token (by its id, see TokenService.session) is still in
   * the store. Null: sessions are not checked (a ClusterLink without a relay, in tests).
   */
  tokenAlive: ((tokenId: string) => Promise<boolean>) | null = null;
  /** Filled by the relay once it listens: the presence record needs its URL. */
  presence: (() => Omit<RelayPresence, "node" | "at">) | null = null;

  constructor(options: {
    url: string;
    config: RelayConfig;
    hub: DeliveryHub;
    log: Logger;
    metrics: RelayMetrics;
  }) {
    const { config } = options;
    this.#prefix = config.cluster.key_prefix;
    this.#hub = options.hub;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#safetyPollMs = config.cluster.safety_poll_seconds * 1000;
    this.#healthMs = config.cluster.health_interval_seconds * 1000;
    this.#commands = createRedisClient(options.url, `nano-relay:${this.node}`);
    this.#subscriber = createRedisClient(options.url, `nano-relay-sub:${this.node}`);
    // node-redis re-issues every SSUBSCRIBE on reconnect and then reports "ready": from then on no
    // wake-up is missed, so each connection re-reads what it may have missed before.
    this.#subscriber.on("ready", () => this.#onSubscribed());
    for (const event of ["end", "error", "reconnecting"])
      this.#subscriber.on(event, () => this.#onLost(event));
    // The two clients reconnect independently: generations are re-checked after the subscriber is back
    // (#subscribe) and, in case the command client came back later, after that too.
    this.#commands.on("ready", () => {
      if (this.#live) void this.#reassert(null);
    });
    this.#hub.onPresence = (username, present) => this.#presenceChanged(username, present);
  }

  /** Registers a cache for cluster-wide invalidation (account-cache.ts). */
  addCache(cache: { invalidate(username: string): void; setLive(live: boolean): void }): void {
    this.#invalidations.add(cache);
    cache.setLive(this.#live);
  }

  /** Tells every relay (this one included) that `username`'s cached records are stale. */
  announceInvalidation(username: string): void {
    if (this.#closed || !this.#commands.isReady) return;
    this.#commands.publish(invalidationChannel(this.#prefix), username).catch(() => {});
  }

  /**
   * One function for every (re)subscription: node-redis keeps a channel's listeners in a set, so the
   * same one is not added again; a fresh arrow per reconnect would handle each invalidation once more
   * for every reconnect the relay ever had.
   */
  readonly #invalidationListener = (username: string): void => this.#onInvalidation(username);

  #onInvalidation(username: string): void {
    for (const cache of this.#invalidations) cache.invalidate(username);
  }

  channel(username: string): string {
    return userChannel(this.#prefix, username);
  }

  get health(): ClusterHealth {
    return { redis: this.#live ? "subscribed" : "down", node: this.node };
  }

  /**
   * Connects both clients. Resolves within `START_WAIT_MS` even if Redis is down: node-redis keeps
   * trying in the background (its connect() would wait for Redis forever), and the relay starts
   * degraded, serving from PostgreSQL, until the subscriber reports ready.
   */
  async start(): Promise<void> {
    const connecting = Promise.all(
      [this.#commands, this.#subscriber].map((client) =>
        client.connect().catch((error: unknown) => this.#log.warn({ err: error }, "redis connect failed")),
      ),
    );
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([connecting, new Promise((done) => (waited = setTimeout(done, START_WAIT_MS)))]);
    clearTimeout(waited);
    if (!this.#subscriber.isReady)
      this.#log.warn("redis unavailable at start; serving from PostgreSQL until it answers");
    if (!this.#subscriber.isReady) this.#onLost("connect");
    const safety = setInterval(() => this.#hub.notifyAll(), this.#safetyPollMs);
    const health = setInterval(() => void this.#heartbeat(), this.#healthMs);
    safety.unref();
    health.unref();
    this.#timers.push(safety, health);
    void this.#heartbeat();
  }

  /** A send committed: wake the recipient's connections on every relay (best effort, after COMMIT). */
  announceMessage(recipient: string): void {
    this.#publish(recipient, { kind: "wake" });
  }

  /**
   * A connection of `username` authenticated here: older ones of that device, here and on every other
   * relay, are closed.
   */
  async claimDevice(username: string, target: PushTarget): Promise<void> {
    let generation: number;
    try {
      generation = Number(
        await this.#commands.eval(CLAIM_SCRIPT, { keys: [this.#generationKey(username)], arguments: [] }),
      );
    } catch {
      // Redis down: the local rule holds now; this relay's clock stands in for Redis's, and the other
      // relays hear of this login when Redis is back (#reassert after the resubscription).
      generation = Date.now() * 1000;
    }
    if ((this.#newestRemote.get(username) ?? 0) > generation) {
      this.#metrics.sessionsReplaced.inc();
      target.close(CLOSE.REPLACED, CLOSE_REASONS.sessionReplaced);
      return;
    }
    this.#generations.set(target, { username, generation });
    this.#closeOlder(username, generation, target);
    this.#publish(username, { kind: "login", generation, node: this.node });
  }

  #generationKey(username: string): string {
    return `${this.#prefix}:generation:${username}`;
  }

  /**
   * Checks the generation of each connection here (of `username`, of everyone when null) against the
   * newest recorded for its user: older ones are closed, the others recorded and announced again, so a
   * relay that missed the announcement of a newer or an older login learns of it now.
   */
  async #reassert(username: string | null): Promise<void> {
    for (const [target, held] of [...this.#generations]) {
      if (this.#closed || !this.#commands.isReady) return;
      if (username !== null && held.username !== username) continue;
      let newest: number;
      try {
        newest = Number(
          await this.#commands.eval(RAISE_SCRIPT, {
            keys: [this.#generationKey(held.username)],
            arguments: [String(held.generation)],
          }),
        );
      } catch {
        return;
      }
      if (this.#generations.get(target) !== held) continue;
      if (newest > held.generation) {
        this.#generations.delete(target);
        this.#metrics.sessionsReplaced.inc();
        target.close(CLOSE.REPLACED, CLOSE_REASONS.sessionReplaced);
      } else {
        this.#publish(held.username, { kind: "login", generation: held.generation, node: this.node });
      }
    }
  }

  /**
   * Tokens of `username` were deleted here (revoked, or all of them with an identity update): every
   * relay checks its sessions of that user against the store and ends those whose token is gone.
   */
  announceSessionsEnded(username: string, reason: SessionsEnded): void {
    this.#publish(username, { kind: "sessions", reason });
  }

  /**
   * Ends the sessions here (of `username`, of everyone when null) whose token is no longer in the store.
   * One lookup at a time: after a resubscription this walks every connection of the relay, and the
   * database serves sends meanwhile. A lookup that fails keeps its session (the next check decides).
   */
  async #checkSessions(username: string | null, reason: SessionsEnded): Promise<void> {
    const alive = this.tokenAlive;
    if (alive === null) return;
    for (const { target, tokenId } of this.#hub.sessionsOf(username)) {
      if (this.#closed) return;
      const kept = await alive(tokenId).catch(() => true);
      if (!kept) target.close(CLOSE.UNAUTHENTICATED, reason);
    }
  }

  #closeOlder(username: string, generation: number, keep: PushTarget | null): void {
    for (const [target, held] of [...this.#generations]) {
      if (target === keep || held.username !== username) continue;
      // Local connections are replaced by any newer local login whatever their generations (a login
      // while Redis was down took this relay's clock); remote logins replace only older generations.
      if (keep !== null || held.generation < generation) {
        this.#generations.delete(target);
        this.#metrics.sessionsReplaced.inc();
        target.close(CLOSE.REPLACED, CLOSE_REASONS.sessionReplaced);
      }
    }
  }

  #publish(username: string, signal: Signal): void {
    if (this.#closed || !this.#commands.isReady) return;
    this.#commands.sPublish(this.channel(username), encodeSignal(signal)).then(
      () => this.#metrics.clusterSignals.inc({ direction: "sent" }),
      () => {},
    );
  }

  #presenceChanged(username: string, present: boolean): void {
    if (this.#closed) return;
    if (present) {
      if (this.#subscribed.has(username)) return;
      this.#subscribed.add(username);
      if (this.#subscriber.isReady) this.#subscribe(username);
    } else {
      for (const [target, held] of this.#generations)
        if (held.username === username) this.#generations.delete(target);
      this.#newestRemote.delete(username);
      if (!this.#subscribed.delete(username)) return;
      this.#listeners.delete(username);
      if (this.#subscriber.isReady) this.#subscriber.sUnsubscribe(this.channel(username)).catch(() => {});
    }
  }

  #subscribe(username: string): void {
    let listener = this.#listeners.get(username);
    if (listener === undefined) {
      listener = (message: string) => this.#onSignal(username, message);
      this.#listeners.set(username, listener);
    }
    // Whatever was published on the channel before the subscription took effect was missed: a wake-up
    // (so the user's connections re-read), a newer login elsewhere (so their generations are checked),
    // or a revoked token (so their tokens are looked up: the token was deleted before it was announced).
    this.#subscriber.sSubscribe(this.channel(username), listener).then(
      () => {
        this.#hub.notify(username);
        void this.#reassert(username);
        void this.#checkSessions(username, CLOSE_REASONS.tokenRevoked);
      },
      () => {},
    );
  }

  #onSignal(username: string, message: string): void {
    this.#metrics.clusterSignals.inc({ direction: "received" });
    const signal = decodeSignal(message);
    if (signal === null) return;
    if (signal.kind === "wake") this.#hub.notify(username);
    else if (signal.kind === "sessions") void this.#checkSessions(username, signal.reason);
    else if (signal.node !== this.node) {
      if (signal.generation > (this.#newestRemote.get(username) ?? 0))
        this.#newestRemote.set(username, signal.generation);
      this.#closeOlder(username, signal.generation, null);
    }
  }

  #onSubscribed(): void {
    if (this.#closed) return;
    // Users who connected while the subscriber was down were not subscribed: do it now.
    for (const username of this.#subscribed) this.#subscribe(username);
    this.#subscriber.subscribe(invalidationChannel(this.#prefix), this.#invalidationListener).catch(() => {});
    this.#live = true;
    for (const cache of this.#invalidations) cache.setLive(true);
    this.#metrics.redisUp.set(1);
    clearInterval(this.#degradedTimer);
    this.#degradedTimer = undefined;
    this.#log.info("redis subscription live; re-reading every mailbox and checking every session");
    this.#hub.notifyAll();
    // Which tokens went while the subscription was down is not known: "revoked" covers both reasons
    // (an identity update deletes every token of the account).
    void this.#checkSessions(null, CLOSE_REASONS.tokenRevoked);
  }

  #onLost(reason: string): void {
    if (this.#closed) return;
    if (this.#live) this.#log.warn({ reason }, "redis subscription lost; polling until it is back");
    this.#live = false;
    for (const cache of this.#invalidations) cache.setLive(false);
    this.#metrics.redisUp.set(0);
    if (this.#degradedTimer === undefined) {
      this.#degradedTimer = setInterval(() => this.#hub.notifyAll(), DEGRADED_POLL_MS);
      this.#degradedTimer.unref();
    }
  }

  /**
   * Token uses shared for the idle timeout (auth.ts): one key per token, kept for the timeout after the
   * last use any relay noted. The key names the token by a prefix of its id (a hash of the token, as
   * in the database), never the token.
   */
  tokenUses(): TokenUseLedger {
    const key = (tokenId: string) => `${this.#prefix}:token-use:${tokenId.slice(0, 32)}`;
    return {
      record: (tokenId, idleMs) => {
        if (this.#closed || !this.#commands.isReady) return;
        this.#commands.set(key(tokenId), "1", { PX: idleMs }).catch(() => {});
      },
      usedRecently: async (tokenId) => {
        if (this.#closed || !this.#commands.isReady) return null;
        try {
          return (await this.#commands.exists(key(tokenId))) === 1;
        } catch {
          return null;
        }
      },
    };
  }

  /** Refreshes this relay's presence record now (at start, once it knows its URL). */
  beat(): Promise<void> {
    return this.#heartbeat();
  }

  async #heartbeat(): Promise<void> {
    if (this.#closed || !this.#commands.isReady) return;
    const presence = this.presence?.();
    if (presence === undefined) return;
    const record: RelayPresence = { node: this.node, ...presence, at: Date.now() };
    try {
      await this.#commands.hSet(`${this.#prefix}:relays`, this.node, JSON.stringify(record));
    } catch {
      // The next beat retries.
    }
  }

  /** Every relay's last presence record (stale ones included: the caller shows their age). */
  async relays(): Promise<RelayPresence[]> {
    const all = await this.#commands.hGetAll(`${this.#prefix}:relays`);
    return Object.values(all).map((text) => JSON.parse(text) as RelayPresence);
  }

  get commands(): RedisClient {
    return this.#commands;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearInterval(this.#degradedTimer);
    this.#hub.onPresence = null;
    if (this.#commands.isReady)
      await this.#commands.hDel(`${this.#prefix}:relays`, this.node).catch(() => {});
    for (const client of [this.#subscriber, this.#commands]) {
      try {
        client.destroy();
      } catch {
        // Already closed.
      }
    }
  }
}
