/**
 * The encodings an Ed25519 verification accepts, one rule for every runtime. RFC 8032 leaves room: the
 * three verifiers nano runs disagree on crafted inputs (measured, test/crypto-provider/_ed25519-edges.ts):
 * OpenSSL (node:crypto) refuses small-order R and A; BoringSSL (Chromium's WebCrypto) accepts a
 * small-order or non-canonically encoded A and the identity as R, so the all-identity signature verifies
 * for every message under the identity key; @noble checks the cofactored equation. A signature a
 * malicious signer (a relay signing a checkpoint, a peer signing its identity) crafts must not be valid
 * in the page and invalid in Node or for a monitor, so before any verifier runs:
 * - A and R are canonical encodings (y < p),
 * - neither is one of the eight points of small order (any sign bit),
 * - S < L.
 * Byte comparisons, no curve arithmetic: with these, OpenSSL and BoringSSL agree, and the @noble
 * fallback adds the cofactorless equation (src/crypto/web/noble-curves.ts).
 */
import { ED25519_LENGTHS } from "./parameters.ts";

const POINT = ED25519_LENGTHS.publicKey;

/** y-coordinates (little-endian, sign bit clear) of the points of order 1, 2, 4 and 8. */
const SMALL_ORDER_Y: readonly bigint[] = Object.freeze([
  0n, // order 4: (±sqrt(-1), 0)
  1n, // order 1: the identity (0, 1)
  2n ** 255n - 20n, // order 2: (0, -1)
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n, // order 8
  0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n, // order 8
]);
const FIELD_P = 2n ** 255n - 19n;
/** The order of the base point. */
const GROUP_L = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndianBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(POINT);
  let rest = value;
  for (let i = 0; i < POINT; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Byte comparisons, no BigInt per call: the rule runs before every signature check. */
const SMALL_ORDER = SMALL_ORDER_Y.map(littleEndianBytes);
const P_BYTES = littleEndianBytes(FIELD_P);
const L_BYTES = littleEndianBytes(GROUP_L);

/** a < b for 32-byte little-endian numbers; `topMask` clears the sign bit of a's last byte. */
function below(a: Uint8Array, b: Uint8Array, topMask = 0xff): boolean {
  for (let i = POINT - 1; i >= 0; i--) {
    const byte = i === POINT - 1 ? a[i]! & topMask : a[i]!;
    if (byte !== b[i]!) return byte < b[i]!;
  }
  return false;
}

function sameY(encoded: Uint8Array, y: Uint8Array): boolean {
  for (let i = 0; i < POINT - 1; i++) if (encoded[i] !== y[i]) return false;
  return (encoded[POINT - 1]! & 0x7f) === y[POINT - 1];
}

/** Canonical (y < p) and not of small order. */
function acceptablePoint(encoded: Uint8Array): boolean {
  return below(encoded, P_BYTES, 0x7f) && !SMALL_ORDER.some((y) => sameY(encoded, y));
}

/**
 * True when the public key and the signature's R and S pass the shared rule above; false means the
 * signature is invalid whatever the verifier would say. Lengths are the caller's to check first.
 */
export function ed25519EncodingsAcceptable(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== POINT || signature.length !== ED25519_LENGTHS.signature) return false;
  return (
    acceptablePoint(publicKey) &&
    acceptablePoint(signature.subarray(0, POINT)) &&
    below(signature.subarray(POINT), L_BYTES)
  );
}
