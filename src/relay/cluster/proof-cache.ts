/**
 * L1 (in-process LRU) and L2 (Redis) caches of key-transparency inclusion proofs in front of
 * PostgreSQL, for a cluster (docs/cluster.md "Caches"). Every bundle fetch proves the target's newest
 * binding, and a proof costs O(log n) node reads. A proof is keyed by leaf index AND tree size: the
 * entry at an index and PATH(index, D[size]) never change in an append-only log once committed (the
 * relay reads both through the pool, so only committed rows), so no write ever has to invalidate one.
 * A newer binding or checkpoint is a new key. What can change around it (which index is a user's
 * newest binding, whether its username salt was erased) is still read from PostgreSQL on every fetch.
 */
import type { RedisClient } from "./redis-clients.ts";

const L1_ENTRIES = 10_000;
/** Immutable, so the TTL only bounds Redis memory for sizes no relay serves any more. */
const L2_TTL_SECONDS = 600;

export interface InclusionProof {
  readonly leaf: Uint8Array;
  readonly path: readonly Uint8Array[];
}

/** The L2 key of the proof of leaf `index` at tree size `size`. */
export function proofCacheKey(prefix: string, index: number, size: number): string {
  return `${prefix}:cache:kt-proof:${index}:${size}`;
}

function serialize(proof: InclusionProof): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  return JSON.stringify({ l: b64(proof.leaf), p: proof.path.map(b64) });
}

function deserialize(text: string): InclusionProof | null {
  try {
    const value = JSON.parse(text) as { l?: unknown; p?: unknown };
    if (typeof value.l !== "string" || !Array.isArray(value.p)) return null;
    const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));
    const path: Uint8Array[] = [];
    for (const node of value.p) {
      if (typeof node !== "string") return null;
      path.push(bytes(node));
    }
    return { leaf: bytes(value.l), path };
  } catch {
    return null;
  }
}

export interface ProofCacheCounters {
  l1Hits: number;
  l2Hits: number;
  misses: number;
}

export class InclusionProofCache {
  readonly #l1 = new Map<string, InclusionProof>();
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly counters: ProofCacheCounters = { l1Hits: 0, l2Hits: 0, misses: 0 };

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #remember(key: string, proof: InclusionProof): void {
    this.#l1.delete(key);
    if (this.#l1.size >= L1_ENTRIES) this.#l1.delete(this.#l1.keys().next().value!);
    this.#l1.set(key, proof);
  }

  /** The proof of `index` at `size`, from L1, L2 or `compute` (PostgreSQL), filling the levels above. */
  async get(index: number, size: number, compute: () => Promise<InclusionProof>): Promise<InclusionProof> {
    const key = proofCacheKey(this.#prefix, index, size);
    const cached = this.#l1.get(key);
    if (cached !== undefined) {
      this.counters.l1Hits++;
      this.#remember(key, cached);
      return cached;
    }
    const redis = this.#redis;
    if (redis.isReady) {
      const text = await redis.get(key).catch(() => null);
      const proof = text === null ? null : deserialize(text);
      if (proof !== null) {
        this.counters.l2Hits++;
        this.#remember(key, proof);
        return proof;
      }
    }
    this.counters.misses++;
    const proof = await compute();
    this.#remember(key, proof);
    if (redis.isReady)
      await redis.set(key, serialize(proof), { EX: L2_TTL_SECONDS, NX: true }).catch(() => {});
    return proof;
  }
}
