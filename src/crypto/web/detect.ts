import { utf8 } from "../bytes.ts";
import type {
  AsyncAead,
  AsyncKem,
  AsyncKeyAgreement,
  AsyncSignatureScheme,
  RawSignatureScheme,
} from "../provider/types.ts";
import type { SupportsCheck } from "./subtle.ts";

/** The primitives WebCrypto may serve; everything else always comes from @noble. */
export type WebCryptoCandidate = "x25519" | "ed25519" | "ml-kem-768" | "ml-dsa-65" | "chacha20-poly1305";

export interface WebCryptoCandidates {
  readonly x25519: AsyncKeyAgreement;
  readonly ed25519: RawSignatureScheme;
  readonly mlKem768: AsyncKem;
  readonly mlDsa65: AsyncSignatureScheme;
  readonly aead: AsyncAead;
}

/** The `SubtleCrypto.supports` questions for each candidate: every operation the provider calls. */
const SUPPORT_QUESTIONS: Readonly<Record<WebCryptoCandidate, readonly [string, string][]>> = Object.freeze({
  x25519: [["importKey", "X25519"]],
  ed25519: [
    ["importKey", "Ed25519"],
    ["sign", "Ed25519"],
  ],
  "ml-kem-768": [
    ["importKey", "ML-KEM-768"],
    ["encapsulateBits", "ML-KEM-768"],
    ["decapsulateBits", "ML-KEM-768"],
  ],
  "ml-dsa-65": [
    ["importKey", "ML-DSA-65"],
    ["sign", "ML-DSA-65"],
  ],
  "chacha20-poly1305": [["importKey", "ChaCha20-Poly1305"]],
});

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

/**
 * One trial per candidate, with the operations the provider will call: a platform that names an
 * algorithm but lacks an operation, a key format or the context parameter fails its trial and the
 * candidate falls back to @noble. Trials check consistency (both sides of an agreement, a round
 * trip, a refused forgery); correctness is the known-answer tests' job (test/crypto-provider).
 */
const TRIALS: Readonly<Record<WebCryptoCandidate, (c: WebCryptoCandidates) => Promise<boolean>>> =
  Object.freeze({
    async x25519({ x25519 }) {
      const [a, b] = await Promise.all([x25519.keygen(), x25519.keygen()]);
      return equal(await x25519.agree(a.seed, b.publicKey), await x25519.agree(b.seed, a.publicKey));
    },
    async ed25519({ ed25519 }) {
      const pair = await ed25519.keygen();
      const message = utf8("nano feature trial");
      const signature = await ed25519.sign(pair.seed, message);
      return (
        (await ed25519.verify(pair.publicKey, message, signature)) &&
        !(await ed25519.verify(pair.publicKey, message.subarray(1), signature))
      );
    },
    async "ml-kem-768"({ mlKem768 }) {
      const pair = await mlKem768.keygen();
      const { sharedSecret, ciphertext } = await mlKem768.encapsulate(pair.publicKey);
      return equal(await mlKem768.decapsulate(pair.seed, ciphertext), sharedSecret);
    },
    async "ml-dsa-65"({ mlDsa65 }) {
      const pair = await mlDsa65.keygen();
      const message = utf8("nano feature trial");
      const signature = await mlDsa65.sign(pair.seed, message, utf8("a"));
      // A platform that ignored the context would accept the signature under another one.
      return (
        (await mlDsa65.verify(pair.publicKey, message, signature, utf8("a"))) &&
        !(await mlDsa65.verify(pair.publicKey, message, signature, utf8("b")))
      );
    },
    async "chacha20-poly1305"({ aead }) {
      const key = new Uint8Array(32).fill(7);
      const nonce = new Uint8Array(12).fill(9);
      const sealed = await aead.seal(key, nonce, utf8("trial"), utf8("ad"));
      const opened = await aead.open(key, nonce, sealed, utf8("ad"));
      return (
        opened !== null &&
        equal(opened, utf8("trial")) &&
        (await aead.open(key, nonce, sealed, utf8("AD"))) === null
      );
    },
  });

export const WEBCRYPTO_CANDIDATES: readonly WebCryptoCandidate[] = Object.freeze(
  Object.keys(SUPPORT_QUESTIONS) as WebCryptoCandidate[],
);

/**
 * Which candidates this platform's WebCrypto really serves: `SubtleCrypto.supports` first where it
 * exists (cheap, and the standard way to ask), then the trial. Never by browser name.
 */
export async function detectWebCrypto(
  candidates: WebCryptoCandidates,
  supports: SupportsCheck | null,
): Promise<Readonly<Record<WebCryptoCandidate, boolean>>> {
  const entries = await Promise.all(
    WEBCRYPTO_CANDIDATES.map(async (name): Promise<[WebCryptoCandidate, boolean]> => {
      if (supports !== null) {
        try {
          if (!SUPPORT_QUESTIONS[name].every(([operation, algorithm]) => supports(operation, algorithm))) {
            return [name, false];
          }
        } catch {
          return [name, false];
        }
      }
      try {
        return [name, await TRIALS[name](candidates)];
      } catch {
        return [name, false];
      }
    }),
  );
  return Object.freeze(Object.fromEntries(entries) as Record<WebCryptoCandidate, boolean>);
}
