import type { RelayRateLimits } from "../rate-limits.ts";

/** A one-time prekey allowance: granted or not, and how to give it back if no key was handed out. */
export interface OneTimeAllowance {
  readonly granted: boolean;
  /** Returns the points when the target had no one-time key left to hand out after all. */
  release(): Promise<void>;
}

const NONE: OneTimeAllowance = { granted: false, release: async () => {} };

/**
 * Whether this bundle fetch may consume one of the target's one-time prekeys (issue 12, finding 6:
 * one account took all 225 of another's keys in 1.7 s, and a per-target refusal then locked innocent
 * requesters out of first contact). Two soft limits, never a refusal:
 * - per (requester, target) pair: a few keys per hour (`one_time_prekeys_per_pair_per_hour`), so a
 *   requester cannot take more than that of one target's stock however fast it asks;
 * - per target: `bundle_fetches_per_target_per_minute` one-time keys in total, so many requesters
 *   together (sybils) drain the stock no faster than that while the owner is told to refill.
 * Over either, the fetch is still answered with the bundle and its signed last-resort key: first
 * contact goes on (PQXDH without a one-time key; the relay cannot tell a retry from a drain). The
 * requester's own rate (`bundle_fetches_per_minute`) is the one hard limit, checked before this.
 */
export async function oneTimeAllowance(
  limits: RelayRateLimits,
  requester: string,
  target: string,
): Promise<OneTimeAllowance> {
  const pair = `${requester}\u0000${target}`;
  if (!(await limits.tryConsume("pair_one_time", pair))) return NONE;
  if (!(await limits.tryConsume("bundle_target", target))) {
    await limits.refund("pair_one_time", pair);
    return NONE;
  }
  return {
    granted: true,
    release: async () => {
      await limits.refund("pair_one_time", pair);
      await limits.refund("bundle_target", target);
    },
  };
}
