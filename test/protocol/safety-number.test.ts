// Safety numbers (docs/safety-numbers.md): symmetric, sensitive to every input byte, golden values, an
// independent implementation of the spec over @noble/hashes, formatting, comparison and QR parsing.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { blake2b } from "@noble/hashes/blake2.js";
import fc from "fast-check";
import { toHex } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import type { ErrorCode } from "../../src/errors/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import {
  computeSafetyNumber,
  decodeSafetyNumberQr,
  formatSafetyNumber,
  parseSafetyNumber,
  SAFETY_NUMBER,
  type SafetyNumberParty,
  safetyNumberFingerprint,
  safetyNumberMatches,
  safetyNumberQrMatches,
} from "../../src/protocol/safety-number.ts";

const record = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, i) => (i * 13 + seed) & 0xff);
const alice: SafetyNumberParty = { username: "alice", identityRecord: record(100, 1) };
const bob: SafetyNumberParty = { username: "bob", identityRecord: record(200, 2) };
const GOLDEN_DIGITS = "424969310511526682553891262111725186525840299350430010856488";
const GOLDEN_QR =
  "6e736e01" +
  "15aa865100ba246dce71f588dc126654072bddffe18935b100935c17e41f2779" +
  "55be39b2c6e5024c4b6acba315416b55d0be08439d6853fcac91f2d8dcc883b5";

function assertCode(run: () => unknown, code: ErrorCode): void {
  assert.throws(run, (error: unknown) => NanoError.is(error, code));
}

/** docs/safety-numbers.md implemented a second time over @noble/hashes. */
function nobleFingerprint(party: SafetyNumberParty): Uint8Array {
  const name = new TextEncoder().encode(party.username);
  const ir = party.identityRecord;
  const header = new Uint8Array(2 + 2);
  new DataView(header.buffer).setUint16(0, 1);
  new DataView(header.buffer).setUint16(2, name.length);
  const irLength = new Uint8Array(4);
  new DataView(irLength.buffer).setUint32(0, ir.length);
  const first = blake2b(
    new Uint8Array([...new TextEncoder().encode("nano/v1/sn"), ...header, ...name, ...irLength, ...ir]),
  );
  let hash = first;
  for (let i = 0; i < 5200; i++) hash = blake2b(new Uint8Array([...hash, ...first]));
  return hash;
}

function nobleDigits(fingerprint: Uint8Array): string {
  let out = "";
  for (let group = 0; group < 6; group++) {
    const value = fingerprint
      .subarray(group * 5, group * 5 + 5)
      .reduce((acc, byte) => acc * 256n + BigInt(byte), 0n);
    out += (value % 100000n).toString().padStart(5, "0");
  }
  return out;
}

describe("computing", () => {
  test("golden value: fixed inputs give a fixed number and QR payload", () => {
    const number = computeSafetyNumber(provider, alice, bob);
    assert.equal(number.version, 1);
    assert.equal(number.digits, GOLDEN_DIGITS);
    assert.equal(toHex(number.qrPayload), GOLDEN_QR);
  });

  test("an independent implementation of the spec agrees", () => {
    const ours = safetyNumberFingerprint(provider, alice);
    assert.deepEqual(ours, nobleFingerprint(alice));
    const halves = [nobleDigits(nobleFingerprint(alice)), nobleDigits(nobleFingerprint(bob))].sort();
    assert.equal(halves.join(""), GOLDEN_DIGITS);
  });

  test("symmetric: both sides see the same digits and QR payload", () => {
    const one = computeSafetyNumber(provider, alice, bob);
    const two = computeSafetyNumber(provider, bob, alice);
    assert.equal(one.digits, two.digits);
    assert.deepEqual(one.qrPayload, two.qrPayload);
    assert.match(one.digits, /^\d{60}$/);
  });

  test("changes when either record changes by one byte, or either username changes", () => {
    const reference = computeSafetyNumber(provider, alice, bob).digits;
    const flipped = (party: SafetyNumberParty, index: number): SafetyNumberParty => {
      const identityRecord = party.identityRecord.slice();
      identityRecord[index]! ^= 0x01;
      return { ...party, identityRecord };
    };
    for (const index of [0, 50, 99])
      assert.notEqual(computeSafetyNumber(provider, flipped(alice, index), bob).digits, reference);
    assert.notEqual(computeSafetyNumber(provider, alice, flipped(bob, 199)).digits, reference);
    assert.notEqual(computeSafetyNumber(provider, { ...alice, username: "alicf" }, bob).digits, reference);
    assert.notEqual(computeSafetyNumber(provider, alice, { ...bob, username: "Bob" }).digits, reference);
    // Length prefixes: moving a byte from the username into the record is a different input.
    const moved = { username: "alic", identityRecord: new Uint8Array([0x65, ...alice.identityRecord]) };
    assert.notEqual(computeSafetyNumber(provider, moved, bob).digits, reference);
  });

  test("only the changed party's half moves", () => {
    const before = computeSafetyNumber(provider, alice, bob).digits;
    const after = computeSafetyNumber(provider, alice, { ...bob, identityRecord: record(200, 3) }).digits;
    const halves = (digits: string) => [digits.slice(0, 30), digits.slice(30)];
    const shared = halves(before).filter((half) => halves(after).includes(half));
    assert.equal(shared.length, 1);
  });

  test("random parties: symmetric and well-formed", () => {
    const party = fc.record({
      username: fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.normalize("NFC")),
      identityRecord: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    });
    fc.assert(
      fc.property(party, party, (a, b) => {
        fc.pre(a.username.isWellFormed() && b.username.isWellFormed() && a.username.length > 0);
        const one = computeSafetyNumber(provider, a, b);
        const two = computeSafetyNumber(provider, b, a);
        assert.equal(one.digits, two.digits);
        assert.deepEqual(one.qrPayload, two.qrPayload);
        assert.match(one.digits, /^\d{60}$/);
        assert.doesNotThrow(() => decodeSafetyNumberQr(one.qrPayload));
      }),
      { numRuns: 25 },
    );
  });

  test("malformed input is a typed error", () => {
    const bad: SafetyNumberParty[] = [
      { username: "", identityRecord: record(10, 0) },
      { username: "x".repeat(256), identityRecord: record(10, 0) },
      { username: "e\u0301", identityRecord: record(10, 0) }, // not NFC
      { username: "lone\ud800", identityRecord: record(10, 0) },
      { username: 5 as unknown as string, identityRecord: record(10, 0) },
      { username: "carol", identityRecord: new Uint8Array(0) },
      { username: "carol", identityRecord: new Uint8Array(SAFETY_NUMBER.maxIdentityRecordBytes + 1) },
      { username: "carol", identityRecord: "bytes" as unknown as Uint8Array },
    ];
    for (const party of bad) {
      assertCode(() => computeSafetyNumber(provider, party, bob), "safety_number_input_invalid");
      assertCode(() => computeSafetyNumber(provider, bob, party), "safety_number_input_invalid");
    }
    assert.doesNotThrow(() =>
      computeSafetyNumber(provider, { username: "é", identityRecord: record(1, 0) }, bob),
    );
  });
});

