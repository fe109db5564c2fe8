import { aeadSeal, aeadTryOpen } from "./aead.ts";
import type { SeedKeyPair } from "./algorithms.ts";
import { ed25519, ed25519SignRaw, ed25519VerifyRaw } from "./ed25519.ts";
import { blake2b, blake2bIncremental, sha3_256, sha256, sha512, shake256 } from "./hash.ts";
import { hkdf } from "./kdf.ts";
import { mlDsa65 } from "./ml-dsa.ts";
import { mlKem768 } from "./ml-kem.ts";
import { argon2id } from "./password.ts";
import { type CryptoProvider, createProvider } from "./provider/provider.ts";
import { type CryptoPrimitives, PRIMITIVE_NAMES, type PrimitiveName } from "./provider/types.ts";
import { randomBytes } from "./random.ts";
import { x25519 } from "./x25519.ts";

/**
 * The Node provider: today's synchronous src/crypto (node:crypto, OpenSSL 3.5) behind the provider
 * interface. The async members are `async` functions so a thrown error arrives as a rejection, the
 * way WebCrypto's do: callers see one behaviour in both runtimes. What this costs per message is
 * measured in docs/web.md "Sync or async" (`npm run bench -- provider`).
 */
const implementations = Object.freeze(
  Object.fromEntries(PRIMITIVE_NAMES.map((name) => [name, "node:crypto"])) as Record<
    PrimitiveName,
    "node:crypto"
  >,
);

export const nodePrimitives: CryptoPrimitives = Object.freeze({
  name: "node",
  implementations,
  randomBytes,
  blake2b,
  blake2bIncremental,
  sha512,
  sha256,
  sha3_256,
  shake256,
  hkdf,
  aead: Object.freeze({
    seal: async (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array) =>
      aeadSeal(key, nonce, plaintext, ad),
    open: async (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array) =>
      aeadTryOpen(key, nonce, sealed, ad),
  }),
  x25519: Object.freeze({
    alg: x25519.alg,
    name: x25519.name,
    lengths: x25519.lengths,
    keygen: async (seed?: Uint8Array): Promise<SeedKeyPair> => x25519.keygen(seed),
    publicKey: async (seed: Uint8Array) => x25519.publicKey(seed),
    agree: async (seed: Uint8Array, peer: Uint8Array) => x25519.agree(seed, peer),
    generateAndAgree: async (peer: Uint8Array) => x25519.generateAndAgree!(peer),
  }),
  ed25519: Object.freeze({
    alg: ed25519.alg,
    name: ed25519.name,
    lengths: ed25519.lengths,
    keygen: async (seed?: Uint8Array): Promise<SeedKeyPair> => ed25519.keygen(seed),
    publicKey: async (seed: Uint8Array) => ed25519.publicKey(seed),
    sign: async (seed: Uint8Array, message: Uint8Array) => ed25519SignRaw(seed, message),
    verify: async (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
      ed25519VerifyRaw(publicKey, message, signature),
  }),
  mlKem768: Object.freeze({
    alg: mlKem768.alg,
    name: mlKem768.name,
    lengths: mlKem768.lengths,
    keygen: async (seed?: Uint8Array): Promise<SeedKeyPair> => mlKem768.keygen(seed),
    publicKey: async (seed: Uint8Array) => mlKem768.publicKey(seed),
    encapsulate: async (publicKey: Uint8Array) => mlKem768.encapsulate(publicKey),
    decapsulate: async (seed: Uint8Array, ciphertext: Uint8Array) => mlKem768.decapsulate(seed, ciphertext),
  }),
  mlDsa65: Object.freeze({
    alg: mlDsa65.alg,
    name: mlDsa65.name,
    lengths: mlDsa65.lengths,
    keygen: async (seed?: Uint8Array): Promise<SeedKeyPair> => mlDsa65.keygen(seed),
    publicKey: async (seed: Uint8Array) => mlDsa65.publicKey(seed),
    sign: async (seed: Uint8Array, message: Uint8Array, context: Uint8Array) =>
      mlDsa65.sign(seed, message, context),
    verify: async (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context: Uint8Array) =>
      mlDsa65.verify(publicKey, message, signature, context),
  }),
  argon2id,
});

/** The provider every Node process uses: stateless, so one frozen instance serves every client. */
export const nodeProvider: CryptoProvider = createProvider(nodePrimitives);
