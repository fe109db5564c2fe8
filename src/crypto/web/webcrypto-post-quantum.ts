import { NanoError } from "../../errors/index.ts";
import { checkLength } from "../_checks.ts";
import { ALG, type SeedKeyPair } from "../algorithms.ts";
import { MAX_SIGNATURE_CONTEXT, ML_DSA_65_LENGTHS, ML_KEM_768_LENGTHS } from "../parameters.ts";
import type { AsyncKem, AsyncSignatureScheme } from "../provider/types.ts";
import { bytesOf, fromBase64Url, type ModernSubtle, type WebKey } from "./subtle.ts";

/**
 * ML-KEM-768 and ML-DSA-65 over WebCrypto's modern algorithms: private keys import from their seeds
 * (`raw-seed`, the project's stored form), public keys as `raw-public`; the import of an
 * encapsulation key runs FIPS 203's modulus check.
 */
async function publicFromSeed(
  subtle: ModernSubtle,
  name: "ML-KEM-768" | "ML-DSA-65",
  seed: Uint8Array,
): Promise<Uint8Array> {
  const privateUsage = name === "ML-KEM-768" ? "decapsulateBits" : "sign";
  const publicUsage = name === "ML-KEM-768" ? "encapsulateBits" : "verify";
  if (subtle.getPublicKey !== undefined) {
    const key = await subtle.importKey("raw-seed", seed, { name }, false, [privateUsage]);
    return bytesOf(await subtle.exportKey("raw-public", await subtle.getPublicKey(key, [publicUsage])));
  }
  const key = await subtle.importKey("raw-seed", seed, { name }, true, [privateUsage]);
  const { pub } = await subtle.exportKey("jwk", key);
  if (pub === undefined) throw new TypeError(`${name} JWK export without "pub"`);
  return fromBase64Url(pub);
}

export function webMlKem768(subtle: ModernSubtle, randomBytes: (length: number) => Uint8Array): AsyncKem {
  const L = ML_KEM_768_LENGTHS;
  const algorithm = { name: "ML-KEM-768" } as const;
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    checkLength("ML-KEM-768 seed", seed, L.seed);
    return publicFromSeed(subtle, "ML-KEM-768", seed);
  };
  return Object.freeze({
    alg: ALG.mlKem768,
    name: "ML-KEM-768",
    lengths: L,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(L.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    async encapsulate(key: Uint8Array) {
      checkLength("ML-KEM-768 public key", key, L.publicKey);
      let imported: WebKey;
      try {
        imported = await subtle.importKey("raw-public", key, algorithm, false, ["encapsulateBits"]);
      } catch (cause) {
        throw new NanoError("invalid_public_key", "ML-KEM-768 public key rejected by its validity check", {
          cause,
        });
      }
      const { sharedKey, ciphertext } = await subtle.encapsulateBits!(algorithm, imported);
      return { sharedSecret: bytesOf(sharedKey), ciphertext: bytesOf(ciphertext) };
    },
    /** Implicit rejection: a wrong ciphertext of the right size yields a pseudorandom secret, no error. */
    async decapsulate(seed: Uint8Array, ciphertext: Uint8Array) {
      checkLength("ML-KEM-768 seed", seed, L.seed);
      checkLength("ML-KEM-768 ciphertext", ciphertext, L.ciphertext);
      const key = await subtle.importKey("raw-seed", seed, algorithm, false, ["decapsulateBits"]);
      return bytesOf(await subtle.decapsulateBits!(algorithm, key, ciphertext));
    },
  });
}

export function webMlDsa65(
  subtle: ModernSubtle,
  randomBytes: (length: number) => Uint8Array,
): AsyncSignatureScheme {
  const L = ML_DSA_65_LENGTHS;
  const publicKey = async (seed: Uint8Array): Promise<Uint8Array> => {
    checkLength("ML-DSA-65 seed", seed, L.seed);
    return publicFromSeed(subtle, "ML-DSA-65", seed);
  };
  return Object.freeze({
    alg: ALG.mlDsa65,
    name: "ML-DSA-65",
    lengths: L,
    publicKey,
    async keygen(seed?: Uint8Array): Promise<SeedKeyPair> {
      const privateKey = seed === undefined ? randomBytes(L.seed) : seed.slice();
      return { seed: privateKey, publicKey: await publicKey(privateKey) };
    },
    /** FIPS 204 pure mode with the context string; WebCrypto signs hedged, like node. */
    async sign(seed: Uint8Array, message: Uint8Array, context: Uint8Array) {
      checkLength("ML-DSA-65 seed", seed, L.seed);
      if (context.length > MAX_SIGNATURE_CONTEXT) {
        throw new RangeError(`ML-DSA context longer than ${MAX_SIGNATURE_CONTEXT} bytes`);
      }
      const key = await subtle.importKey("raw-seed", seed, { name: "ML-DSA-65" }, false, ["sign"]);
      return bytesOf(await subtle.sign({ name: "ML-DSA-65", context }, key, message));
    },
    async verify(key: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array) {
      checkLength("ML-DSA-65 public key", key, L.publicKey);
      if (signature.length !== L.signature || context.length > MAX_SIGNATURE_CONTEXT) return false;
      try {
        const imported = await subtle.importKey("raw-public", key, { name: "ML-DSA-65" }, false, ["verify"]);
        return await subtle.verify({ name: "ML-DSA-65", context }, imported, signature, message);
      } catch {
        return false;
      }
    },
  });
}
