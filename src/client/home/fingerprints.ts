import { blake2b, concatBytes, encodeSuitePublicKeys, toHex } from "../../crypto/index.ts";
import type { IdentitySeeds } from "./identity-seeds.ts";

/**
 * The identity and device fingerprints `init` and `status` show, from the seeds alone (no store, no
 * keystore): a module of its own so that status, which the page runs too, does not import the Node
 * home's unlocking. Still src/crypto's synchronous suites: the page's status needs them from its
 * provider (docs/web.md "Plan for the browser client", step 1's identity seeds).
 */
/** Groups of four hex digits, for people comparing fingerprints aloud. */
function grouped(bytes: Uint8Array): string {
  return (toHex(bytes).match(/.{4}/g) ?? []).join(" ");
}

/**
 * A fingerprint of the identity public keys (BLAKE2b-512 over every accepted suite's encoded public
 * keys, first 16 bytes). For display and debugging only: the protocol's safety number replaces it.
 */
export function identityFingerprint(seeds: IdentitySeeds): string {
  const encoded = seeds.suites.map((entry) =>
    encodeSuitePublicKeys({
      suite: entry.suite,
      signature: entry.suite.signature.publicKey(entry.signature),
      agreement:
        entry.suite.agreement && entry.agreement ? entry.suite.agreement.publicKey(entry.agreement) : null,
      kem: entry.suite.kem.publicKey(entry.kem),
    }),
  );
  return grouped(blake2b(concatBytes(...encoded)).subarray(0, 16));
}

export function deviceFingerprint(seeds: IdentitySeeds): string {
  return grouped(blake2b(seeds.preferred.signature.publicKey(seeds.device)).subarray(0, 16));
}
