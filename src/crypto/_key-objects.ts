import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  type KeyPairKeyObjectResult,
} from "node:crypto";
import { NanoError } from "../errors/index.ts";
import { checkLength } from "./_checks.ts";
import type { SeedKeyPair } from "./algorithms.ts";
import { copyBytes } from "./bytes.ts";

export { checkLength };

/** node:crypto's names for the native algorithms. */
export type NativeKeyType = "x25519" | "ed25519" | "ml-kem-768" | "ml-dsa-65";

/**
 * X25519 and Ed25519 private keys import as `raw-private`; ML-KEM and ML-DSA as `raw-seed`
 * (64-byte d||z and 32-byte xi): the seed is the stored form of every private key.
 */
const PRIVATE_FORMAT: Record<NativeKeyType, "raw-private" | "raw-seed"> = {
  x25519: "raw-private",
  ed25519: "raw-private",
  "ml-kem-768": "raw-seed",
  "ml-dsa-65": "raw-seed",
};

export function privateKeyFromSeed(type: NativeKeyType, seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(seed), format: PRIVATE_FORMAT[type], asymmetricKeyType: type });
}

/**
 * Imported public keys, most recently used last. An import costs 25-130 us (OpenSSL's decoder), and
 * the same public key is imported again and again: the peer's ratchet key at its step and at our next
 * one, the peer's KEM offer at its trial encapsulation and at our answer, identity keys at every
 * verification. Only public keys are cached, never a private key or seed. The cache key is the
 * algorithm and the COMPLETE raw key (a string comparison of every byte), so a hit is by construction
 * the object for exactly these bytes; keys that fail their validity check are never stored. Bounded:
 * beyond PUBLIC_KEY_CACHE_SIZE entries the least recently used goes.
 */
export const PUBLIC_KEY_CACHE_SIZE = 128;
const publicKeyCache = new Map<string, KeyObject>();

function cacheId(type: NativeKeyType, raw: Uint8Array): string {
  return `${type}:${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1")}`;
}

/** Imports a raw public key; a key that the algorithm's own check rejects is `invalid_public_key`. */
export function publicKeyFromRaw(type: NativeKeyType, raw: Uint8Array): KeyObject {
  const id = cacheId(type, raw);
  const cached = publicKeyCache.get(id);
  if (cached !== undefined) {
    publicKeyCache.delete(id);
    publicKeyCache.set(id, cached);
    return cached;
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(raw), format: "raw-public", asymmetricKeyType: type });
  } catch (cause) {
    throw new NanoError("invalid_public_key", `${type} public key rejected by its validity check`, { cause });
  }
  publicKeyCache.set(id, key);
  if (publicKeyCache.size > PUBLIC_KEY_CACHE_SIZE) {
    publicKeyCache.delete(publicKeyCache.keys().next().value as string);
  }
  return key;
}

/** For tests: the number of cached public keys, and emptying the cache. */
export function publicKeyCacheSize(): number {
  return publicKeyCache.size;
}

export function clearPublicKeyCache(): void {
  publicKeyCache.clear();
}

/** The raw public key of a public key object, or of the public half of a private one. */
export function exportRawPublic(key: KeyObject): Uint8Array {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return copyBytes(publicKey.export({ format: "raw-public" }));
}

export function exportSeed(type: NativeKeyType, key: KeyObject): Uint8Array {
  return copyBytes(key.export({ format: PRIVATE_FORMAT[type] }));
}

/**
 * keygen and publicKey for a native algorithm, whose private key is stored as its seed: fresh keys come
 * from node:crypto's generator, a given seed is copied and expanded.
 */
export function nativeKeyGeneration(
  type: NativeKeyType,
  seedName: string,
  seedLength: number,
): { keygen(seed?: Uint8Array): SeedKeyPair; publicKey(seed: Uint8Array): Uint8Array } {
  const publicKey = (seed: Uint8Array): Uint8Array => {
    checkLength(seedName, seed, seedLength);
    return exportRawPublic(privateKeyFromSeed(type, seed));
  };
  const keygen = (seed?: Uint8Array): SeedKeyPair => {
    if (seed === undefined) {
      // Every native type takes no options and returns KeyObjects; @types/node only has per-type overloads.
      const pair = (generateKeyPairSync as (type: NativeKeyType) => KeyPairKeyObjectResult)(type);
      return { seed: exportSeed(type, pair.privateKey), publicKey: exportRawPublic(pair.publicKey) };
    }
    return { seed: copyBytes(seed), publicKey: publicKey(seed) };
  };
  return { keygen, publicKey };
}
