import { concatBytes, u8, u16, u64 } from "../../crypto/bytes.ts";
import { decodeTaggedKey, encodeTaggedKey } from "../../crypto/key-encoding.ts";
import type { CryptoProvider } from "../../crypto/provider/index.ts";
import { SUITE_IDS, type SuiteId, type SuiteName, suiteIdByName, suiteRank } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * The identity secrets `init` generates until the protocol's identity record replaces them: for every
 * accepted suite its identity key seeds (signature, agreement when the suite has one, KEM), plus a
 * device signing key in the preferred suite's signature scheme (DESIGN.md: the relay authenticates the
 * device key, never the identity key, so a malicious relay cannot use the identity key as an oracle).
 * Only seeds are stored; public keys are re-derived. The seeds name their suites by wire id only:
 * the schemes (generation, the seeds' algorithms and lengths) come from the runtime's provider, so the
 * page decodes and generates with the same code as Node, to the same bytes.
 *
 *   version (u8, = 1) || preferred suite (u16) || created ms (u64) || count (u8)
 *   || count × [suite (u16) || tagged signature seed || [tagged agreement seed] || tagged KEM seed]
 *   || tagged device seed
 */
export const IDENTITY_SEEDS_VERSION = 1;

export interface SuiteSeeds {
  readonly suite: SuiteId;
  readonly signature: Uint8Array;
  readonly agreement: Uint8Array | null;
  readonly kem: Uint8Array;
}

export interface IdentitySeeds {
  readonly preferred: SuiteId;
  readonly createdAt: number;
  /** Preferred first, then the higher-ranked suites it accepts. */
  readonly suites: readonly SuiteSeeds[];
  readonly device: Uint8Array;
}

/**
 * Mode M accepts M and every suite ranked above it (hybrid > quantum > classical): the floor that
 * protects the user. Classical is accepted only when chosen explicitly.
 */
export function suitesAcceptedByMode(mode: SuiteName): readonly SuiteId[] {
  const preferred = suiteIdByName(mode);
  const above = Object.values(SUITE_IDS)
    .filter((id) => suiteRank(id) > suiteRank(preferred))
    .sort((a, b) => suiteRank(b) - suiteRank(a));
  return [preferred, ...above];
}

/** Fresh seeds from the provider's schemes (its CSPRNG). */
export async function generateIdentitySeeds(
  provider: CryptoProvider,
  mode: SuiteName,
  now: number = Date.now(),
): Promise<IdentitySeeds> {
  const suites = await Promise.all(
    suitesAcceptedByMode(mode).map(async (id): Promise<SuiteSeeds> => {
      const suite = provider.suite(id);
      const [signature, agreement, kem] = await Promise.all([
        suite.signature.keygen(),
        suite.agreement === null ? null : suite.agreement.keygen(),
        suite.kem.keygen(),
      ]);
      return { suite: id, signature: signature.seed, agreement: agreement?.seed ?? null, kem: kem.seed };
    }),
  );
  const preferred = suiteIdByName(mode);
  const device = await provider.suite(preferred).signature.keygen();
  return { preferred, createdAt: now, suites, device: device.seed };
}

export function encodeIdentitySeeds(provider: CryptoProvider, seeds: IdentitySeeds): Uint8Array {
  const parts = [
    u8(IDENTITY_SEEDS_VERSION),
    u16(seeds.preferred),
    u64(BigInt(seeds.createdAt)),
    u8(seeds.suites.length),
  ];
  for (const entry of seeds.suites) {
    const suite = provider.suite(entry.suite);
    parts.push(u16(suite.id), encodeTaggedKey(suite.signature.alg, entry.signature));
    if (suite.agreement) {
      if (entry.agreement === null) throw new TypeError(`suite ${suite.name} needs an agreement seed`);
      parts.push(encodeTaggedKey(suite.agreement.alg, entry.agreement));
    }
    parts.push(encodeTaggedKey(suite.kem.alg, entry.kem));
  }
  parts.push(encodeTaggedKey(provider.suite(seeds.preferred).signature.alg, seeds.device));
  return concatBytes(...parts);
}

export function decodeIdentitySeeds(provider: CryptoProvider, bytes: Uint8Array): IdentitySeeds {
  if (bytes.length < 12) throw new NanoError("truncated", "identity seeds are truncated");
  if (bytes[0] !== IDENTITY_SEEDS_VERSION) {
    throw new NanoError("keystore_version_unsupported", `identity seeds version ${bytes[0]} is unknown`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const preferred = provider.suite(view.getUint16(1));
  const createdAt = Number(view.getBigUint64(3));
  const count = bytes[11]!;
  let cursor = 12;
  const suites: SuiteSeeds[] = [];
  for (let i = 0; i < count; i += 1) {
    if (cursor + 2 > bytes.length) throw new NanoError("truncated", "identity seeds are truncated");
    const suite = provider.suite(view.getUint16(cursor));
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
    suites.push({ suite: suite.id, signature, agreement, kem });
  }
  const [device, d] = decodeTaggedKey(
    bytes,
    cursor,
    preferred.signature.alg,
    preferred.signature.lengths.seed,
  );
  cursor += d;
  if (cursor !== bytes.length) throw new NanoError("trailing_bytes", "bytes after the identity seeds");
  return { preferred: preferred.id, createdAt, suites, device };
}
