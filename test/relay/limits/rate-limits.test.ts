// The relay's limiters (src/relay/rate-limits.ts): one factory builds them all, hard limits refuse with
// a Retry-After, soft ones say no without refusing, failure-counting ones check without spending.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RelayMetrics } from "../../../src/relay/metrics.ts";
import {
  type LimiterFactory,
  type LimitName,
  limiterSpecs,
  memoryLimiterFactory,
  RateLimitedError,
  RelayRateLimits,
} from "../../../src/relay/rate-limits.ts";
import { testConfig } from "../fixtures/harness.ts";

function limits(rate: Record<string, number> = {}, factory?: LimiterFactory) {
  const config = testConfig({ limits: { rate } });
  const metrics = new RelayMetrics();
  return { limits: new RelayRateLimits(config, metrics, factory), metrics, config };
}

describe("RelayRateLimits", () => {
  it("builds every limiter through the one factory, once per limit name", () => {
    const built: string[] = [];
    const factory: LimiterFactory = (name, spec) => {
      built.push(name);
      return memoryLimiterFactory(name, spec);
    };
    const { config } = limits({}, factory);
    limits({}, factory);
    const names = Object.keys(limiterSpecs(config)) as LimitName[];
    assert.deepEqual(built.slice(0, names.length).sort(), [...names].sort());
  });

  it("consume refuses with RateLimitedError carrying the limit and a Retry-After of at least 1 s", async () => {
    const { limits: l, metrics } = limits({ prekey_uploads_per_hour: 2 });
    await l.consume("prekey_upload", "dave");
    await l.consume("prekey_upload", "dave");
    await assert.rejects(
      l.consume("prekey_upload", "dave"),
      (error: unknown) =>
        error instanceof RateLimitedError &&
        error.limit === "prekey_upload" &&
        error.retryAfterSeconds >= 1 &&
        error.retryAfterSeconds <= 3600,
    );
    // Keys are independent.
    await l.consume("prekey_upload", "erin");
    const text = await metrics.registry.metrics();
    assert.match(text, /nano_rate_limit_hits_total\{limit="prekey_upload"\} 1/);
  });

  it("tryConsume says no without throwing; refund gives the point back", async () => {
    const { limits: l } = limits({ one_time_prekeys_per_pair_per_hour: 1 });
    assert.equal(await l.tryConsume("pair_one_time", "bob|dave"), true);
    assert.equal(await l.tryConsume("pair_one_time", "bob|dave"), false);
    assert.equal(await l.tryConsume("pair_one_time", "carol|dave"), true);
    await l.refund("pair_one_time", "carol|dave");
    assert.equal(await l.tryConsume("pair_one_time", "carol|dave"), true);
  });

  it("check refuses only once penalties used up the allowance, and spends nothing itself", async () => {
    const { limits: l } = limits({ failed_auth_per_hour: 3 });
    for (let i = 0; i < 10; i++) await l.check("failed_auth", "192.0.2.1");
    for (let i = 0; i < 3; i++) {
      await l.check("failed_auth", "192.0.2.1");
      await l.penalize("failed_auth", "192.0.2.1");
    }
    await assert.rejects(l.check("failed_auth", "192.0.2.1"), RateLimitedError);
    // Penalties past the limit never throw; another address is untouched.
    await l.penalize("failed_auth", "192.0.2.1");
    await l.check("failed_auth", "192.0.2.2");
  });
});
