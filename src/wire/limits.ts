/**
 * Every bound of the relay API that both sides must agree on (docs/api.md), defined once: the relay
 * refuses what is outside them, the client never sends it and refuses answers outside them. Limits
 * the relay's operator configures (envelope size, prekeys per upload, WebSocket windows) are not
 * here: they live in the relay's config (src/relay/config/schema.ts).
 */

/**
 * The protocol's largest envelope (docs/protocol.md §9.2, `MAX_ENVELOPE_BYTES` in
 * src/protocol/envelope.ts). Repeated here because src/wire must load without node:crypto (the
 * browser); test/wire/wire-contract.test.ts fails if the two ever differ.
 */
export const PROTOCOL_MAX_ENVELOPE_BYTES = 65_536;

/** Length of standard padded base64 for `bytes` bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The base64 length of the largest envelope the protocol allows. */
export const MAX_ENVELOPE_BASE64 = base64Length(PROTOCOL_MAX_ENVELOPE_BYTES);

/** Ids per acknowledgement: one `ack` frame or one `POST /v1/messages/ack`. */
export const MAX_ACK_IDS = 1000;

/** `GET /v1/messages?limit=`: default and maximum page (the relay may answer fewer, never more). */
export const MESSAGE_PAGE = Object.freeze({ default: 100, max: 500 });

/** Client message ids are opaque to the relay but bounded: it stores them for the message's TTL. */
export const CLIENT_MESSAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const CLIENT_MESSAGE_ID_MAX = 64;

/**
 * A username as the relay holds it (normalized: NFKC, lowercase): a letter, then letters and digits
 * with single `.`, `_` or `-` between them, 3-32 characters. Input may be up to USERNAME_INPUT_MAX
 * before normalization (the relay normalizes, then checks this shape).
 */
export const USERNAME = Object.freeze({
  pattern: /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/,
  min: 3,
  max: 32,
});
export const USERNAME_INPUT_MAX = 128;

/** True for a username in the relay's normalized shape. */
export function isUsername(name: string): boolean {
  return name.length >= USERNAME.min && name.length <= USERNAME.max && USERNAME.pattern.test(name);
}

/** The relay's bearer token: 32 random bytes in unpadded base64url. */
export const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The only frame accepted before authentication is an auth frame: a token and a little JSON. */
export const MAX_AUTH_FRAME_CHARS = 1024;

/** Base64 lengths of the binary fields of requests (docs/api.md). */
export const BASE64_MAX = Object.freeze({
  /** Identity records carry every suite's keys (ML-DSA, ML-KEM, X-Wing...) and signatures: ~16 KiB. */
  identityRecord: 65_536,
  /** Every suite's signature of a record, concatenated. */
  signature: 16_384,
  /** Challenges are 16-64 bytes (docs/protocol.md §4.3-§4.4); this bounds the base64. */
  challenge: 64,
  deviceCertificate: 32_768,
  bundle: 65_536,
  oneTimePrekey: 16_384,
});

/**
 * Hashes in one RFC 9162 inclusion or consistency proof: 64 covers any log this relay could hold
 * (about 2 per level of a tree of 2^32 leaves); more is hostile.
 */
export const MAX_PROOF_HASHES = 64;

/** A signed-note checkpoint (text, two signatures: Ed25519 and ML-DSA-65) is a few KiB; bounded well above. */
export const MAX_CHECKPOINT_CHARS = 131_072;

/** An attachment's address: the lowercase hex BLAKE2b-512 of its encrypted blob (docs/api.md). */
export const ATTACHMENT_HASH = /^[0-9a-f]{128}$/;

/** Recipients named by one attachment upload (`?recipients=a,b`). */
export const MAX_ATTACHMENT_RECIPIENTS = 100;

/** Suite ids are u16 on the wire (docs/protocol.md §5). */
export const SUITE_ID_MAX = 65_535;
