import {
  concatBytes,
  decodeTaggedKey,
  encodeTaggedKey,
  generateSuiteKeys,
  getSuite,
  getSuiteByName,
  type SeedKeyPair,
  SUITES,
  type Suite,
  type SuiteName,
  u8,
  u16,
  u64,
} from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * The identity secrets `init` generates until the protocol's identity record replaces them: for every
 * accepted suite its identity key seeds (signature, agreement when the suite has one, KEM), plus a
 * device signing key in the preferred suite's signature scheme (DESIGN.md: the relay authenticates the
 * device key, never the identity key, so a malicious relay cannot use the identity key as an oracle).
 * Only seeds are stored; public keys are re-derived.
 *
 *   version (u8, = 1) || preferred suite (u16) || created ms (u64) || count (u8)
 *   || count × [suite (u16) || tagged signature seed || [tagged agreement seed] || tagged KEM seed]
 *   || tagged device seed
 */
export const IDENTITY_SEEDS_VERSION = 1;

export interface SuiteSeeds {
  readonly suite: Suite;
  readonly signature: Uint8Array;
  readonly agreement: Uint8Array | null;
  readonly kem: Uint8Array;
}

export interface IdentitySeeds {
  readonly preferred: Suite;
  readonly createdAt: number;
  /** Preferred first, then the higher-ranked suites it accepts. */
  readonly suites: readonly SuiteSeeds[];
  readonly device: Uint8Array;
}

/**
 * Mode M accepts M and every suite ranked above it (hybrid > quantum > classical): the floor that
 * protects the user. Classical is accepted only when chosen explicitly.
 */
export function suitesAcceptedByMode(mode: SuiteName): readonly Suite[] {
  const preferred = getSuiteByName(mode);
  const above = SUITES.filter((suite) => suite.rank > preferred.rank).sort((a, b) => b.rank - a.rank);
  return [preferred, ...above];
}

function seedsOf(pair: SeedKeyPair | null): Uint8Array | null {
  return pair === null ? null : pair.seed;
}

export function generateIdentitySeeds(mode: SuiteName, now: number = Date.now()): IdentitySeeds {
  const suites = suitesAcceptedByMode(mode).map((suite) => {
    const keys = generateSuiteKeys(suite);
    return { suite, signature: keys.signature.seed, agreement: seedsOf(keys.agreement), kem: keys.kem.seed };
  });
  const preferred = getSuiteByName(mode);
  return { preferred, createdAt: now, suites, device: preferred.signature.keygen().seed };
}

export function encodeIdentitySeeds(seeds: IdentitySeeds): Uint8Array {
  const parts = [
    u8(IDENTITY_SEEDS_VERSION),
    u16(seeds.preferred.id),
    u64(BigInt(seeds.createdAt)),
    u8(seeds.suites.length),
  ];
  for (const entry of seeds.suites) {
    const { suite } = entry;
    parts.push(u16(suite.id), encodeTaggedKey(suite.signature.alg, entry.signature));
    if (suite.agreement) {
      if (entry.agreement === null) throw new TypeError(`suite ${suite.name} needs an agreement seed`);
      parts.push(encodeTaggedKey(suite.agreement.alg, entry.agreement));
    }
    parts.push(encodeTaggedKey(suite.kem.alg, entry.kem));
  }
  parts.push(encodeTaggedKey(seeds.preferred.signature.alg, seeds.device));
  return concatBytes(...parts);
}

export function decodeIdentitySeeds(bytes: Uint8Array): IdentitySeeds {
  if (bytes.length < 12) throw new NanoError("truncated", "identity seeds are truncated");
  if (bytes[0] !== IDENTITY_SEEDS_VERSION) {
    throw new NanoError("keystore_version_unsupported", `identity seeds version ${bytes[0]} is unknown`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const preferred = getSuite(view.getUint16(1));
  const createdAt = Number(view.getBigUint64(3));
  const count = bytes[11]!;
  let cursor = 12;
  const suites: SuiteSeeds[] = [];
  for (let i = 0; i < count; i += 1) {
    if (cursor + 2 > bytes.length) throw new NanoError("truncated", "identity seeds are truncated");
    const suite = getSuite(view.getUint16(cursor));
    cursor += 2;
    const [signature, a] = decodeTaggedKey(bytes, cursor, suite.signature.alg, suite.signature.lengths.seed);
    cursor += a;
    let agreement: Uint8Array | null = null;
    if (suite.agreement) {
      const [seed, b] = decodeTaggedKey(bytes, cursor, suite.agreement.alg, suite.agreement.lengths.seed);
      agreement = seed;
      cursor += b;
    }
    const [kem, c] = decodeTaggedKey(bytes, cursor, suite.kem.alg, suite.kem.lengths.seed);
    cursor += c;
    suites.push({ suite, signature, agreement, kem });
  }
  const [device, d] = decodeTaggedKey(
    bytes,
    cursor,
    preferred.signature.alg,
    preferred.signature.lengths.seed,
  );
  cursor += d;
  if (cursor !== bytes.length) throw new NanoError("trailing_bytes", "bytes after the identity seeds");
  return { preferred, createdAt, suites, device };
}
