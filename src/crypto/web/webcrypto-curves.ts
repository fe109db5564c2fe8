import { NanoError } from "../../errors/index.ts";
import { checkLength } from "../_checks.ts";
import { ALG, type SeedKeyPair } from "../algorithms.ts";
import { isAllZero } from "../all-zero.ts";
import { concatBytes } from "../bytes.ts";
import { ed25519EncodingsAcceptable } from "../ed25519-encodings.ts";
import { ED25519_LENGTHS, X25519_LENGTHS } from "../parameters.ts";
import type { AsyncKeyAgreement, RawSignatureScheme } from "../provider/types.ts";
import { bytesOf, fromBase64Url, type ModernSubtle, type WebKey } from "./subtle.ts";

/**
 * X25519 and pure Ed25519 over WebCrypto. WebCrypto imports these private keys only as PKCS#8 or JWK,
 * so the 32-byte private key (our stored form) is wrapped in the fixed RFC 8410 PKCS#8 prefix:
 * SEQUENCE { version 0, AlgorithmIdentifier { OID }, OCTET STRING { OCTET STRING (32) } }.
 */
const PKCS8_X25519 = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
);
const PKCS8_ED25519 = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
);

/**
 * The raw public key of a private key: `getPublicKey` where the platform has it (the key then stays
 * non-extractable), else the JWK export's `x`.
 */
async function rawPublicOf(
  subtle: ModernSubtle,
  name: "X25519" | "Ed25519",
  prefix: Uint8Array,
  seed: Uint8Array,
): Promise<Uint8Array> {
  const pkcs8 = concatBytes(prefix, seed);
  try {
    if (subtle.getPublicKey !== undefined) {
      const privateKey = await subtle.importKey(
        "pkcs8",
        pkcs8,
        { name },
        false,
        name === "X25519" ? ["deriveBits"] : ["sign"],
      );
      return bytesOf(
        await subtle.exportKey(
          "raw",
          await subtle.getPublicKey(privateKey, name === "X25519" ? [] : ["verify"]),
        ),
      );
    }
    const privateKey = await subtle.importKey(
      "pkcs8",
      pkcs8,
      { name },
      true,
      name === "X25519" ? ["deriveBits"] : ["sign"],
    );
    const { x } = await subtle.exportKey("jwk", privateKey);
    if (x === undefined) throw new TypeError(`${name} JWK export without "x"`);
    return fromBase64Url(x);
  } finally {
    pkcs8.fill(0);
  }
}

export function webX25519(
  subtle: ModernSubtle,
  randomBytes: (length: number) => Uint8Array,
): AsyncKeyAgreement {
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    checkLength("X25519 private key", seed, X25519_LENGTHS.seed);
    return rawPublicOf(subtle, "X25519", PKCS8_X25519, seed);
  };
  return Object.freeze({
    alg: ALG.x25519,
    name: "X25519",
    lengths: X25519_LENGTHS,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(X25519_LENGTHS.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    /** Every 32-byte public key is taken (RFC 7748 reduces it); the all-zero result is `low_order_point`. */
    async agree(seed: Uint8Array, peerPublicKey: Uint8Array): Promise<Uint8Array> {
      checkLength("X25519 private key", seed, X25519_LENGTHS.seed);
      checkLength("X25519 public key", peerPublicKey, X25519_LENGTHS.publicKey);
      const pkcs8 = concatBytes(PKCS8_X25519, seed);
      const [privateKey, peer] = await Promise.all([
        subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]),
        subtle.importKey("raw", peerPublicKey, { name: "X25519" }, false, []),
      ]).finally(() => pkcs8.fill(0));
      let shared: Uint8Array;
      try {
        shared = bytesOf(await subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256));
      } catch (cause) {
        // With both keys imported, WebCrypto's X25519 fails only on the all-zero output (the
        // specification's step "if the result is all zero, throw OperationError").
        throw new NanoError("low_order_point", "X25519 produced the all-zero shared secret", { cause });
      }
      if (isAllZero(shared))
        throw new NanoError("low_order_point", "X25519 produced the all-zero shared secret");
      return shared;
    },
  });
}

export function webEd25519(
  subtle: ModernSubtle,
  randomBytes: (length: number) => Uint8Array,
): RawSignatureScheme {
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    checkLength("Ed25519 private key", seed, ED25519_LENGTHS.seed);
    return rawPublicOf(subtle, "Ed25519", PKCS8_ED25519, seed);
  };
  return Object.freeze({
    alg: ALG.ed25519,
    name: "Ed25519",
    lengths: ED25519_LENGTHS,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(ED25519_LENGTHS.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    async sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
      checkLength("Ed25519 private key", seed, ED25519_LENGTHS.seed);
      const pkcs8 = concatBytes(PKCS8_ED25519, seed);
      const key = await subtle
        .importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"])
        .finally(() => pkcs8.fill(0));
      return bytesOf(await subtle.sign({ name: "Ed25519" }, key, message));
    },
    async verify(key: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
      checkLength("Ed25519 public key", key, ED25519_LENGTHS.publicKey);
      // BoringSSL accepts a small-order or non-canonical A and the identity as R (ed25519-encodings.ts).
      if (!ed25519EncodingsAcceptable(key, signature)) return false;
      let imported: WebKey;
      try {
        imported = await subtle.importKey("raw", key, { name: "Ed25519" }, false, ["verify"]);
        return await subtle.verify({ name: "Ed25519" }, imported, signature, message);
      } catch {
        return false;
      }
    },
  });
}
