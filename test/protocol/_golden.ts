import { fromHex, type SuiteId, toHex } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeIdentityRecordExact, type IdentityKeys } from "../../src/protocol/identity-record.ts";
import { decodeSignedPrekeyExact } from "../../src/protocol/prekey.ts";
import { MemoryStores } from "../../src/protocol/stores.ts";

/**
 * Golden transcript files (test/golden/<suite>.json, docs/protocol.md §13): written by
 * scripts/gen-golden.ts, replayed by test/protocol/golden.test.ts. node:crypto cannot derandomize
 * ML-KEM encapsulation or ML-DSA signing, so a transcript is checked by PROCESSING it with the fixed
 * keys: every plaintext and every resulting session record must match byte for byte.
 */
export interface GoldenParty {
  readonly username: string;
  readonly keys: { suite: number; signature: string; agreement: string | null; kem: string }[];
  readonly record: string;
  readonly prekeys: { prekey: string; seed: string | null }[];
}

export interface GoldenStep {
  readonly from: "alice" | "bob";
  readonly envelope: string;
  readonly plaintext: string;
  /** The receiver's contact-sessions record right after processing this envelope. */
  readonly receiverSessions: string;
}

export interface GoldenTranscript {
  readonly description: string;
  readonly suite: SuiteId;
  readonly now: number;
  readonly alice: GoldenParty;
  readonly bob: GoldenParty;
  readonly bundle: string;
  /** Each party's contact-sessions record before the step at the same index is processed. */
  readonly steps: (GoldenStep & { readonly receiverBefore: string | null })[];
}

export function exportParty(keys: IdentityKeys, stores: MemoryStores, recordHex: string): GoldenParty {
  return {
    username: keys.username,
    keys: keys.suites.map((s) => ({
      suite: s.suite.id,
      signature: toHex(s.signature.seed),
      agreement: s.agreement ? toHex(s.agreement.seed) : null,
      kem: toHex(s.kem.seed),
    })),
    record: recordHex,
    prekeys: [...stores.prekeyMap.values()].map((h) => ({
      prekey: toHex(h.prekey.encoded),
      seed: h.seed ? toHex(h.seed) : null,
    })),
  };
}

export async function importParty(party: GoldenParty): Promise<MemoryStores> {
  const keys: IdentityKeys = {
    username: party.username,
    suites: await Promise.all(
      party.keys.map(async (k) => {
        const suite = provider.suite(k.suite);
        return {
          suite,
          signature: await suite.signature.keygen(fromHex(k.signature)),
          agreement:
            k.agreement && suite.agreement ? await suite.agreement.keygen(fromHex(k.agreement)) : null,
          kem: await suite.kem.keygen(fromHex(k.kem)),
        };
      }),
    ),
  };
  const stores = new MemoryStores(keys, await decodeIdentityRecordExact(provider, fromHex(party.record)));
  for (const p of party.prekeys) {
    const prekey = decodeSignedPrekeyExact(provider, fromHex(p.prekey));
    stores.prekeyMap.set(`${prekey.suite.id}:${prekey.id}`, {
      prekey,
      seed: p.seed ? fromHex(p.seed) : null,
    });
  }
  return stores;
}
