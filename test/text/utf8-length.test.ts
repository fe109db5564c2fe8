// utf8Length is what the key-transparency limits are checked with in the page (no Buffer there): it
// must count exactly what Buffer and TextEncoder write, hostile strings (lone surrogates) included, or
// a note within the limit in Node would be refused in the page, or the other way round.
import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8Length, utf8LengthExceeds } from "../../src/text/utf8-length.ts";

const CASES = [
  "",
  "ascii only",
  "é",
  "€",
  "日本語",
  "😀",
  "a😀b",
  "\u{10FFFF}",
  "\u007F\u0080\u07FF\u0800\uFFFF",
  "\uD800", // lone high surrogate
  "\uDC00", // lone low surrogate
  "\uDC00\uD800", // reversed pair: two lone surrogates
  "x\uD83D", // high surrogate at the end
  "\uD83D\uD83D\uDE00", // lone high then a pair
];

test("utf8Length equals Buffer.byteLength and TextEncoder's length, lone surrogates included", () => {
  for (const text of CASES) {
    assert.equal(utf8Length(text), Buffer.byteLength(text, "utf8"), JSON.stringify(text));
    assert.equal(utf8Length(text), new TextEncoder().encode(text).length, JSON.stringify(text));
  }
});

test("utf8Length agrees with Buffer on random UTF-16 (every code unit class)", () => {
  let seed = 0x9e3779b9;
  const next = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  const units = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff];
  for (let round = 0; round < 500; round++) {
    const text = String.fromCharCode(
      ...Array.from({ length: next() % 12 }, () => units[next() % units.length]!),
    );
    assert.equal(utf8Length(text), Buffer.byteLength(text, "utf8"), JSON.stringify(text));
  }
});

test("utf8LengthExceeds(text, limit) is utf8Length(text) > limit at every limit from 0 to 3x the length", () => {
  for (const text of [
    ...CASES,
    "x".repeat(100),
    "日本語".repeat(30),
    "😀".repeat(20),
    "a€😀\uD800".repeat(9),
  ]) {
    const bytes = utf8Length(text);
    for (let limit = 0; limit <= text.length * 3 + 1; limit++) {
      assert.equal(utf8LengthExceeds(text, limit), bytes > limit, `${JSON.stringify(text)} at ${limit}`);
    }
  }
});
