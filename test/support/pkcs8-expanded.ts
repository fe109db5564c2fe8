/**
 * Expanded ML-KEM / ML-DSA private keys at the node:crypto level, for the Wycheproof vectors that carry
 * no seed. The project stores private keys as seeds (DESIGN.md), so src/crypto has no such API; these
 * helpers exist only for the KATs.
 *
 * Node 24 rejects `format: "raw-private"` for ML-KEM and ML-DSA ("The selected key encoding is
 * incompatible with the key type"), but OpenSSL 3.5 decodes the PKCS#8 `expandedKey` choice of
 * draft-ietf-lamps-kyber-certificates / draft-ietf-lamps-dilithium-certificates:
 *   PrivateKeyInfo { version 0, AlgorithmIdentifier { oid }, OCTET STRING { OCTET STRING expandedKey } }
 * and exports the `both` choice: OCTET STRING { SEQUENCE { OCTET STRING seed, OCTET STRING expandedKey } }.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";

/** 2.16.840.1.101.3.4.4.2 (id-alg-ml-kem-768) and 2.16.840.1.101.3.4.3.18 (id-ml-dsa-65). */
const OIDS = {
  "ml-kem-768": Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, 0x02),
  "ml-dsa-65": Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12),
} as const;

export type ExpandedKeyType = keyof typeof OIDS;

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  if (length < 0x10000) return Uint8Array.of(0x82, length >> 8, length & 0xff);
  throw new RangeError("DER length too large for these keys");
}

function tlv(tag: number, body: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(tag), derLength(body.length), body]);
}

/** PKCS#8 DER holding only the expanded private key (the `expandedKey` choice). */
export function expandedKeyPkcs8(type: ExpandedKeyType, expanded: Uint8Array): Uint8Array {
  const algorithm = tlv(0x30, tlv(0x06, OIDS[type]));
  const version = Uint8Array.of(0x02, 0x01, 0x00);
  return tlv(0x30, Buffer.concat([version, algorithm, tlv(0x04, tlv(0x04, expanded))]));
}

/** Imports an expanded private key into node:crypto (throws when OpenSSL rejects it). */
export function importExpandedKey(type: ExpandedKeyType, expanded: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.from(expandedKeyPkcs8(type, expanded)),
    format: "der",
    type: "pkcs8",
  });
}

/**
 * The expanded key inside node's PKCS#8 export of a private key imported from its seed (the `both`
 * choice). Checks the exact DER layout rather than searching, so a format change fails loudly.
 */
export function exportExpandedKey(key: KeyObject, seedLength: number, expandedLength: number): Uint8Array {
  const der = new Uint8Array(key.export({ format: "der", type: "pkcs8" }));
  const seedHeader = Uint8Array.of(0x04, seedLength);
  const expandedHeader = Buffer.concat([Uint8Array.of(0x04), derLength(expandedLength)]);
  const expandedStart = der.length - expandedLength;
  const seedStart = expandedStart - expandedHeader.length - seedLength;
  const okHeaders =
    Buffer.from(der.subarray(expandedStart - expandedHeader.length, expandedStart)).equals(expandedHeader) &&
    Buffer.from(der.subarray(seedStart - 2, seedStart)).equals(seedHeader);
  if (!okHeaders) throw new Error("unexpected PKCS#8 layout: not the seed+expandedKey (both) choice");
  return der.slice(expandedStart);
}
