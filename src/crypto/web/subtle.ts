/**
 * The part of SubtleCrypto the browser provider uses, typed here: the "Modern Algorithms in the Web
 * Cryptography API" additions (ML-KEM, ML-DSA, ChaCha20-Poly1305, `raw-seed`/`raw-public`/`raw-secret`
 * formats, encapsulateBits, getPublicKey, SubtleCrypto.supports) are in neither TypeScript's DOM
 * library nor @types/node yet. The same interface fits Chromium's and Node's implementations.
 */

/** A WebCrypto key handle; opaque to us. */
export interface WebKey {
  readonly type: string;
}

export interface WebKeyPair {
  readonly publicKey: WebKey;
  readonly privateKey: WebKey;
}

export type KeyFormat = "raw" | "pkcs8" | "jwk" | "raw-public" | "raw-seed" | "raw-secret";

export interface AlgorithmParameters {
  readonly name: string;
  readonly [parameter: string]: unknown;
}

export interface JsonWebKeyFields {
  readonly x?: string;
  readonly pub?: string;
}

export interface ModernSubtle {
  importKey(
    format: KeyFormat,
    keyData: Uint8Array,
    algorithm: AlgorithmParameters,
    extractable: boolean,
    usages: readonly string[],
  ): Promise<WebKey>;
  exportKey(format: "jwk", key: WebKey): Promise<JsonWebKeyFields>;
  exportKey(format: Exclude<KeyFormat, "jwk">, key: WebKey): Promise<ArrayBuffer>;
  getPublicKey?(key: WebKey, usages: readonly string[]): Promise<WebKey>;
  sign(algorithm: AlgorithmParameters, key: WebKey, data: Uint8Array): Promise<ArrayBuffer>;
  verify(
    algorithm: AlgorithmParameters,
    key: WebKey,
    signature: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean>;
  deriveBits(algorithm: AlgorithmParameters, baseKey: WebKey, length: number): Promise<ArrayBuffer>;
  encrypt(algorithm: AlgorithmParameters, key: WebKey, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(algorithm: AlgorithmParameters, key: WebKey, data: Uint8Array): Promise<ArrayBuffer>;
  encapsulateBits?(
    algorithm: AlgorithmParameters,
    encapsulationKey: WebKey,
  ): Promise<{ sharedKey: ArrayBuffer; ciphertext: ArrayBuffer }>;
  decapsulateBits?(
    algorithm: AlgorithmParameters,
    decapsulationKey: WebKey,
    ciphertext: Uint8Array,
  ): Promise<ArrayBuffer>;
}

/** `SubtleCrypto.supports(operation, algorithm)`, where the platform has it. */
export type SupportsCheck = (operation: string, algorithm: string | AlgorithmParameters) => boolean;

export interface WebCryptoHandle {
  readonly subtle: ModernSubtle;
  readonly supports: SupportsCheck | null;
  getRandomValues(array: Uint8Array): Uint8Array;
}

/** The platform's WebCrypto (`globalThis.crypto`), or null where there is none (an insecure context). */
export function platformWebCrypto(): WebCryptoHandle | null {
  const platform = (globalThis as { crypto?: { subtle?: unknown; getRandomValues?: unknown } }).crypto;
  if (platform?.subtle === undefined || typeof platform.getRandomValues !== "function") return null;
  const subtle = platform.subtle as ModernSubtle;
  const subtleClass = (globalThis as { SubtleCrypto?: { supports?: unknown } }).SubtleCrypto;
  const supports =
    typeof subtleClass?.supports === "function"
      ? (subtleClass.supports as SupportsCheck).bind(subtleClass)
      : null;
  const getRandomValues = platform.getRandomValues as (array: Uint8Array) => Uint8Array;
  return { subtle, supports, getRandomValues: (array) => getRandomValues.call(platform, array) };
}

export function bytesOf(buffer: ArrayBuffer): Uint8Array {
  return new Uint8Array(buffer);
}

/** base64url (RFC 4648 section 5) without padding, as JWK fields are written. */
export function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
