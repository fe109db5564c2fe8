// BLAKE2b-512 known answers (blake2/blake2b-kat.json = the blake2b entries of BLAKE2's
// blake2-kat.json; blake2/blake2b-kat.txt = the keyed ones as text).
// - Unkeyed entries run through our `blake2b` (node:crypto "blake2b512").
// - Keyed BLAKE2b (RFC 7693's key parameter) is not exposed by node:crypto: the hash list has only
//   blake2b512/blake2s256, createHash has no key option, and HMAC-BLAKE2b (what our HKDF uses) is a
//   different function. The protocol never uses keyed BLAKE2b (MACs are HMAC inside HKDF, and the AEAD
//   is ChaCha20-Poly1305), so the keyed entries run against @noble/hashes' blake2b — the cross-check
//   implementation and the future browser provider. The evidence is asserted below, so a Node that
//   gains keyed BLAKE2b makes this test say so.
import assert from "node:assert/strict";
import { createHash, createHmac, getHashes, type HashOptions } from "node:crypto";
import { test } from "node:test";
import { blake2b as nobleBlake2b } from "@noble/hashes/blake2.js";
import { BLAKE2B_LENGTH, blake2b } from "../../src/crypto/index.ts";
import {
  hexBytes,
  loadVectors,
  needVectors,
  nonEmpty,
  readVectorText,
  VectorTally,
} from "../support/vectors.ts";

const JSON_FILE = "blake2/blake2b-kat.json";
const TEXT_FILE = "blake2/blake2b-kat.txt";

/** One entry of blake2b-kat.json; `key` is empty for the unkeyed entries. */
interface Blake2Entry {
  readonly hash: string;
  readonly in: string;
  readonly key: string;
  readonly out: string;
}

function entries(): readonly Blake2Entry[] {
  const all = nonEmpty(loadVectors<Blake2Entry[]>(JSON_FILE), JSON_FILE);
  for (const e of all) assert.equal(e.hash, "blake2b", `${JSON_FILE}: unexpected hash ${e.hash}`);
  return all;
}

/** Parses the `in:` / `key:` / `hash:` blocks of the text KAT. */
function textEntries(): readonly Blake2Entry[] {
  const blocks = readVectorText(TEXT_FILE).split(/\r?\n\s*\r?\n/);
  const parsed: Blake2Entry[] = [];
  for (const block of blocks) {
    if (block.trim() === "") continue;
    const fields = new Map<string, string>();
    for (const line of block.split(/\r?\n/)) {
      if (line.trim() === "") continue;
      const match = /^(in|key|hash):\s*([0-9a-fA-F]*)\s*$/.exec(line);
      if (match?.[1] === undefined) throw new Error(`${TEXT_FILE}: unexpected line ${JSON.stringify(line)}`);
      fields.set(match[1], match[2] ?? "");
    }
    const [input, key, out] = [fields.get("in"), fields.get("key"), fields.get("hash")];
    if (input === undefined || key === undefined || out === undefined)
      throw new Error(`${TEXT_FILE}: bad block`);
    parsed.push({ hash: "blake2b", in: input, key, out });
  }
  return nonEmpty(parsed, TEXT_FILE);
}

test("BLAKE2b KAT: unkeyed entries through our blake2b", (t) => {
  if (!needVectors(t, JSON_FILE)) return;
  const tally = new VectorTally(`${JSON_FILE} unkeyed`);
  for (const [index, e] of entries().entries()) {
    if (e.key !== "") continue;
    const out = blake2b(hexBytes(e.in));
    assert.equal(out.length, BLAKE2B_LENGTH);
    assert.deepEqual(out, hexBytes(e.out), `${JSON_FILE} #${index}`);
    tally.count("unkeyed");
  }
  tally.report(t);
});

test("BLAKE2b KAT: our blake2b hashes the concatenation of its parts", (t) => {
  if (!needVectors(t, JSON_FILE)) return;
  const longest = entries()
    .filter((e) => e.key === "")
    .reduce((a, b) => (b.in.length > a.in.length ? b : a));
  const input = hexBytes(longest.in);
  const third = Math.floor(input.length / 3);
  assert.ok(third > 0);
  const parts = [input.subarray(0, third), input.subarray(third, 2 * third), input.subarray(2 * third)];
  assert.deepEqual(blake2b(...parts), hexBytes(longest.out));
});

test("BLAKE2b KAT: keyed entries (JSON and text) through @noble/hashes", (t) => {
  if (!needVectors(t, JSON_FILE, TEXT_FILE)) return;
  const tally = new VectorTally(`${JSON_FILE} + ${TEXT_FILE} keyed (noble)`);
  const keyed = entries().filter((e) => e.key !== "");
  const fromText = textEntries();
  assert.deepEqual(
    fromText.map((e) => [e.in, e.key, e.out.toLowerCase()]),
    keyed.map((e) => [e.in, e.key, e.out.toLowerCase()]),
    "the text KAT and the JSON KAT list the same keyed entries",
  );
  for (const [index, e] of keyed.entries()) {
    assert.deepEqual(
      nobleBlake2b(hexBytes(e.in), { key: hexBytes(e.key) }),
      hexBytes(e.out),
      `keyed #${index}`,
    );
    tally.count("keyed-json");
  }
  for (const [index, e] of fromText.entries()) {
    assert.deepEqual(
      nobleBlake2b(hexBytes(e.in), { key: hexBytes(e.key) }),
      hexBytes(e.out),
      `text #${index}`,
    );
    tally.count("keyed-text");
  }
  tally.report(t);
});

test("node:crypto has no keyed BLAKE2b (the claim docs/crypto.md makes)", (t) => {
  if (!needVectors(t, JSON_FILE)) return;
  const e = entries().find((candidate) => candidate.key !== "" && candidate.in !== "");
  assert.ok(e);
  const input = hexBytes(e.in);
  const key = hexBytes(e.key);
  const expected = Buffer.from(hexBytes(e.out));
  assert.deepEqual(
    getHashes().filter((name) => name.startsWith("blake2b")),
    ["blake2b512"],
    "only unkeyed BLAKE2b-512 is listed",
  );
  // createHash has no key option: an unknown option is either refused or ignored, never keyed.
  let viaCreateHash: Buffer | null = null;
  try {
    viaCreateHash = createHash("blake2b512", { key } as HashOptions)
      .update(input)
      .digest();
  } catch {
    viaCreateHash = null;
  }
  assert.ok(viaCreateHash === null || !viaCreateHash.equals(expected), "createHash produced keyed BLAKE2b");
  assert.ok(
    !createHmac("blake2b512", key).update(input).digest().equals(expected),
    "HMAC is not keyed BLAKE2b",
  );
});
