/**
 * Safety numbers: a 60-digit number (and a QR payload) that two people compare out of band to confirm
 * they hold each other's identity records. Covers the whole encoded identity record and the username,
 * shown identically on both sides. Spec and rationale: docs/safety-numbers.md.
 *
 * per party: h_0 = BLAKE2b-512("nano/v1/sn" || u16 version || u16 len || username || u32 len || IR)
 *            h_i = BLAKE2b-512(h_{i-1} || h_0)           for i = 1..5200
 *            30 digits = six times (u40be(h[5j .. 5j+5]) mod 100000), zero-padded to 5 digits
 * number   = the two 30-digit halves in ascending order
 */

import { u16, u32, utf8 } from "../crypto/bytes.ts";
import { KDF_LABELS } from "../crypto/labels.ts";
import type { CryptoProvider } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { compareBytes, constantTimeEqual } from "./_constant-time.ts";

export const SAFETY_NUMBER = Object.freeze({
  version: 1,
  label: KDF_LABELS.safetyNumber,
  /**
   * Signal's published count: a 30-digit half is ~99.7 bits, and 5200 sequential hash calls per guess
   * add ~12.3 bits of work, so a second preimage for one half costs more than 2^112 hash calls.
   * Measured here at a few milliseconds per number, paid only when a contact is verified.
   */
  iterations: 5200,
  digitsPerParty: 30,
  digits: 60,
  groupLength: 5,
  maxUsernameBytes: 255,
  /** An IR lists every suite's keys and signatures (~15 KiB for all three); it fits an envelope. */
  maxIdentityRecordBytes: 65536,
  /** QR payload: magic "nsn", version, two 32-byte fingerprints in ascending byte order. */
  qrMagic: Object.freeze([0x6e, 0x73, 0x6e]) as readonly number[],
  qrFingerprintLength: 32,
  qrLength: 3 + 1 + 32 + 32,
});

export interface SafetyNumberParty {
  /** The username as the verified identity record names it (NFC). */
  readonly username: string;
  /** The exact encoded identity record bytes, as logged in key transparency. */
  readonly identityRecord: Uint8Array;
}

export interface SafetyNumber {
  readonly version: number;
  /** 60 ASCII digits without separators; format with `formatSafetyNumber`. */
  readonly digits: string;
  /** Bytes for a QR code; identical on both sides. */
  readonly qrPayload: Uint8Array;
}

function inputInvalid(message: string): NanoError {
  return new NanoError("safety_number_input_invalid", message);
}

function partyInput(party: SafetyNumberParty): { username: Uint8Array; identityRecord: Uint8Array } {
  const { username, identityRecord } = party;
  if (typeof username !== "string" || !username.isWellFormed()) {
    throw inputInvalid("username must be a well-formed string");
  }
  // Both sides must hash the same bytes: a username typed or stored in another normal form would give
  // two different numbers for one honest pair, and users learn to ignore mismatches.
  if (username.normalize("NFC") !== username) throw inputInvalid("username must be NFC-normalised");
  const usernameBytes = utf8(username);
  if (usernameBytes.length === 0 || usernameBytes.length > SAFETY_NUMBER.maxUsernameBytes) {
    throw inputInvalid(`username must be 1..${SAFETY_NUMBER.maxUsernameBytes} UTF-8 bytes`);
  }
  if (!(identityRecord instanceof Uint8Array)) throw inputInvalid("identity record must be bytes");
  if (identityRecord.length === 0 || identityRecord.length > SAFETY_NUMBER.maxIdentityRecordBytes) {
    throw inputInvalid(`identity record must be 1..${SAFETY_NUMBER.maxIdentityRecordBytes} bytes`);
  }
  return { username: usernameBytes, identityRecord };
}

/** The iterated per-party hash h_5200 (64 bytes). Exported for the QR payload and for tests. */
export function safetyNumberFingerprint(provider: CryptoProvider, party: SafetyNumberParty): Uint8Array {
  const { blake2b } = provider.primitives;
  const { username, identityRecord } = partyInput(party);
  const first = blake2b(
    utf8(SAFETY_NUMBER.label),
    u16(SAFETY_NUMBER.version),
    u16(username.length),
    username,
    u32(identityRecord.length),
    identityRecord,
  );
  let hash = first;
  for (let i = 0; i < SAFETY_NUMBER.iterations; i++) hash = blake2b(hash, first);
  return hash;
}

/** Thirty digits from the first 30 bytes: six 40-bit big-endian integers, each mod 100000. */
function digitsOf(fingerprint: Uint8Array): string {
  let digits = "";
  for (let group = 0; group < SAFETY_NUMBER.digitsPerParty / SAFETY_NUMBER.groupLength; group++) {
    let value = 0;
    // 40-bit values stay exact in a double (below 2^53).
    for (let i = 0; i < 5; i++) value = value * 256 + fingerprint[group * 5 + i]!;
    digits += String(value % 100000).padStart(SAFETY_NUMBER.groupLength, "0");
  }
  return digits;
}