describe("formatting and typed comparison", () => {
  const number = computeSafetyNumber(provider, alice, bob);

  test("twelve groups of five, four per line by default", () => {
    const text = formatSafetyNumber(number.digits);
    const lines = text.split("\n");
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^\d{5} \d{5} \d{5} \d{5}$/);
    assert.equal(formatSafetyNumber(number.digits, 12).split(" ").length, 12);
    assert.equal(formatSafetyNumber(number.digits, 12).includes("\n"), false);
    assert.throws(() => formatSafetyNumber(number.digits, 0), RangeError);
  });

  test("a typed number matches with any whitespace, and a wrong one does not", () => {
    assert.ok(safetyNumberMatches(number, formatSafetyNumber(number.digits)));
    assert.ok(safetyNumberMatches(number, ` ${number.digits.replace(/(\d{5})/g, "$1\t")}\n`));
    const wrong = `${number.digits.slice(0, 59)}${(Number(number.digits[59]) + 1) % 10}`;
    assert.equal(safetyNumberMatches(number, wrong), false);
    const swapped = number.digits.slice(30) + number.digits.slice(0, 30);
    assert.equal(safetyNumberMatches(number, swapped), false);
  });

  test("malformed typed numbers are a typed error, not a mismatch", () => {
    for (const text of [
      "",
      "123",
      number.digits.slice(1),
      `${number.digits}0`,
      `${number.digits.slice(1)}a`,
      "١".repeat(60),
    ]) {
      assertCode(() => safetyNumberMatches(number, text), "safety_number_malformed");
    }
    assert.equal(parseSafetyNumber(formatSafetyNumber(number.digits)), number.digits);
    assertCode(() => parseSafetyNumber(42 as unknown as string), "safety_number_malformed");
  });
});

describe("QR payload", () => {
  const number = computeSafetyNumber(provider, alice, bob);

  test("decodes to the version and two ordered fingerprints", () => {
    const { version, fingerprints } = decodeSafetyNumberQr(number.qrPayload);
    assert.equal(version, 1);
    assert.equal(number.qrPayload.length, SAFETY_NUMBER.qrLength);
    const expected = [safetyNumberFingerprint(provider, alice), safetyNumberFingerprint(provider, bob)].map(
      (f) => f.subarray(0, 32),
    );
    assert.deepEqual(fingerprints.map((f) => toHex(f)).sort(), expected.map((f) => toHex(f)).sort());
  });

  test("a scan of the same pair matches; another pair does not", () => {
    assert.ok(safetyNumberQrMatches(number, computeSafetyNumber(provider, bob, alice).qrPayload));
    const mallory = { username: "bob", identityRecord: record(200, 9) };
    assert.equal(
      safetyNumberQrMatches(number, computeSafetyNumber(provider, alice, mallory).qrPayload),
      false,
    );
  });

  test("hostile payloads are typed errors", () => {
    const payload = number.qrPayload;
    assertCode(() => decodeSafetyNumberQr(new Uint8Array(0)), "safety_number_malformed");
    assertCode(() => decodeSafetyNumberQr(payload.subarray(0, 67)), "safety_number_malformed");
    assertCode(() => decodeSafetyNumberQr(new Uint8Array([...payload, 0])), "safety_number_malformed");
    const magic = payload.slice();
    magic[0] = 0;
    assertCode(() => decodeSafetyNumberQr(magic), "safety_number_malformed");
    const version = payload.slice();
    version[3] = 2;
    assertCode(() => safetyNumberQrMatches(number, version), "safety_number_version_unsupported");
    const reordered = new Uint8Array([
      ...payload.subarray(0, 4),
      ...payload.subarray(36),
      ...payload.subarray(4, 36),
    ]);
    assertCode(() => decodeSafetyNumberQr(reordered), "safety_number_malformed");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          decodeSafetyNumberQr(bytes);
        } catch (error) {
          if (!NanoError.is(error)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
