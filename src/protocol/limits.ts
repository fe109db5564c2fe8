/**
 * Every protocol limit in one place (docs/protocol.md §10). Tests run at N and N+1 of each; callers may
 * only tighten them (a larger skip window is a memory-exhaustion lever for a hostile peer).
 */
export interface ProtocolLimits {
  /** Message keys one message may make us skip in a single chain (checked before deriving). */
  readonly maxSkipPerChain: number;
  /** Stored skipped message keys across all chains; the oldest are evicted beyond this. */
  readonly maxSkippedTotal: number;
  /** Distinct past receiving chains whose skipped keys are kept; the oldest chain is evicted. */
  readonly maxReceiverChains: number;
  /** Messages per sending chain: one header key encrypts at most 2^20 headers under random nonces. */
  readonly maxChainLength: number;
  /** Hybrid: offer a KEM key once this many messages passed since the last absorbed KEM secret... */
  readonly hybridKemMessages: number;
  /** ...or this much time, whichever comes first (a maximum interval; adaptation may only shorten it). */
  readonly hybridKemIntervalMs: number;
  /** Archived sessions per contact, and how long they are kept. */
  readonly maxArchivedSessions: number;
  readonly archiveRetentionMs: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  maxSkipPerChain: 1000,
  maxSkippedTotal: 2000,
  maxReceiverChains: 5,
  maxChainLength: 2 ** 20,
  hybridKemMessages: 50,
  hybridKemIntervalMs: 24 * 3600 * 1000,
  maxArchivedSessions: 5,
  archiveRetentionMs: 30 * 24 * 3600 * 1000,
});

/** Limits can only be tightened: a looser value than the default is refused. */
export function tightenLimits(overrides: Partial<ProtocolLimits>): ProtocolLimits {
  const merged = { ...DEFAULT_LIMITS, ...overrides };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ProtocolLimits)[]) {
    if (!(merged[key] >= 1) || merged[key] > DEFAULT_LIMITS[key]) {
      throw new RangeError(`limit ${key} may only be tightened (1..${DEFAULT_LIMITS[key]})`);
    }
  }
  return Object.freeze(merged);
}
