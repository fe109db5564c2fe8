import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import { NanoError } from "../errors/index.ts";
import type { RelayConfig } from "./config/schema.ts";
import type { RelayMetrics } from "./metrics.ts";

/**
 * Every limit the relay keeps per account, address or pair. One name per limit: metrics label them and
 * docs/relay.md "Limits and abuse" lists them.
 */
export type LimitName =
  | "claim"
  | "auth"
  | "bundle_requester"
  | "bundle_target"
  | "send"
  | "prekey_upload"
  | "pair_one_time"
  | "failed_auth"
  | "lookup"
  | "identity_update"
  | "websocket_connect";

/** `points` per `durationSeconds`, fixed window (rate-limiter-flexible's model). */
export interface LimiterSpec {
  readonly points: number;
  readonly durationSeconds: number;
}

/**
 * THE one place limiters are built. A single relay keeps them in memory; a cluster passes a factory
 * that builds rate-limiter-flexible's Redis limiter (with an in-memory insurance limiter) instead, and
 * every shared limit moves with it. `name` is unique per limit, for use as a key prefix.
 */
export type LimiterFactory = (name: string, spec: LimiterSpec) => RateLimiterAbstract;

export const memoryLimiterFactory: LimiterFactory = (name, spec) =>
  new RateLimiterMemory({ keyPrefix: name, points: spec.points, duration: spec.durationSeconds });

/**
 * A limiter of state that lives in this process only (one connection's read rate): always in memory,
 * never through the factory, because sharing it would put a network round trip on every frame for
 * state no other relay can see.
 */
export function localLimiter(spec: LimiterSpec): RateLimiterMemory {
  return new RateLimiterMemory({ points: spec.points, duration: spec.durationSeconds });
}

export function limiterSpecs(config: RelayConfig): Readonly<Record<LimitName, LimiterSpec>> {
  const rate = config.limits.rate;
  return {
    claim: { points: rate.claims_per_hour, durationSeconds: 3600 },
    auth: { points: rate.auth_per_minute, durationSeconds: 60 },
    bundle_requester: { points: rate.bundle_fetches_per_minute, durationSeconds: 60 },
    bundle_target: { points: rate.bundle_fetches_per_target_per_minute, durationSeconds: 60 },
    send: { points: rate.sends_per_minute, durationSeconds: 60 },
    prekey_upload: { points: rate.prekey_uploads_per_hour, durationSeconds: 3600 },
    pair_one_time: { points: rate.one_time_prekeys_per_pair_per_hour, durationSeconds: 3600 },
    failed_auth: { points: rate.failed_auth_per_hour, durationSeconds: 3600 },
    lookup: { points: rate.lookups_per_minute, durationSeconds: 60 },
    identity_update: { points: rate.identity_updates_per_hour, durationSeconds: 3600 },
    websocket_connect: { points: rate.websocket_connects_per_minute, durationSeconds: 60 },
  };
}

/** Raised for a refused request; the HTTP boundary turns `retryAfterSeconds` into Retry-After. */
export class RateLimitedError extends NanoError {
  readonly retryAfterSeconds: number;
  readonly limit: LimitName;
  constructor(limit: LimitName, retryAfterSeconds: number) {
    super("rate_limited", `too many requests (${limit}); retry in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
    this.limit = limit;
  }
}

const retryAfter = (msBeforeNext: number) => Math.max(1, Math.ceil(msBeforeNext / 1000));

/**
 * Per-key limiters. Claims and logins are keyed by address so one client cannot spray usernames;
 * bundle fetches per requester (hard: 429) and per target and per (requester, target) pair (soft: over
 * them a fetch is still served, without a one-time key), because draining someone's one-time prekeys
 * is an attack on them, and a per-target refusal would lock innocent requesters out of first contact.
 */
export class RelayRateLimits {
  #limiters: Record<LimitName, RateLimiterAbstract>;
  readonly #metrics: RelayMetrics;

  constructor(config: RelayConfig, metrics: RelayMetrics, factory: LimiterFactory = memoryLimiterFactory) {
    this.#metrics = metrics;
    const specs = limiterSpecs(config);
    const limiters = {} as Record<LimitName, RateLimiterAbstract>;
    for (const name of Object.keys(specs) as LimitName[]) limiters[name] = factory(name, specs[name]);
    this.#limiters = limiters;
  }

  /**
   * A cluster shares its limits through Redis (rate-limiter-flexible's Redis store, one key per limit
   * and client under `prefix`), so a client cannot multiply its allowance by spreading requests over
   * relays. The in-memory limiters stay as insurance: while Redis is down each relay enforces them on
   * its own (at most relays x points in all) instead of letting everything through.
   */
  share(redis: object, prefix: string): void {
    const shared = {} as Record<LimitName, RateLimiterAbstract>;
    for (const [name, insurance] of Object.entries(this.#limiters) as [LimitName, RateLimiterAbstract][])
      shared[name] = new RateLimiterRedis({
        storeClient: redis,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        keyPrefix: `${prefix}:rate:${name}`,
        points: insurance.points,
        duration: insurance.duration,
        insuranceLimiter: insurance,
      });
    this.#limiters = shared;
  }

  /** Spends `points` for `key` or throws RateLimitedError. */
  async consume(limit: LimitName, key: string, points = 1): Promise<void> {
    try {
      await this.#limiters[limit].consume(key, points);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.#metrics.rateLimitHits.inc({ limit });
        throw new RateLimitedError(limit, retryAfter(error.msBeforeNext));
      }
      throw error;
    }
  }

  /** Spends a point if one is left and says whether it did: for soft limits that degrade, not refuse. */
  async tryConsume(limit: LimitName, key: string): Promise<boolean> {
    try {
      await this.#limiters[limit].consume(key, 1);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.#metrics.rateLimitHits.inc({ limit });
        return false;
      }
      throw error;
    }
  }

  /** Gives back a point spent by tryConsume for something that then did not happen. */
  async refund(limit: LimitName, key: string): Promise<void> {
    await this.#limiters[limit].reward(key, 1);
  }

  /**
   * Throws RateLimitedError when `key` has no points left, without spending one: for limits that count
   * failures (charged by `penalize` after the fact) but must refuse before the work.
   */
  async check(limit: LimitName, key: string): Promise<void> {
    const limiter = this.#limiters[limit];
    const state = await limiter.get(key);
    if (state !== null && state.consumedPoints >= limiter.points) {
      this.#metrics.rateLimitHits.inc({ limit });
      throw new RateLimitedError(limit, retryAfter(state.msBeforeNext));
    }
  }

  /** Charges a failure to `key`; never throws for an exhausted limit (the next `check` refuses). */
  async penalize(limit: LimitName, key: string): Promise<void> {
    try {
      await this.#limiters[limit].penalty(key, 1);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
    }
  }
}