/**
 * Computes the safety number for two parties. Argument order does not matter: each side passes
 * (itself, the contact) and both get the same digits and QR payload.
 */
export function computeSafetyNumber(
  provider: CryptoProvider,
  a: SafetyNumberParty,
  b: SafetyNumberParty,
): SafetyNumber {
  const fingerprintA = safetyNumberFingerprint(provider, a);
  const fingerprintB = safetyNumberFingerprint(provider, b);
  const halves = [digitsOf(fingerprintA), digitsOf(fingerprintB)].sort();
  const qrHalves = [
    fingerprintA.subarray(0, SAFETY_NUMBER.qrFingerprintLength),
    fingerprintB.subarray(0, SAFETY_NUMBER.qrFingerprintLength),
  ].sort(compareBytes);
  return {
    version: SAFETY_NUMBER.version,
    digits: halves.join(""),
    qrPayload: encodeSafetyNumberQr(qrHalves[0]!, qrHalves[1]!),
  };
}

/** "12345 67890 ..." in `groupsPerLine` groups of five per line (default 4: three lines of 20 digits). */
export function formatSafetyNumber(digits: string, groupsPerLine = 4): string {
  const clean = parseSafetyNumber(digits);
  if (!Number.isInteger(groupsPerLine) || groupsPerLine < 1)
    throw new RangeError("groupsPerLine must be >= 1");
  const groups = clean.match(/\d{5}/g)!;
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += groupsPerLine)
    lines.push(groups.slice(i, i + groupsPerLine).join(" "));
  return lines.join("\n");
}

/**
 * Normalises a typed or pasted number: whitespace is ignored, anything else must be the 60 ASCII digits
 * (`safety_number_malformed` otherwise, so the UI can say "incomplete" rather than "does not match").
 */
export function parseSafetyNumber(text: string): string {
  if (typeof text !== "string") throw new NanoError("safety_number_malformed", "safety number must be text");
  const digits = text.replace(/\s+/g, "");
  if (!/^[0-9]*$/.test(digits)) {
    throw new NanoError("safety_number_malformed", "a safety number contains only the digits 0-9");
  }
  if (digits.length !== SAFETY_NUMBER.digits) {
    throw new NanoError("safety_number_malformed", `a safety number has 60 digits, got ${digits.length}`);
  }
  return digits;
}

/** Compares a typed-in number with the computed one in constant time (after format checks). */
export function safetyNumberMatches(expected: SafetyNumber, typed: string): boolean {
  return constantTimeEqual(utf8(expected.digits), utf8(parseSafetyNumber(typed)));
}

function encodeSafetyNumberQr(low: Uint8Array, high: Uint8Array): Uint8Array {
  const out = new Uint8Array(SAFETY_NUMBER.qrLength);
  out.set(SAFETY_NUMBER.qrMagic, 0);
  out[3] = SAFETY_NUMBER.version;
  out.set(low, 4);
  out.set(high, 4 + SAFETY_NUMBER.qrFingerprintLength);
  return out;
}

/** Parses a scanned QR payload: length, then magic, then version. */
export function decodeSafetyNumberQr(bytes: Uint8Array): {
  version: number;
  fingerprints: [Uint8Array, Uint8Array];
} {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SAFETY_NUMBER.qrLength) {
    throw new NanoError(
      "safety_number_malformed",
      `a safety-number QR payload is ${SAFETY_NUMBER.qrLength} bytes`,
    );
  }
  if (!SAFETY_NUMBER.qrMagic.every((byte, index) => bytes[index] === byte)) {
    throw new NanoError("safety_number_malformed", "not a nano safety-number QR payload");
  }
  if (bytes[3] !== SAFETY_NUMBER.version) {
    throw new NanoError("safety_number_version_unsupported", `safety-number version ${bytes[3]} is unknown`);
  }
  const length = SAFETY_NUMBER.qrFingerprintLength;
  const low = bytes.slice(4, 4 + length);
  const high = bytes.slice(4 + length, 4 + 2 * length);
  // Canonical order is part of the format: the same pair has exactly one payload.
  if (compareBytes(low, high) > 0) {
    throw new NanoError("safety_number_malformed", "safety-number QR fingerprints are out of order");
  }
  return { version: bytes[3], fingerprints: [low, high] };
}

/** Compares a scanned QR payload with the computed one in constant time (after format checks). */
export function safetyNumberQrMatches(expected: SafetyNumber, scanned: Uint8Array): boolean {
  decodeSafetyNumberQr(scanned);
  return constantTimeEqual(expected.qrPayload, scanned);
}
