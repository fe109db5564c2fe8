import { type CryptoProvider, createProvider } from "../provider/provider.ts";
import type { CryptoPrimitives, Implementation, PrimitiveName } from "../provider/types.ts";
import { detectWebCrypto, type WebCryptoCandidate } from "./detect.ts";
import { nobleAead } from "./noble-aead.ts";
import { nobleArgon2id } from "./noble-argon2id.ts";
import { nobleEd25519, nobleX25519 } from "./noble-curves.ts";
import { nobleHashes } from "./noble-hashes.ts";
import { nobleMlDsa65, nobleMlKem768 } from "./noble-post-quantum.ts";
import { webRandomBytes } from "./random.ts";
import { platformWebCrypto, type WebCryptoHandle } from "./subtle.ts";
import { webAead } from "./webcrypto-aead.ts";
import { webEd25519, webX25519 } from "./webcrypto-curves.ts";
import { webMlDsa65, webMlKem768 } from "./webcrypto-post-quantum.ts";

export interface WebProviderOptions {
  /**
   * "detect" (the default): WebCrypto for every algorithm feature detection finds, @noble for the
   * rest. "noble": @noble for everything (platforms without the modern WebCrypto algorithms, and the
   * second provider the tests and the browser benchmark compare against).
   */
  readonly use?: "detect" | "noble";
  /** The WebCrypto to use; the platform's by default. */
  readonly webCrypto?: WebCryptoHandle;
}

/**
 * The browser's provider: WebCrypto where the platform has the algorithm, @noble where it does not
 * (BLAKE2b, SHA-3/SHAKE, HKDF-BLAKE2b and argon2id always; docs/web.md lists what Chromium offers).
 * No `node:` import and no Buffer anywhere below, so it runs in a page, a worker, or Node 24.
 */
export async function createWebProvider(options: WebProviderOptions = {}): Promise<CryptoProvider> {
  const webCrypto = options.webCrypto ?? platformWebCrypto();
  if (webCrypto === null) {
    throw new TypeError("no WebCrypto here: the page must be served over https or from localhost");
  }
  const randomBytes = webRandomBytes(webCrypto);
  const noble = {
    x25519: nobleX25519(randomBytes),
    ed25519: nobleEd25519(randomBytes),
    mlKem768: nobleMlKem768(randomBytes),
    mlDsa65: nobleMlDsa65(randomBytes),
    aead: nobleAead,
  };
  const web = {
    x25519: webX25519(webCrypto.subtle, randomBytes),
    ed25519: webEd25519(webCrypto.subtle, randomBytes),
    mlKem768: webMlKem768(webCrypto.subtle, randomBytes),
    mlDsa65: webMlDsa65(webCrypto.subtle, randomBytes),
    aead: webAead(webCrypto.subtle),
  };
  const use = options.use ?? "detect";
  const found: Readonly<Record<WebCryptoCandidate, boolean>> =
    use === "noble"
      ? { x25519: false, ed25519: false, "ml-kem-768": false, "ml-dsa-65": false, "chacha20-poly1305": false }
      : await detectWebCrypto(web, webCrypto.supports);
  const pick = <T>(name: WebCryptoCandidate, fromWeb: T, fromNoble: T): T =>
    found[name] ? fromWeb : fromNoble;
  const source = (name: WebCryptoCandidate): Implementation => (found[name] ? "webcrypto" : "noble");
  const implementations: Record<PrimitiveName, Implementation> = {
    random: "webcrypto",
    blake2b: "noble",
    sha512: "noble",
    sha256: "noble",
    "sha3-256": "noble",
    shake256: "noble",
    "hkdf-blake2b": "noble",
    "chacha20-poly1305": source("chacha20-poly1305"),
    x25519: source("x25519"),
    ed25519: source("ed25519"),
    "ml-kem-768": source("ml-kem-768"),
    "ml-dsa-65": source("ml-dsa-65"),
    argon2id: "noble",
  };
  const primitives: CryptoPrimitives = Object.freeze({
    name: use === "noble" ? "web/noble" : "web/detected",
    implementations: Object.freeze(implementations),
    randomBytes,
    ...nobleHashes,
    aead: pick("chacha20-poly1305", web.aead, noble.aead),
    x25519: pick("x25519", web.x25519, noble.x25519),
    ed25519: pick("ed25519", web.ed25519, noble.ed25519),
    mlKem768: pick("ml-kem-768", web.mlKem768, noble.mlKem768),
    mlDsa65: pick("ml-dsa-65", web.mlDsa65, noble.mlDsa65),
    argon2id: nobleArgon2id,
  });
  return createProvider(primitives);
}
