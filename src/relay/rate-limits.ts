import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import { NanoError } from "../errors/index.ts";
import type { RelayConfig } from "./config/schema.ts";
import type { RelayMetrics } from "./metrics.ts";

export type LimitName = "claim" | "auth" | "bundle_requester" | "bundle_target" | "send";

/** Raised for a refused request; the HTTP boundary turns `retryAfterSeconds` into Retry-After. */
export class RateLimitedError extends NanoError {
  readonly retryAfterSeconds: number;
  constructor(limit: LimitName, retryAfterSeconds: number) {
    super("rate_limited", `too many requests (${limit}); retry in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Per-key limiters (rate-limiter-flexible, in memory on one relay; a Redis limiter drops in for a
 * cluster). Claims and logins are keyed by address so one client cannot spray usernames; bundle
 * fetches are limited per requester and per target, because draining someone's one-time prekeys is
 * an attack on them, not on the relay.
 */
export class RelayRateLimits {
  #limiters: Record<LimitName, RateLimiterAbstract>;
  readonly #metrics: RelayMetrics;

  constructor(config: RelayConfig, metrics: RelayMetrics) {
    const rate = config.limits.rate;
    this.#metrics = metrics;
    this.#limiters = {
      claim: new RateLimiterMemory({ points: rate.claims_per_hour, duration: 3600 }),
      auth: new RateLimiterMemory({ points: rate.auth_per_minute, duration: 60 }),
      bundle_requester: new RateLimiterMemory({ points: rate.bundle_fetches_per_minute, duration: 60 }),
      bundle_target: new RateLimiterMemory({
        points: rate.bundle_fetches_per_target_per_minute,
        duration: 60,
      }),
      send: new RateLimiterMemory({ points: rate.sends_per_minute, duration: 60 }),
    };
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
        throw new RateLimitedError(limit, Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
      }
      throw error;
    }
  }
}
