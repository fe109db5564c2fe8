import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the crypto core (src/crypto). */
export const CRYPTO_ERRORS = {
  // ---- encodings and parsing
  invalid_length: {
    kind: "codec",
    status: 400,
    meaning: "A key, ciphertext, signature, seed or field has the wrong number of bytes for its algorithm.",
    fix: "Send the exact encoding the algorithm defines; sizes are listed in docs/crypto.md.",
  },
  truncated: {
    kind: "codec",
    status: 400,
    meaning: "The input ended before the structure being decoded was complete.",
    fix: "The data was cut in transit or storage; fetch or re-send it whole.",
  },
  trailing_bytes: {
    kind: "codec",
    status: 400,
    meaning: "Bytes follow the end of a structure that must be the whole input.",
    fix: "Encodings are exact; strip nothing and append nothing.",
  },
  unknown_algorithm: {
    kind: "codec",
    status: 400,
    meaning: "An encoded key or signature carries an algorithm byte this version does not know.",
    fix: "Upgrade the peer or the relay, or re-encode the key with a supported algorithm.",
  },
  algorithm_mismatch: {
    kind: "validation",
    status: 400,
    meaning: "A key of one algorithm was given where another algorithm is required.",
    fix: "Keys are tagged so they can never stand in for each other; supply a key of the named algorithm.",
  },
  unknown_suite: {
    kind: "codec",
    status: 400,
    meaning: "The suite number is not one of classical (1), hybrid (2) or quantum (3).",
    fix: "Use a suite this version supports; see docs/crypto.md.",
  },
  // ---- cryptographic failures
  low_order_point: {
    kind: "crypto",
    status: 400,
    meaning: "An X25519 exchange produced the all-zero secret: the peer's public key is a low-order point.",
    fix: "The peer's key is malicious or corrupt; do not use it.",
  },
  invalid_public_key: {
    kind: "crypto",
    status: 400,
    meaning:
      "A public key failed its algorithm's validity check (for ML-KEM, the modulus check of FIPS 203).",
    fix: "The key is corrupt or malicious; fetch it again from a trusted source.",
  },
  decryption_failed: {
    kind: "crypto",
    status: 400,
    meaning:
      "Authenticated decryption failed: wrong key, or the ciphertext, nonce or associated data changed.",
    fix: "Do not retry with the same data; it was tampered with or is not meant for this key.",
  },
  // ---- key derivation parameters
  kdf_output_too_long: {
    kind: "usage",
    status: 500,
    meaning: "HKDF was asked for more than 255 hash lengths of output.",
    fix: "Request at most 16320 bytes from HKDF-BLAKE2b.",
  },
  kdf_parameters_out_of_range: {
    kind: "validation",
    status: 400,
    meaning:
      "Password-hashing (argon2id) parameters are below the safe minimum or above the cap read from a file.",
    fix: "Use the defaults from docs/crypto.md; a file asking for more is refused to stop memory exhaustion.",
  },
} as const satisfies Record<string, ErrorEntry>;
