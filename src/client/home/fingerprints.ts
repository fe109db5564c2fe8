import { concatBytes, toHex } from "../../crypto/bytes.ts";
import type { CryptoProvider } from "../../crypto/provider/index.ts";
import { encodeSuitePublicKeys } from "../../crypto/suite-keys.ts";
import type { IdentitySeeds } from "./identity-seeds.ts";

/**
 * The identity and device fingerprints `init` and `status` show, from the seeds alone (no store, no
 * keystore): a module of its own so that status, which the page runs too, does not import the Node
 * home's unlocking. The public keys come from the runtime's provider (async), so the page shows the
 * same fingerprints as the CLI.
 */
/** Groups of four hex digits, for people comparing fingerprints aloud. */
function grouped(bytes: Uint8Array): string {
  return (toHex(bytes).match(/.{4}/g) ?? []).join(" ");
}

/**
 * A fingerprint of the identity public keys (BLAKE2b-512 over every accepted suite's encoded public
 * keys, first 16 bytes). For display and debugging only: the protocol's safety number replaces it.
 */
export async function identityFingerprint(provider: CryptoProvider, seeds: IdentitySeeds): Promise<string> {
  const encoded = await Promise.all(
    seeds.suites.map(async (entry) => {
      const suite = provider.suite(entry.suite);
      const [signature, agreement, kem] = await Promise.all([
        suite.signature.publicKey(entry.signature),
        suite.agreement && entry.agreement ? suite.agreement.publicKey(entry.agreement) : null,
        suite.kem.publicKey(entry.kem),
      ]);
      return encodeSuitePublicKeys({ suite, signature, agreement, kem });
    }),
  );
  return grouped(provider.primitives.blake2b(concatBytes(...encoded)).subarray(0, 16));
}

export async function deviceFingerprint(provider: CryptoProvider, seeds: IdentitySeeds): Promise<string> {
  const devicePublicKey = await provider.suite(seeds.preferred).signature.publicKey(seeds.device);
  return grouped(provider.primitives.blake2b(devicePublicKey).subarray(0, 16));
}
